"""Enrolling members and reading them back: the member row and its recent entries as one view.

Enrolment is idempotent by member id: :func:`enrollment` is the one canonical form
of what an enrolment says, so a repeated enrolment is compared with what is stored
field by field and the same data always compares equal. The view's balance is the
spendable one (``points_balance - points_owed``), never the raw cached columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.storage.errors import MemberNotFound
from server.storage.models import Coupon, Member, PointsEntry
from server.storage.referrals import referral_points
from server.storage.results import EntryView, MemberView, OwnedCoupon

__all__ = [
    "MEMBER_COLUMNS",
    "create_member",
    "enrolled_as",
    "enrollment",
    "member_exists",
    "member_view",
    "view_of",
]

MAX_COUPONS = 100
"""GetMember lists at most this many of a member's coupons, newest first."""

MEMBER_COLUMNS = ("id", "tier", "birthday", "tags", "segment", "join_date", "lifetime_spend_fen")
MEMBER_COLUMNS += ("last_purchase_at", "points_balance", "points_owed", "status", "order_count", "programme")
MEMBER_COLUMNS += ("referrer_id", "points_pending")
"""The member columns a :class:`MemberView` is made from, in the order :func:`view_of` takes them."""


def enrollment(
    tier: str,
    birthday: date | None,
    tags: Iterable[str],
    segment: str,
    join_date: date | None,
    programme: str | None = None,
    referrer_id: str | None = None,
) -> dict[str, Any]:
    """What an enrolment says, in the form it is stored and compared in (tags sorted, without repeats)."""
    return {
        "programme": programme,
        "referrer_id": referrer_id,
        "tier": tier,
        "birthday": birthday,
        "tags": sorted(set(tags)),
        "segment": segment,
        "join_date": join_date,
    }


def enrolled_as(member: MemberView) -> dict[str, Any]:
    """The :func:`enrollment` a stored member was created with, to compare a repeated enrolment to."""
    return enrollment(
        member.tier,
        member.birthday,
        member.tags,
        member.segment,
        member.join_date,
        member.programme,
        member.referrer_id,
    )


def create_member(session: Session, member_id: str, wanted: dict[str, Any], now: datetime) -> None:
    """INSERT the member; an IntegrityError when the id is taken (the store decides replay or conflict)."""
    session.execute(insert(Member).values(id=member_id, created_at=now, updated_at=now, **wanted))


def member_exists(session: Session, member_id: str) -> bool:
    return session.get(Member, member_id) is not None


def member_view(session: Session, member_id: str, recent: int) -> MemberView:
    """The member with their spendable balance and ``recent`` latest entries; MemberNotFound if absent."""
    m = session.get(Member, member_id)
    if m is None:
        raise MemberNotFound(member_id)
    entries: tuple[EntryView, ...] = ()
    if recent > 0:
        rows = session.scalars(
            select(PointsEntry)
            .where(PointsEntry.member_id == member_id)
            .order_by(PointsEntry.id.desc())
            .limit(recent)
        )
        entries = tuple(
            EntryView(
                e.id,
                e.kind,
                e.points,
                e.transaction_id,
                e.return_id,
                e.action,
                e.reason,
                e.created_at,
                e.expires_at,
            )
            for e in rows
        )
    view = replace(
        view_of([getattr(m, name) for name in MEMBER_COLUMNS], entries), segment_pinned=m.segment_pinned
    )
    if recent <= 0:  # EnrollMember's reply: the member as stored, nothing gathered
        return view
    coupons = tuple(
        OwnedCoupon(*row)
        for row in session.execute(
            select(
                Coupon.code,
                Coupon.definition_id,
                Coupon.state,
                Coupon.valid_from,
                Coupon.valid_to,
                Coupon.issued_by,
            )
            .where(Coupon.owner_id == member_id)
            .order_by(Coupon.created_at.desc(), Coupon.code)
            .limit(MAX_COUPONS)
        )
    )
    return replace(
        view,
        referral_points=referral_points(session, member_id),
        coupons=coupons,
        segment_pinned=m.segment_pinned,
    )


def view_of(columns: Sequence[Any], recent: tuple[EntryView, ...] = ()) -> MemberView:
    """The view of a member row given as :data:`MEMBER_COLUMNS`: the balance is the spendable one."""
    (
        member_id,
        tier,
        birthday,
        tags,
        segment,
        join_date,
        lifetime,
        last_purchase,
        balance,
        owed,
        status,
        orders,
        programme,
        referrer,
        pending,
    ) = columns
    return MemberView(
        id=member_id,
        tier=tier,
        birthday=birthday,
        tags=frozenset(tags),
        segment=segment,
        join_date=join_date,
        lifetime_spend_fen=lifetime,
        last_purchase_at=last_purchase,
        points_balance=balance - owed,
        points_owed=owed,
        status=status,
        programme=programme,
        recent=recent,
        order_count=orders,
        referrer_id=referrer,
        points_pending=pending,
    )
