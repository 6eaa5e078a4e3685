"""``promo segments``: how many active members each RFM segment holds (set by ``promo maintain``)."""

from __future__ import annotations

import argparse

from server.cli.base import arg, command
from server.cli.serve import DEFAULT_DB

__all__ = ["run_segments"]


@command(
    "segments",
    "count the active members of each RFM segment (recomputed by promo maintain)",
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--programme", metavar="NAME", help="only this programme's members (default: every member)"),
)
def run_segments(args: argparse.Namespace) -> int:
    from sqlalchemy import true

    from server.cli.ledger import _open
    from server.storage.models import Member
    from server.storage.segments import segment_counts

    ledger = _open(args.db, read_only=True)
    try:
        mine = Member.programme == args.programme if args.programme else true()
        with ledger.sessions() as session:
            counts = segment_counts(session, mine)
    finally:
        ledger.engine.dispose()
    width = max((len(s) for s in counts), default=0)
    width = max(width, len("(none)"))
    for segment, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"{segment or '(none)':<{width}}  {n}")
    print(f"{'total':<{width}}  {sum(counts.values())}")
    return 0
