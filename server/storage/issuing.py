"""Issued coupons (`issue COUPON on ..., valid N days`): ``promo maintain`` gives every member a
declaration concerns an owner-bound code, with one set-based statement per declaration.

Each declaration is one ``INSERT INTO coupons ... SELECT ... FROM members ... ON CONFLICT DO
NOTHING``: the unique index on (owner_id, issued_by, issued_for) is what makes issuing idempotent
per member, declaration and period, so a second run for the day (or two runs at once) issues
nothing new, without reading first. The period is the day for the win-back, the year for a
birthday, "once" for a tier. Codes are the coupon id and 12 random hex digits (48 bits; a code is
useless to anyone but its owner, so it need not be secret).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, String, and_, extract, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.rules import IssuedCoupon, Tier
from server.storage.models import Coupon, Member

__all__ = ["issue_coupons", "issued_period"]


def issued_period(issued: IssuedCoupon, as_of: date) -> str:
    """The period a member gets a declaration's coupon once in."""
    return {"idle": as_of.isoformat(), "birthday": str(as_of.year), "tier": "once"}[issued.trigger]


def _concerned(
    issued: IssuedCoupon, as_of: date, zone: ZoneInfo, tiers: tuple[Tier, ...]
) -> ColumnElement[bool]:
    """The members ``issued`` gives a coupon to on ``as_of``."""
    if issued.trigger == "idle":
        last_day = as_of - timedelta(days=issued.days or 0)  # bought that day, not since: day N today
        start = datetime.combine(last_day, time(0), zone)
        return and_(Member.last_purchase_at >= start, Member.last_purchase_at < start + timedelta(days=1))
    if issued.trigger == "birthday":
        same_day = and_(
            extract("month", Member.birthday) == as_of.month, extract("day", Member.birthday) == as_of.day
        )
        leap_born = as_of.month == 2 and as_of.day == 28 and (as_of + timedelta(days=1)).month == 3
        if leap_born:  # 29 Feb birthdays are kept on 28 Feb in other years
            return or_(
                same_day, and_(extract("month", Member.birthday) == 2, extract("day", Member.birthday) == 29)
            )
        return same_day
    ids = [t.id for t in tiers]
    reached = ids[ids.index(issued.tier) :] if issued.tier in ids else []
    return Member.tier.in_(reached)


def _random_hex(dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.upper(func.substr(func.md5(func.random().cast(String) + Member.id), 1, 12))
    return func.hex(func.randomblob(6))


def issue_coupons(
    session: Session,
    issued: IssuedCoupon,
    as_of: date,
    zone: ZoneInfo,
    tiers: tuple[Tier, ...],
    programme: str,
    mine: ColumnElement[bool],
    now: datetime,
) -> int:
    """Issue ``issued``'s coupon for ``as_of`` to every active member it concerns; how many were new."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = select(
        (literal(f"{issued.coupon}-", String) + _random_hex(dialect)).label("code"),
        literal(issued.coupon, String).label("definition_id"),
        literal(programme, String).label("ruleset"),
        Member.id.label("owner_id"),
        literal("issued", String).label("state"),
        literal(as_of, Date).label("valid_from"),
        literal(as_of + timedelta(days=issued.valid_days - 1), Date).label("valid_to"),
        literal(issued.key, String).label("issued_by"),
        literal(issued_period(issued, as_of), String).label("issued_for"),
        literal(now, Coupon.created_at.type).label("created_at"),
    ).where(mine, Member.status == "active", _concerned(issued, as_of, zone, tiers))
    columns = ["code", "definition_id", "ruleset", "owner_id", "state", "valid_from", "valid_to"]
    statement = insert(Coupon).from_select([*columns, "issued_by", "issued_for", "created_at"], rows)
    # RETURNING: the codes really inserted (a conflict returns none), counted the same on both drivers.
    return len(session.connection().execute(statement.on_conflict_do_nothing().returning(Coupon.code)).all())
