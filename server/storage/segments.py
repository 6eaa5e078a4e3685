"""Recomputing RFM segments for ``promo maintain`` (the arithmetic is engine.ledger.segments'), and
what ``promo segments`` shows: the count per segment and how the last run moved them.

Two GROUP BYs over the window's sales and returns, then the programme's members in batches of
:data:`BATCH` by id, each batch read and its changes written in one short transaction (a long run
holds no lock a till waits for). A member whose segment was set through UpdateMember
(``segment_pinned``) keeps it: the override wins until UpdateMember clears it. Each run records
its movement (members from one segment to another, stays included) in ``segment_moves``. Running
again for the same day changes no member (it records a run that moved nobody).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.ledger.segments import WINDOW_DAYS, segment_of
from engine.rules import Segment
from server.storage.models import Member, Return, Sale, SegmentMove
from server.storage.tx import in_transaction

__all__ = ["BATCH", "Progress", "latest_moves", "recompute_segments", "segment_counts"]

BATCH = 5000

Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as a long step advances: the CLI draws a progress bar."""


def _window_figures(s: Session, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Per member: sales in the window not wholly returned, and what they paid net of refunds."""
    in_window = (
        Sale.sold_at >= start,
        Sale.sold_at < end,
        Sale.member_id.is_not(None),
        Sale.state != "returned",
    )
    sold = {
        member_id: (int(count), int(paid or 0))
        for member_id, count, paid in s.execute(
            select(Sale.member_id, func.count(), func.sum(Sale.payable_fen))
            .where(*in_window)
            .group_by(Sale.member_id)
        )
    }
    for member_id, refunded in s.execute(
        select(Sale.member_id, func.sum(Return.refund_fen))
        .join(Return, Return.transaction_id == Sale.transaction_id)
        .where(*in_window)
        .group_by(Sale.member_id)
    ):
        count, paid = sold.get(member_id, (0, 0))
        sold[member_id] = (count, paid - int(refunded or 0))
    return sold


def recompute_segments(
    sessions: sessionmaker[Session],
    as_of: date,
    zone: ZoneInfo,
    segments: tuple[Segment, ...],
    mine: ColumnElement[bool],
    programme: str,
    clock: Callable[[], datetime],
    progress: Progress | None = None,
) -> int:
    """Set every unpinned active member's segment for ``as_of`` and record the run; how many changed."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), zone)
    figures = in_transaction(sessions, lambda s: _window_figures(s, end - timedelta(days=WINDOW_DAYS), end))
    scope = (mine, Member.status == "active")
    total = in_transaction(
        sessions, lambda s: int(s.scalar(select(func.count()).select_from(Member).where(*scope)) or 0)
    )
    statement = (
        update(Member)
        .where(
            Member.id == bindparam("m_id"),
            Member.segment == bindparam("m_was"),
            Member.segment_pinned.is_(False),
        )
        .values(segment=bindparam("m_new"), version=Member.version + 1)
        .execution_options(synchronize_session=False)
    )
    moves: Counter[tuple[str, str]] = Counter()
    changed = done = 0
    after = ""

    def batch(s: Session) -> tuple[list[str], int]:
        rows = s.execute(
            select(Member.id, Member.segment, Member.segment_pinned, Member.last_purchase_at)
            .where(*scope, Member.id > after)
            .order_by(Member.id)
            .limit(BATCH)
        ).all()
        changes = []
        for member_id, current, pinned, last in rows:
            wanted = current
            if not pinned:
                recency = (as_of - last.astimezone(zone).date()).days if last is not None else None
                wanted = segment_of(segments, recency, *figures.get(member_id, (0, 0)))
            moves[(current, wanted)] += 1
            if wanted != current:
                changes.append({"m_id": member_id, "m_was": current, "m_new": wanted})
        if changes:
            s.connection().execute(statement, changes)
        return [r[0] for r in rows], len(changes)

    while True:
        ids, n = in_transaction(sessions, batch)
        changed += n
        done += len(ids)
        if progress is not None:
            progress("segments", done, total)
        if len(ids) < BATCH:
            break
        after = ids[-1]
    in_transaction(sessions, lambda s: _record(s, programme, as_of, moves, clock()))
    return changed


def _record(s: Session, programme: str, as_of: date, moves: Counter[tuple[str, str]], now: datetime) -> None:
    run = (
        int(
            s.scalar(
                select(func.coalesce(func.max(SegmentMove.run), 0)).where(SegmentMove.programme == programme)
            )
            or 0
        )
        + 1
    )
    rows = [
        {
            "programme": programme,
            "run": run,
            "as_of": as_of,
            "from_segment": f,
            "to_segment": t,
            "members": n,
            "created_at": now,
        }
        for (f, t), n in sorted(moves.items())
    ]
    if not rows:  # no members: still a run, so the next one's movement is "since this one"
        rows = [
            {
                "programme": programme,
                "run": run,
                "as_of": as_of,
                "from_segment": "",
                "to_segment": "",
                "members": 0,
                "created_at": now,
            }
        ]
    s.execute(insert(SegmentMove), rows)


def segment_counts(session: Session, mine: ColumnElement[bool]) -> Counter[str]:
    """Active members per segment ("" : in none)."""
    rows = session.execute(
        select(Member.segment, func.count()).where(mine, Member.status == "active").group_by(Member.segment)
    )
    return Counter({segment: int(n) for segment, n in rows})


def latest_moves(session: Session, programme: str | None) -> tuple[date | None, Counter[tuple[str, str]]]:
    """The last ``maintain`` run's day and its (from, to) -> members, for ``programme`` (None: the
    programme maintained last); (None, empty) before any run."""
    if programme is None:
        programme = session.scalar(select(SegmentMove.programme).order_by(SegmentMove.id.desc()).limit(1))
        if programme is None:
            return None, Counter()
    run = session.scalar(select(func.max(SegmentMove.run)).where(SegmentMove.programme == programme))
    if run is None:
        return None, Counter()
    rows = session.execute(
        select(
            SegmentMove.as_of, SegmentMove.from_segment, SegmentMove.to_segment, SegmentMove.members
        ).where(SegmentMove.programme == programme, SegmentMove.run == run)
    ).all()
    return rows[0][0], Counter({(f, t): int(n) for _, f, t, n in rows if n})
