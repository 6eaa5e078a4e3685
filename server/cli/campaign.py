"""``promo campaign status``: a campaign of a programme and its budgets, used and left per period.

Reads the programme from the rulesets folder (the same one the servers serve) and the
usage counters from the ledger, so it answers without a running server.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from server.cli.base import UsageError, arg, command, parse_day
from server.cli.serve import DEFAULT_DB

__all__ = ["run_campaign"]


@command(
    "campaign",
    "`campaign status`: a campaign's budgets, used and left per period",
    arg("action", choices=["status"], help="status: show the campaign and its budgets"),
    arg("--programme", required=True, metavar="NAME", help="the programme (ruleset name)"),
    arg("--campaign", required=True, metavar="ID", help="the campaign's id"),
    arg("--date", metavar="DATE", help="the local day whose period to show (default: today)"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--rulesets", metavar="DIR", help="folder of programme folders and *.rules files (default: bundled)"),
)
def run_campaign(args: argparse.Namespace) -> int:
    from engine.money import format_fen
    from server.cli.ledger import _compile_folder, _folder, _open
    from server.sales.campaigns import UnknownCampaign, campaign_status, find_campaign

    by_name = {c.name: c for c in _compile_folder(_folder(args.rulesets)).values()}
    compiled = by_name.get(args.programme)
    if compiled is None:
        raise UsageError(f"--programme {args.programme!r}: not found (found: {', '.join(sorted(by_name))})")
    try:
        campaign = find_campaign(compiled, args.campaign)
    except UnknownCampaign as exc:
        raise UsageError(f"--campaign: {exc}") from None
    day = parse_day(args.date, "--date") if args.date else datetime.now(compiled.zone).date()
    ledger = _open(args.db)
    try:
        budgets = campaign_status(ledger, compiled, campaign, day)
    finally:
        ledger.engine.dispose()
    window = f"{campaign.date_from} to {campaign.date_to}" if campaign.date_from else "always"
    print(f"{compiled.name} / {campaign.id} ({campaign.file}): {campaign.label or '-'}")
    print(f"  owner {campaign.owner or '-'}, status {campaign.status}, valid {window}")
    if not budgets:
        print("  no budget")
    for b in budgets:
        show = format_fen if b.kind == "fen" else str
        used, left = show(b.used), show(b.left)
        print(f"  {b.kind:<4} {b.period_key:<10}  used {used:>10}  left {left:>10}  of {show(b.cap)}")
    return 0
