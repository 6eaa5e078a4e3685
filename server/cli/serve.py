"""``promo serve``: run the Promotions gRPC service over a folder of ruleset files.

With no options it serves the repository's own ``rulesets/`` folder on port 50051,
so ``pip install -e .`` then ``promo serve`` in a fresh clone answers at once. Logs
are JSON lines on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from server.cli.base import Failure, UsageError, arg, command

__all__ = ["DEFAULT_DB", "DEFAULT_PORT", "bundled_rulesets", "run_serve"]

DEFAULT_PORT = 50051
DEFAULT_DB = "sqlite:///promo.db"  # the ledger database, a SQLite file in the working directory


@command(
    "serve",
    "serve the Promotions gRPC service (with health and reflection) until SIGTERM",
    arg("--rulesets", metavar="DIR", help="folder of *.rules files to serve and watch (default: bundled)"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg(
        "--host",
        help="address to listen on (default: 127.0.0.1 in plain text, [::] (every interface) with TLS)",
    ),
    arg("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default: {DEFAULT_PORT})"),
    arg("--workers", type=int, default=1, help="processes sharing the port (default: 1)"),
    arg("--threads", type=int, default=None, help="call threads per process (default: 4)"),
    arg("--grace", type=float, default=10.0, metavar="S", help="seconds to drain calls on SIGTERM"),
    arg("--tls-cert", metavar="FILE", help="the server's certificate chain (PEM): serve over TLS"),
    arg("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)"),
    arg("--client-ca", metavar="FILE", help="require client certificates signed by this CA (mutual TLS)"),
    arg("--insecure", action="store_true", help="allow plain text on a non-loopback address (logged)"),
    arg("--no-auth", action="store_true", help="development only, loopback only: no caller is checked"),
    arg(
        "--max-clock-skew",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds a committed sale may be dated ahead of this server's clock (default: 300)",
    ),
    arg(
        "--rulesets-from-db",
        action="store_true",
        help="serve the programme versions `promo publish` stored in --db (polled), not a folder",
    ),
)
def run_serve(args: argparse.Namespace) -> int:
    from server.rpc.app import DEFAULT_THREADS
    from server.rpc.logs import configure_logging
    from server.rpc.serve import CannotListen, ServeOptions, serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535 (got {args.port})")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1 (got {args.threads})")
    if args.max_clock_skew < 0:
        raise UsageError(f"--max-clock-skew must not be negative (got {args.max_clock_skew})")
    if args.grace < 0:
        raise UsageError(f"--grace must not be negative (got {args.grace})")
    folder = Path(args.rulesets) if args.rulesets else bundled_rulesets()
    if not folder.is_dir():
        raise UsageError(f"--rulesets {folder}: no such directory")
    tls = _tls(args)
    configure_logging()
    options = ServeOptions(
        rulesets=folder.resolve(),
        db=args.db,
        host=args.host or ("[::]" if tls is not None else "127.0.0.1"),
        tls=tls,
        insecure=args.insecure,
        no_auth=args.no_auth,
        max_clock_skew_s=args.max_clock_skew,
        port=args.port,
        workers=args.workers,
        grace=args.grace,
        threads=args.threads or DEFAULT_THREADS,
        from_db=args.rulesets_from_db,
    )
    try:
        return serve(options)
    except CannotListen as exc:
        raise Failure(f"promo serve: {exc}") from None


def _tls(args: argparse.Namespace) -> Any:
    from server.trust.tls import TlsFiles

    if args.tls_cert is None and args.tls_key is None:
        if args.client_ca is not None:
            raise UsageError("--client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise UsageError("--tls-cert and --tls-key go together")
    for flag, value in (
        ("--tls-cert", args.tls_cert),
        ("--tls-key", args.tls_key),
        ("--client-ca", args.client_ca),
    ):
        if value is not None and not Path(value).is_file():
            raise UsageError(f"{flag} {value}: no such file")
    ca = Path(args.client_ca) if args.client_ca else None
    return TlsFiles(Path(args.tls_cert), Path(args.tls_key), ca)


def bundled_rulesets() -> Path:
    """The repository's ``rulesets/`` folder: next to the installed package, else in the CWD."""
    import server

    candidates = [Path(server.__file__).resolve().parent.parent / "rulesets", Path.cwd() / "rulesets"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise UsageError(f"no rulesets folder found (looked in {looked}); pass --rulesets DIR")
