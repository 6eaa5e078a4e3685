"""``promo report promotions|points``: finance's reports over the ledger, printed as a table, CSV or JSON.

Each report reads one snapshot of the live ledger (tills keep committing) and shows a
progress bar on stderr when it is long; the arithmetic is in :mod:`server.finance`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from server.cli.base import Failure, UsageError, arg, command, parse_day
from server.cli.ledger import _open
from server.cli.serve import DEFAULT_DB

__all__ = ["run_report"]

_PROMOTION_COLUMNS = (
    "group", "campaign", "source", "kind", "tax_rate", "discount", "reversed", "net", "sales",
    "points_added", "points_clawed_back", "points_net",
)  # fmt: skip


@command(
    "report",
    "finance reports: `report promotions` (what each promotion cost), `report points` (the liability)",
    arg(
        "name",
        choices=["promotions", "points"],
        help="promotions: discount per rule / coupon / points and tax rate; points: the points liability",
    ),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--from", dest="date_from", metavar="DATE", help="first local day, YYYY-MM-DD"),
    arg("--to", dest="date_to", metavar="DATE", help="last local day (inclusive), YYYY-MM-DD"),
    arg("--by", choices=["day", "store", "campaign"], help="group the rows (default: the whole period)"),
    arg("--format", choices=["table", "csv", "json"], default="table", help="output format (default: table)"),
    arg("--timezone", default="Asia/Shanghai", help="the zone days are counted in (default: Asia/Shanghai)"),
    arg("--as-of", dest="as_of", metavar="DATE", help="points: the last local day of the report"),
    arg("--ruleset", metavar="FILE", help="points: the programme's ruleset, for its redemption rate"),
)
def run_report(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone {args.timezone!r}: not a known time zone") from None
    if args.name == "points":
        return _points(args, zone)
    return _promotions(args, zone)


def _promotions(args: argparse.Namespace, zone: Any) -> int:
    from server.finance.promotions import iter_dicts, promotion_report

    if not args.date_from or not args.date_to:
        raise UsageError("report promotions needs --from DATE and --to DATE")
    first, last = parse_day(args.date_from, "--from"), parse_day(args.date_to, "--to")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    ledger = _open(args.db)
    try:
        rows = list(iter_dicts(promotion_report(ledger, first, last, zone, args.by)))
    finally:
        ledger.engine.dispose()
    _print(rows, _PROMOTION_COLUMNS, args.format)
    return 0


def _points(args: argparse.Namespace, zone: Any) -> int:
    from server.cli.base import compile_path
    from server.finance.points import points_report

    if not args.as_of:
        raise UsageError("report points needs --as-of DATE")
    as_of = parse_day(args.as_of, "--as-of")
    period_from = parse_day(args.date_from, "--from") if args.date_from else None
    if period_from is not None and period_from > as_of:
        raise UsageError(f"--from {period_from} is after --as-of {as_of}")
    per_yuan = None
    if args.ruleset:
        per_yuan = compile_path(args.ruleset).ruleset.settings.redeem_points_per_yuan
        if not per_yuan:
            raise UsageError(f"--ruleset {args.ruleset}: the programme does not redeem points (no rate)")
    ledger = _open(args.db)
    try:
        report = points_report(ledger, as_of, zone, per_yuan, period_from)
    finally:
        ledger.engine.dispose()
    rows = [{"figure": k, "value": v} for k, v in report.as_rows()]
    _print(rows, ("figure", "value"), args.format)
    if report.problems:  # the books do not tie out: say so, loudly, and fail
        for problem in report.problems:
            print(f"promo report points: DOES NOT TIE OUT: {problem}", file=sys.stderr)
        raise Failure("promo report points: the points ledger does not tie out (see above)")
    return 0


def _print(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    else:
        from engine.invoice.render import text_width

        table = [dict(zip(columns, columns, strict=True)), *({k: str(r[k]) for k in columns} for r in rows)]
        widths = {k: max(text_width(r[k]) for r in table) for k in columns}
        for r in table:
            print("  ".join(r[k] + " " * (widths[k] - text_width(r[k])) for k in columns).rstrip())
