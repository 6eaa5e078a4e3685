"""``promo db upgrade`` and ``promo db place``: the ledger database's schema and its members' programmes.

``promo serve`` upgrades an empty database by itself; ``upgrade`` is for the deliberate
step before a release starts on a production database (and it is safe to run again: a
database already at the newest revision is left as it is). After upgrading it lists the
members the ledger could not place in a programme (migration 0013) and what to run:
``promo db place --programme NAME --member ID ...`` (or ``--all-unplaced``).
"""

from __future__ import annotations

import argparse

from server.cli.base import Failure, UsageError, arg, command
from server.cli.serve import DEFAULT_DB

__all__ = ["run_db"]

_SHOW = 20  # unplaced members listed by name; the rest are counted


@command(
    "db",
    "the ledger database: `upgrade` applies the migrations, `place` puts members in a programme",
    arg(
        "action", choices=["upgrade", "place"], help="upgrade: apply every migration; place: see --programme"
    ),
    arg(
        "--member", dest="members", action="append", default=[], metavar="ID", help="place: a member to place"
    ),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--programme", metavar="NAME", help="place: the programme (ruleset name) they belong to"),
    arg("--all-unplaced", action="store_true", help="place: every member not yet in a programme"),
)
def run_db(args: argparse.Namespace) -> int:
    from server.storage.db import current_revision, make_engine, upgrade
    from server.storage.errors import DatabaseUnavailable

    if args.action == "place":
        return _place(args)
    if args.members or args.programme or args.all_unplaced:
        raise UsageError("promo db upgrade takes no members, --programme or --all-unplaced")
    try:
        engine = make_engine(args.db)
        before = current_revision(engine)
        after = upgrade(engine)
        engine.dispose()
    except DatabaseUnavailable as exc:
        raise Failure(f"promo db upgrade: {exc}") from None
    if before == after:
        print(f"the database is already at revision {after}")
    else:
        print(f"upgraded the database from {before or 'empty'} to revision {after}")
    _report_unplaced(args.db)
    return 0


def _report_unplaced(url: str) -> None:
    from server.storage.programmes import unplaced_members
    from server.storage.store import Ledger

    ledger = Ledger.open(url)
    try:
        unplaced = unplaced_members(ledger.sessions)
    finally:
        ledger.engine.dispose()
    if not unplaced:
        return
    print(
        f"{len(unplaced)} member(s) belong to no programme yet: the ledger does not say which one "
        "(every member belongs to exactly one; until placed, they are refused as members)"
    )
    for member in unplaced[:_SHOW]:
        seen = ", ".join(member.seen_in) if member.seen_in else "no sale or coupon names a programme"
        print(f"  {member.member_id}: {seen}")
    if len(unplaced) > _SHOW:
        print(f"  ... and {len(unplaced) - _SHOW} more")
    print(
        f"place them with: promo db place --db {url} --programme NAME --member ID ...  "
        "(or --all-unplaced when they all belong to one)"
    )


def _place(args: argparse.Namespace) -> int:
    from server.storage.errors import DatabaseUnavailable
    from server.storage.programmes import place_members
    from server.storage.store import Ledger

    if not args.programme:
        raise UsageError("promo db place needs --programme NAME")
    if bool(args.members) == bool(args.all_unplaced):
        raise UsageError("promo db place needs either --member ID ... or --all-unplaced (not both)")
    try:
        ledger = Ledger.open(args.db)
    except DatabaseUnavailable as exc:
        raise Failure(f"promo db place: {exc}") from None
    try:
        moved = place_members(ledger.sessions, args.programme, None if args.all_unplaced else args.members)
    finally:
        ledger.engine.dispose()
    print(f"placed {moved} member(s) in programme {args.programme}")
    if args.members and moved < len(set(args.members)):
        print("the others were already in a programme or are not in the ledger: a programme is never changed")
    return 0
