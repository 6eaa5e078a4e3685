"""``promo db upgrade``: bring the ledger database to this release's schema.

``promo serve`` upgrades an empty database by itself; this command is for the
deliberate step before a release starts on a production database (and it is safe to
run again: a database already at the newest revision is left as it is).
"""

from __future__ import annotations

import argparse

from server.cli.base import Failure, arg, command
from server.cli.serve import DEFAULT_DB

__all__ = ["run_db"]


@command(
    "db",
    "manage the ledger database: `promo db upgrade` applies the schema migrations",
    arg("action", choices=["upgrade"], help="upgrade: apply every migration this release ships"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
)
def run_db(args: argparse.Namespace) -> int:
    from server.storage.db import current_revision, make_engine, upgrade
    from server.storage.errors import DatabaseUnavailable

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
    return 0
