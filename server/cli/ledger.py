"""``promo maintain`` and ``promo audit export|verify``: the ledger's housekeeping and finance's view.

``maintain`` is the nightly job (expire points, downgrade inactive members) and is
safe to run twice for a day. ``audit export`` writes every sale and return of a
date range with its invoice lines in yuan and the period's totals per tax rate
(CSV, JSON or an xlsx workbook). ``audit verify`` prices
stored sales again with the exact ruleset version that priced them (its source is
kept in the database by digest, else looked up in the rulesets folder) and reports
every field that differs from what was stored: there must be none.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from server.cli.base import Failure, UsageError, arg, command, parse_day
from server.cli.serve import DEFAULT_DB, bundled_rulesets

if TYPE_CHECKING:
    from engine.compiled import CompiledRuleset

__all__ = ["run_audit", "run_maintain"]


def _folder(value: str | None) -> Path:
    folder = Path(value) if value else bundled_rulesets()
    if not folder.is_dir():
        raise UsageError(f"--rulesets {folder}: no such directory")
    return folder


def _compile_folder(folder: Path) -> dict[str, CompiledRuleset]:
    """Every ruleset (file or programme folder) of ``folder`` that compiles, by digest (a broken
    one is skipped, not fatal)."""
    import dsl
    from dsl.programme import PROGRAMME_FILE
    from engine.compiled import compile_ruleset
    from engine.errors import RuleErrors

    out = {}
    paths = [*folder.glob("*.rules"), *(p.parent for p in folder.glob(f"*/{PROGRAMME_FILE}"))]
    for path in sorted(paths):
        try:
            compiled = compile_ruleset(dsl.load_path(path))
        except (RuleErrors, OSError, UnicodeDecodeError):
            continue
        out[compiled.digest] = compiled
    return out


def _open(url: str, *, read_only: bool = False):  # type: ignore[no-untyped-def]
    """The ledger at ``url``; a read-only command refuses a SQLite file that does not exist
    (opening it would create an empty ledger and report on nothing)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from server.storage.errors import DatabaseUnavailable
    from server.storage.store import Ledger
    from server.trust.masking import mask_url

    if read_only:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UsageError(f"--db {mask_url(url)!r}: not a database URL") from None
        path = parsed.database or ""
        if parsed.get_backend_name() == "sqlite" and path not in ("", ":memory:") and not Path(path).exists():
            raise Failure(f"promo: no such ledger: {path} does not exist (check --db); nothing was created")
    try:
        return Ledger.open(url)
    except DatabaseUnavailable as exc:
        raise Failure(f"promo: {mask_url(str(exc))}") from None


# --------------------------------------------------------------------------- maintain


@command(
    "maintain",
    "expire points, release held points, recompute segments, issue coupons and downgrade inactive "
    "members as of a day (safe to run twice)",
    arg("--as-of", required=True, metavar="DATE", help="the local day to maintain for, YYYY-MM-DD"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg(
        "--programme",
        "--ruleset",
        dest="programme",
        metavar="NAME",
        help="the programme whose members (and policy) to maintain (needed when several are found)",
    ),
    arg("--rulesets", metavar="DIR", help="folder of programme folders and *.rules files (default: bundled)"),
)
def run_maintain(args: argparse.Namespace) -> int:
    """One programme's members only: another programme's policy must never touch them."""
    as_of = parse_day(args.as_of, "--as-of")
    by_name = {c.name: c for c in _compile_folder(_folder(args.rulesets)).values()}
    if args.programme:
        compiled = by_name.get(args.programme)
        if compiled is None:
            raise UsageError(
                f"--programme {args.programme!r}: not found (found: {', '.join(sorted(by_name))})"
            )
    elif len(by_name) == 1:
        (compiled,) = by_name.values()
    else:
        raise UsageError(f"name the programme to maintain: --programme one of {', '.join(sorted(by_name))}")
    ledger = _open(args.db)
    try:
        with _progress_bar() as progress:
            report = ledger.maintain(
                as_of, compiled.ruleset.settings, compiled.ruleset.tiers, compiled.name, progress
            )
    finally:
        ledger.engine.dispose()
    print(f"maintained {args.db} as of {as_of.isoformat()} with programme {compiled.name} {compiled.version}")
    print(f"  points expired: {report.expired_points} (members: {report.members_expired})")
    print(f"  points released: {report.points_released} (members: {report.members_released})")
    print(f"  segments changed: {report.segments_changed}")
    print(f"  coupons expired: {report.coupons_expired}")
    print(f"  coupons issued: {sum(n for _, n in report.coupons_issued)}")
    for issuer, n in report.coupons_issued:
        print(f"    {issuer}: {n}")
    print(f"  downgraded: {len(report.downgraded)}")
    for member, before, after in report.downgraded:
        print(f"    {member}: {before} -> {after}")
    print(f"  terminated: {len(report.terminated)}")
    return 0


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A tqdm bar on stderr per long step of maintain (hidden for small ledgers)."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}  # type: ignore[type-arg]

    def advance(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total, file=sys.stderr, unit="member", desc=stage, disable=total < 20000
            )
        bar.update(done - bar.n)

    try:
        yield advance
    finally:
        for bar in bars.values():
            bar.close()


# --------------------------------------------------------------------------- audit


@command(
    "audit",
    "finance: `audit export` sales and returns with invoice lines, `audit verify` re-prices stored sales",
    arg("action", choices=["export", "verify"], help="export: write a date range; verify: reproduce sales"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--from", dest="date_from", metavar="DATE", help="export: first local day, YYYY-MM-DD"),
    arg("--to", dest="date_to", metavar="DATE", help="export: last local day (inclusive), YYYY-MM-DD"),
    arg(
        "--format",
        choices=["csv", "json", "xlsx"],
        default="json",
        help="export: the output format (default: json; xlsx needs --output)",
    ),
    arg("--output", metavar="FILE", help="export: write here instead of stdout"),
    arg(
        "--timezone",
        default="Asia/Shanghai",
        help="export: the zone returns are dated in (default: Asia/Shanghai)",
    ),
    arg("--transaction", metavar="ID", help="verify: this sale only"),
    arg("--all", action="store_true", help="verify: every stored sale"),
    arg("--rulesets", metavar="DIR", help="verify: where to look for a ruleset the database does not keep"),
)
def run_audit(args: argparse.Namespace) -> int:
    if args.action == "export":
        return _export(args)
    return _verify(args)


def _export(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from server.finance.export import export

    if not args.date_from or not args.date_to:
        raise UsageError("audit export needs --from DATE and --to DATE")
    if args.format == "xlsx" and not args.output:
        raise UsageError("audit export --format xlsx needs --output FILE.xlsx (a workbook is not text)")
    first, last = parse_day(args.date_from, "--from"), parse_day(args.date_to, "--to")
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--timezone {args.timezone!r}: not a known time zone") from None
    ledger = _open(args.db, read_only=True)
    try:
        if args.format == "xlsx":
            from server.finance.workbook import TooManyRows

            try:
                with open(args.output, "wb") as binary:
                    n = export(ledger, first, last, zone, args.format, binary)
            except TooManyRows as exc:
                Path(args.output).unlink(missing_ok=True)  # half a workbook is no workbook
                raise Failure(f"promo audit export: {exc}") from None
        elif args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                n = export(ledger, first, last, zone, args.format, out)
        else:
            n = export(ledger, first, last, zone, args.format, sys.stdout)
    finally:
        ledger.engine.dispose()
    print(f"exported {n} records ({first} to {last})", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from server.finance.audit import verify

    if bool(args.transaction) == bool(args.all):
        raise UsageError("audit verify needs exactly one of --transaction ID or --all")
    folder = _folder(args.rulesets)
    ledger = _open(args.db, read_only=True)
    try:
        report = verify(ledger, args.transaction, lambda: _compile_folder(folder))
        drifted = ledger.verify_balances() if args.all else []
    finally:
        ledger.engine.dispose()
    for line in report.problems:
        print(line)
    for m in drifted:
        print(f"member {m.member_id}: balance {m.cached} but its entries sum to {m.entries}")
    print(
        f"verified {report.checked} sales: {len(report.problems)} differences; "
        f"{len(drifted)} member balances differ from the sum of their entries",
        file=sys.stderr,
    )
    if args.transaction and report.checked == 0:
        raise Failure(f"promo audit verify: no committed sale {args.transaction!r}")
    return 1 if report.problems or drifted else 0
