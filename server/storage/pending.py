"""Pending points (`points pending N days`): what of a sale's earnings is still held, and releasing
what is due (``promo maintain``).

A held sale's earn entry carries ``pending_until``; the member row caches the held total in
``points_pending`` (kept between 0 and the balance by ``balances.settle``). A return while the
sale's points are still held takes its clawback from them first and records how much on its
clawback entry (``action = "pending:N"``), so the release later frees only what is left of the
sale's hold. Releasing sets ``pending_until`` to NULL: a second run finds nothing to release.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.storage.balances import settle
from server.storage.models import Member, PointsEntry

__all__ = ["held_of_sale", "release_member"]


def _still_held(session: Session, transaction_id: str) -> int:
    """Points of the sale's earn entry still held: its points less what returns took from the hold."""
    earned = session.scalar(
        select(PointsEntry.points).where(
            PointsEntry.transaction_id == transaction_id,
            PointsEntry.kind == "earn",
            PointsEntry.pending_until.is_not(None),
        )
    )
    if earned is None:
        return 0
    taken = session.scalars(
        select(PointsEntry.action).where(
            PointsEntry.transaction_id == transaction_id,
            PointsEntry.kind == "return_clawback",
            PointsEntry.action.like("pending:%"),
        )
    ).all()
    return max(int(earned) - sum(int(a.split(":", 1)[1]) for a in taken), 0)


def held_of_sale(session: Session, transaction_id: str, clawback: int) -> int:
    """How much of a return's ``clawback`` comes out of the sale's held points (all of it, while held)."""
    if clawback <= 0:
        return 0
    return min(clawback, _still_held(session, transaction_id))


def release_member(session: Session, member_id: str, due: datetime, now: datetime) -> int:
    """Release the member's holds due by ``due``; the points released (0 when already done)."""
    session.scalar(select(Member.id).where(Member.id == member_id).with_for_update())
    sales = session.scalars(
        select(PointsEntry.transaction_id).where(
            PointsEntry.member_id == member_id,
            PointsEntry.kind == "earn",
            PointsEntry.pending_until.is_not(None),
            PointsEntry.pending_until <= due,
        )
    ).all()
    released = sum(_still_held(session, tid) for tid in sales if tid is not None)
    if not sales:
        return 0
    session.execute(
        update(PointsEntry)
        .where(PointsEntry.transaction_id.in_(sales), PointsEntry.kind == "earn")
        .values(pending_until=None)
    )
    session.execute(
        update(Member).where(Member.id == member_id).values(**settle(0, -released), updated_at=now)
    )
    return released
