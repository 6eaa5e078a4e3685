"""``promo segments``: how many active members each RFM segment holds (set by ``promo maintain``) and
how the last maintain run moved them: per segment the change (+/-), and each from -> to move."""

from __future__ import annotations

import argparse
from collections import Counter

from server.cli.base import arg, command
from server.cli.serve import DEFAULT_DB

__all__ = ["run_segments"]


@command(
    "segments",
    "count the active members of each RFM segment and how the last promo maintain moved them",
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--programme", metavar="NAME", help="only this programme's members (default: every member)"),
)
def run_segments(args: argparse.Namespace) -> int:
    from sqlalchemy import true

    from server.cli.ledger import _open
    from server.storage.models import Member
    from server.storage.segments import latest_moves, segment_counts

    ledger = _open(args.db, read_only=True)
    try:
        mine = Member.programme == args.programme if args.programme else true()
        with ledger.sessions() as session:
            counts = segment_counts(session, mine)
            as_of, moves = latest_moves(session, args.programme)
    finally:
        ledger.engine.dispose()
    print("\n".join(segment_lines(counts, as_of.isoformat() if as_of else None, moves)))
    return 0


def _name(segment: str) -> str:
    return segment or "(none)"


def segment_lines(counts: Counter[str], as_of: str | None, moves: Counter[tuple[str, str]]) -> list[str]:
    """The table: count per segment, its change in the last run, then the run's moves between segments."""
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for (was, now), n in moves.items():
        before[was] += n
        after[now] += n
    names = sorted(set(counts) | set(after) | set(before), key=lambda s: (-counts[s], s))
    width = max([len(_name(s)) for s in names] + [len("(none)"), len("total")])
    head = f"since the run of {as_of}" if as_of else "no maintain run yet"
    lines = [f"{'segment':<{width}}  {'members':>8}  {head}"]
    for segment in names:
        change = f"{after[segment] - before[segment]:+d}" if as_of else ""
        lines.append(f"{_name(segment):<{width}}  {counts[segment]:>8}  {change}".rstrip())
    lines.append(f"{'total':<{width}}  {sum(counts.values()):>8}")
    moved = sorted(((w, n), k) for (w, n), k in moves.items() if w != n)
    if as_of:
        lines.append(f"moved in the run of {as_of}: {sum(k for _, k in moved)}")
        lines.extend(f"  {_name(w)} -> {_name(n)}: {k}" for (w, n), k in moved)
    return lines
