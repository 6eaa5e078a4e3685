"""Pending points (`points pending N days`): what of a sale's earnings is still held, and releasing
what is due (``promo maintain``).

A held sale's earn entry carries ``pending_until``; the member row caches the held total in
``points_pending`` (kept between 0 and the balance by ``balances.settle``). A return while the
sale's points are still held takes its clawback from them first and records how much on its
clawback entry (``action = "pending:N"``), so the release later frees only what is left of the
sale's hold. Releasing sets ``pending_until`` to NULL: a second run finds nothing to release.
``maintain`` releases in batches of members, a few statements per batch (:func:`release_due`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from server.storage.models import Member, PointsEntry

__all__ = ["held_of_sale", "release_due"]


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


def release_due(session: Session, member_ids: list[str], due: datetime, now: datetime) -> tuple[int, int]:
    """Release the holds of ``member_ids`` due by ``due``, in one transaction for the batch; (points
    released, members whose held points went down). Nothing is due on a second run.

    Each member's held points become ``min(points_pending, what the holds not yet due still hold)``:
    a hold whose points first paid off points owed (so ``points_pending`` never counted all of
    them) cannot free a later sale's held points early, as subtracting the due holds from
    ``points_pending`` would.
    """
    pending = dict(
        session.execute(
            select(Member.id, Member.points_pending)
            .where(Member.id.in_(member_ids))
            .order_by(Member.id)
            .with_for_update()
        ).all()
    )  # locked: no sale or return of theirs moves held points until we are done
    taken: dict[str, int] = {}
    for tid, action in session.execute(
        select(PointsEntry.transaction_id, PointsEntry.action).where(
            PointsEntry.member_id.in_(member_ids),
            PointsEntry.kind == "return_clawback",
            PointsEntry.action.like("pending:%"),
        )
    ):
        taken[tid] = taken.get(tid, 0) + int(action.split(":", 1)[1])
    still: dict[str, int] = dict.fromkeys(pending, 0)
    for member_id, tid, points, until in session.execute(
        select(
            PointsEntry.member_id, PointsEntry.transaction_id, PointsEntry.points, PointsEntry.pending_until
        ).where(
            PointsEntry.member_id.in_(member_ids),
            PointsEntry.kind == "earn",
            PointsEntry.pending_until.is_not(None),
        )
    ):
        if until > due:
            still[member_id] += max(int(points) - taken.get(tid, 0), 0)
    session.execute(
        update(PointsEntry)
        .where(
            PointsEntry.member_id.in_(member_ids),
            PointsEntry.kind == "earn",
            PointsEntry.pending_until.is_not(None),
            PointsEntry.pending_until <= due,
        )
        .values(pending_until=None)
        .execution_options(synchronize_session=False)
    )
    changes = [
        {"m_id": m, "m_pending": min(held, still[m])}
        for m, held in pending.items()
        if min(held, still[m]) != held
    ]
    if changes:
        session.connection().execute(
            update(Member)
            .where(Member.id == bindparam("m_id"))
            .values(points_pending=bindparam("m_pending"), version=Member.version + 1, updated_at=now),
            changes,
        )
    return sum(pending[c["m_id"]] - c["m_pending"] for c in changes), len(changes)
