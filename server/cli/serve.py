"""``promo serve``: run the Promotions gRPC service over a folder of ruleset files.

With no options it serves the repository's own ``rulesets/`` folder on port 50051,
so ``pip install -e .`` then ``promo serve`` in a fresh clone answers at once. Logs
are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from server.cli.base import Failure, UsageError, arg, command

__all__ = ["DEFAULT_DB", "DEFAULT_PORT", "bundled_rulesets", "run_serve"]

DEFAULT_PORT = 50051
DEFAULT_DB = "sqlite:///promo.db"  # the ledger database, a SQLite file in the working directory


@command(
    "serve",
    "serve the Promotions gRPC service (with health and reflection) until SIGTERM",
    arg("--rulesets", metavar="DIR", help="folder of *.rules files to serve and watch (default: bundled)"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--host", default="[::]", help="address to listen on (default: [::], every interface)"),
    arg("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default: {DEFAULT_PORT})"),
    arg("--workers", type=int, default=1, help="processes sharing the port (default: 1)"),
    arg("--grace", type=float, default=10.0, metavar="S", help="seconds to drain calls on SIGTERM"),
    arg(
        "--rulesets-from-db",
        action="store_true",
        help="serve the programme versions `promo publish` stored in --db (polled), not a folder",
    ),
)
def run_serve(args: argparse.Namespace) -> int:
    from server.rpc.logs import configure_logging
    from server.rpc.serve import CannotListen, ServeOptions, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535 (got {args.port})")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    if args.grace < 0:
        raise UsageError(f"--grace must not be negative (got {args.grace})")
    folder = Path(args.rulesets) if args.rulesets else bundled_rulesets()
    if not folder.is_dir():
        raise UsageError(f"--rulesets {folder}: no such directory")
    configure_logging()
    options = ServeOptions(
        rulesets=folder.resolve(),
        db=args.db,
        host=args.host,
        port=args.port,
        workers=args.workers,
        grace=args.grace,
        from_db=args.rulesets_from_db,
    )
    try:
        return serve(options)
    except CannotListen as exc:
        raise Failure(f"promo serve: {exc}") from None


def bundled_rulesets() -> Path:
    """The repository's ``rulesets/`` folder: next to the installed package, else in the CWD."""
    import server

    candidates = [Path(server.__file__).resolve().parent.parent / "rulesets", Path.cwd() / "rulesets"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise UsageError(f"no rulesets folder found (looked in {looked}); pass --rulesets DIR")
