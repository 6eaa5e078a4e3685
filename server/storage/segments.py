"""Recomputing RFM segments for ``promo maintain`` (the arithmetic is engine.ledger.segments').

One read of the programme's members and one GROUP BY over the window's sales and returns, then
the members whose segment changed are updated in batches of :data:`BATCH` per transaction (a long
run holds no lock a till waits for). Running again for the same day changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger.segments import WINDOW_DAYS, segment_of
from engine.rules import Segment
from server.storage.models import Member, Return, Sale
from server.storage.tx import in_transaction

__all__ = ["BATCH", "recompute_segments", "segment_counts"]

BATCH = 1000


def recompute_segments(
    sessions: sessionmaker[Session],
    as_of: date,
    zone: ZoneInfo,
    segments: tuple[Segment, ...],
    mine: ColumnElement[bool],
    clock: Callable[[], datetime],
) -> int:
    """Set every member's segment for ``as_of``; how many changed."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), zone)
    start = end - timedelta(days=WINDOW_DAYS)

    def read(s: Session) -> list[tuple[str, str, str]]:
        in_window = (Sale.sold_at >= start, Sale.sold_at < end, Sale.member_id.is_not(None))
        sold: dict[str, tuple[int, int]] = {}
        for member_id, count, paid in s.execute(
            select(Sale.member_id, func.count(), func.sum(Sale.payable_fen))
            .where(*in_window, Sale.state != "returned")
            .group_by(Sale.member_id)
        ):
            sold[member_id] = (int(count), int(paid or 0))
        refunded = dict(
            s.execute(
                select(Sale.member_id, func.sum(Return.refund_fen))
                .join(Return, Return.transaction_id == Sale.transaction_id)
                .where(*in_window, Sale.state != "returned")
                .group_by(Sale.member_id)
            ).all()
        )
        changes = []
        for member_id, current, last in s.execute(
            select(Member.id, Member.segment, Member.last_purchase_at).where(mine, Member.status == "active")
        ):
            recency = (as_of - last.astimezone(zone).date()).days if last is not None else None
            count, paid = sold.get(member_id, (0, 0))
            wanted = segment_of(segments, recency, count, paid - int(refunded.get(member_id) or 0))
            if wanted != current:
                changes.append((member_id, current, wanted))
        return changes

    changes = in_transaction(sessions, read)
    statement = (
        update(Member)
        .where(Member.id == bindparam("m_id"), Member.segment == bindparam("m_was"))
        .values(segment=bindparam("m_new"), version=Member.version + 1)
        .execution_options(synchronize_session=False)
    )
    for i in range(0, len(changes), BATCH):
        rows = [{"m_id": m, "m_was": was, "m_new": new} for m, was, new in changes[i : i + BATCH]]
        in_transaction(sessions, lambda s, r=rows: s.connection().execute(statement, r))
    return len(changes)


def segment_counts(session: Session, mine: ColumnElement[bool]) -> Counter[str]:
    """Active members per segment ("" : in none)."""
    rows = session.execute(
        select(Member.segment, func.count()).where(mine, Member.status == "active").group_by(Member.segment)
    )
    return Counter({segment: int(n) for segment, n in rows})
