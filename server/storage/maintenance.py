"""``promo maintain``'s work: expire points, release held points, recompute RFM segments, expire
coupons, lower or end inactive memberships, issue the programme's coupons (server/storage/issuing.py).

Each member is handled in its own short transaction, so a long run never holds a
lock a till is waiting for, and a run that stops half-way can simply be run again:
every step is idempotent for the day. Expiry entries are keyed by (member, day);
a downgrade stamps ``tier_reviewed_on`` with the day, which restarts the member's
inactivity clock; a termination leaves the member no longer active.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger.expiry import Lot, points_to_expire
from engine.ledger.tiers import inactivity_verdict, lower_tier
from engine.rules import Settings, Tier
from server.storage.balances import settle
from server.storage.issuing import issue_coupons
from server.storage.models import Coupon, Member, PointsEntry
from server.storage.pending import release_due
from server.storage.results import BalanceMismatch, MaintenanceReport
from server.storage.segments import Progress, recompute_segments
from server.storage.tx import in_transaction

__all__ = ["RELEASE_BATCH", "maintain", "verify_balances"]

RELEASE_BATCH = 1000
"""Members whose held points are released per transaction (one lock, a few statements each)."""


def maintain(
    sessions: sessionmaker[Session],
    as_of: date,
    settings: Settings,
    tiers: tuple[Tier, ...],
    clock: Callable[[], datetime],
    programme: str | None = None,
    progress: Progress | None = None,
) -> MaintenanceReport:
    zone = ZoneInfo(settings.timezone)
    # One programme's members (and coupons) only; None: every member (a one-programme ledger).
    mine = Member.programme == programme if programme is not None else true()
    coupons_mine = Coupon.ruleset == programme if programme is not None else true()
    end_of_day = datetime.combine(as_of + timedelta(days=1), time(0), zone) - timedelta(microseconds=1)

    candidates = in_transaction(
        sessions,
        lambda s: s.scalars(
            select(PointsEntry.member_id)
            .join(Member, Member.id == PointsEntry.member_id)
            .where(
                PointsEntry.kind == "earn",
                PointsEntry.expires_at <= end_of_day,
                Member.points_balance > 0,
                mine,
            )
            .distinct()
        ).all(),
    )
    expired_points = members_expired = 0
    for member_id in sorted(candidates):
        n = in_transaction(sessions, lambda s, m=member_id: _expire_member(s, m, as_of, end_of_day, clock()))
        expired_points += n
        members_expired += n > 0

    held = in_transaction(
        sessions,
        lambda s: s.scalars(
            select(PointsEntry.member_id)
            .join(Member, Member.id == PointsEntry.member_id)
            .where(PointsEntry.kind == "earn", PointsEntry.pending_until <= end_of_day, mine)
            .distinct()
        ).all(),
    )
    points_released = members_released = 0
    due = sorted(held)
    for i in range(0, len(due), RELEASE_BATCH):
        batch = due[i : i + RELEASE_BATCH]
        points, members = in_transaction(sessions, lambda s, b=batch: release_due(s, b, end_of_day, clock()))
        points_released += points
        members_released += members
        if progress is not None:
            progress("release", min(i + RELEASE_BATCH, len(due)), len(due))

    segments_changed = 0
    if settings.segments:
        segments_changed = recompute_segments(
            sessions, as_of, zone, settings.segments, mine, programme or "", clock, progress
        )

    coupons_expired = in_transaction(
        sessions,
        lambda s: (
            s.execute(
                update(Coupon)
                .where(Coupon.state == "issued", Coupon.valid_to < as_of, coupons_mine)
                .values(state="expired")
            ).rowcount
        ),
    )

    downgraded: list[tuple[str, str, str]] = []
    terminated: list[str] = []
    if settings.inactivity_days is not None:
        cutoff = as_of - timedelta(days=settings.inactivity_days)
        since = datetime.combine(cutoff + timedelta(days=1), time(0), zone)
        rows = in_transaction(
            sessions,
            lambda s: s.execute(
                select(
                    Member.id,
                    Member.tier,
                    Member.version,
                    Member.last_purchase_at,
                    Member.join_date,
                    Member.tier_reviewed_on,
                    Member.created_at,
                ).where(
                    Member.status == "active",
                    mine,
                    Member.last_purchase_at.is_(None) | (Member.last_purchase_at < since),
                    Member.tier_reviewed_on.is_(None) | (Member.tier_reviewed_on <= cutoff),
                )
            ).all(),
        )
        for member_id, tier, version, last_purchase, joined, reviewed, created in rows:
            bought = last_purchase.astimezone(zone).date() if last_purchase else None
            active_days = [d for d in (joined, reviewed, bought) if d is not None]
            if not active_days:  # no join date and never bought: the clock starts at enrolment
                active_days.append(created.astimezone(zone).date())
            verdict = inactivity_verdict(settings, max(active_days), as_of)
            if verdict == "terminate":
                changes: dict[str, object] = {"status": "terminated"}
            elif verdict == "downgrade" and (lower := lower_tier(tiers, tier)) is not None:
                changes = {"tier": lower, "tier_reviewed_on": as_of}
            else:
                continue
            # Only if nothing touched the member since we looked (a purchase makes them active).
            done = in_transaction(
                sessions,
                lambda s, m=member_id, v=version, c=changes: (
                    s.execute(
                        update(Member)
                        .where(Member.id == m, Member.version == v)
                        .values(**c, version=Member.version + 1, updated_at=clock())
                    ).rowcount
                ),
            )
            if done and verdict == "terminate":
                terminated.append(member_id)
            elif done:
                downgraded.append((member_id, tier, str(changes["tier"])))
    issued: list[tuple[str, int]] = []
    if programme is not None:  # an issued code names its programme: a one-programme ledger names it too
        for declaration in settings.issued:
            n = in_transaction(
                sessions,
                lambda s, d=declaration: issue_coupons(s, d, as_of, zone, tiers, programme, mine, clock()),
            )
            issued.append((declaration.key, n))
    return MaintenanceReport(
        as_of=as_of,
        expired_points=expired_points,
        members_expired=members_expired,
        downgraded=tuple(downgraded),
        terminated=tuple(terminated),
        coupons_expired=int(coupons_expired or 0),
        points_released=points_released,
        members_released=members_released,
        segments_changed=segments_changed,
        coupons_issued=tuple(issued),
    )


def _expire_member(session: Session, member_id: str, as_of: date, due: datetime, now: datetime) -> int:
    """Post one expiry entry for what is left of the member's lots due by ``due``; the points expired."""
    key = f"expire:{member_id}:{as_of.isoformat()}"
    if session.scalar(select(PointsEntry.id).where(PointsEntry.idempotency_key == key)) is not None:
        return 0
    balance = session.scalar(
        select(Member.points_balance).where(Member.id == member_id).with_for_update()
    )  # lock the member: no sale may spend the lots while we count them
    rows = session.execute(
        select(PointsEntry.kind, PointsEntry.points, PointsEntry.expires_at).where(
            PointsEntry.member_id == member_id
        )
    ).all()
    lots = [Lot(p, exp if kind == "earn" else None) for kind, p, exp in rows if p > 0]
    debits = -sum(p for _, p, _ in rows if p < 0)
    expiring = min(points_to_expire(lots, debits, due), balance or 0)
    if expiring <= 0:
        return 0
    session.execute(
        insert(PointsEntry).values(
            member_id=member_id,
            kind="expire",
            points=-expiring,
            action=as_of.isoformat(),
            reason=f"points earned up to {as_of.isoformat()} expired",
            created_at=now,
            idempotency_key=key,
        )
    )
    session.execute(update(Member).where(Member.id == member_id).values(**settle(-expiring), updated_at=now))
    return expiring


def verify_balances(session: Session) -> list[BalanceMismatch]:
    totals = (
        select(PointsEntry.member_id, func.sum(PointsEntry.points).label("total"))
        .group_by(PointsEntry.member_id)
        .subquery()
    )
    cached = Member.points_balance - Member.points_owed
    entries = func.coalesce(totals.c.total, 0)
    rows = session.execute(
        select(Member.id, cached, entries)
        .outerjoin(totals, totals.c.member_id == Member.id)
        .where(cached != entries)
        .order_by(Member.id)
    ).all()
    return [BalanceMismatch(m, int(c), int(e)) for m, c, e in rows]
