"""``promo backtest``: replay a period's stored sales under a candidate ruleset.

Each sale is priced under the version that priced it (its source is in the ledger) or
``--against VERSION``, and under the candidate file, in ``--workers`` processes with a
progress bar on stderr. The report is a terminal summary, ``--json``, and ``--html FILE``
(one self-contained page with charts). Exit 1 when the candidate does not check, or when no
sale of the period could be priced under it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from server.cli.base import Failure, UsageError, arg, command, compile_path, parse_day, read_ruleset
from server.cli.serve import DEFAULT_DB

__all__ = ["run_backtest"]


@command(
    "backtest",
    "replay the stored sales of a period under a candidate ruleset and report what changes",
    arg(
        "--programme",
        "--ruleset",
        dest="ruleset",
        required=True,
        metavar="PATH",
        help="the candidate: a programme folder (programme.rules + campaign files) or a *.rules file",
    ),
    arg("--from", dest="date_from", required=True, metavar="DATE", help="first local day (YYYY-MM-DD)"),
    arg("--to", dest="date_to", required=True, metavar="DATE", help="last local day, inclusive"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--against", metavar="VERSION", help="compare with this stored version, not the one of each sale"),
    arg(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (0: none; default: cores)"
    ),
    arg(
        "--reprice-before",
        action="store_true",
        help="price each sale again under the version that priced it instead of reading its stored reply",
    ),
    arg("--json", action="store_true", help="print the report as JSON instead of text"),
    arg("--html", metavar="FILE", help="also write the report as a self-contained HTML page"),
)
def run_backtest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from server.backtest.page import render_page
    from server.backtest.replay import Versions, replay, replay_period
    from server.backtest.sales import count_sales, period_sales, source_of_version, sources_of
    from server.cli.ledger import _open

    first, last = parse_day(args.date_from, "--from"), parse_day(args.date_to, "--to")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    if args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    candidate = compile_path(args.ruleset)  # Failure with every error when it does not check
    text = read_ruleset(args.ruleset)
    ledger = _open(args.db)
    try:
        against = None
        if args.against:
            found = source_of_version(ledger, args.against)
            if found is None:
                raise Failure(
                    f"promo backtest: --against {args.against}: no stored ruleset version has that id"
                )
            against = (f"{found[1]}.rules", found[2])
        baseline = {} if against else sources_of(ledger, first, last)
        total = count_sales(ledger, first, last)
        versions = Versions((args.ruleset, text), baseline, against, args.reprice_before)
        days = [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)]
        with tqdm(total=total, file=sys.stderr, unit="sale", desc="backtest", disable=total < 500) as bar:
            if args.workers:  # each worker reads its own days: no sale crosses a process boundary
                summary, _ = replay_period(versions, args.db, days, args.workers, bar.update)
            else:
                summary, _ = replay(versions, period_sales(ledger, first, last), 0, bar.update)
    finally:
        ledger.engine.dispose()
    meta = {
        "candidate": f"{candidate.name}@{candidate.version}",
        "baseline": f"{args.against}" if args.against else "the versions that priced each sale",
        "from": first.isoformat(),
        "to": last.isoformat(),
    }
    rate = candidate.ruleset.settings.redeem_points_per_yuan
    campaigns = candidate.ruleset.campaigns
    report = summary.to_json(rate, meta, campaigns)
    if args.html:
        Path(args.html).write_text(render_page(report), encoding="utf-8")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(summary.text(rate, meta, campaigns))
    if summary.sales and not summary.sales - sum(summary.failed.values()):
        return 1  # nothing could be compared
    return 0
