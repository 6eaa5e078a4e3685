"""``promo token create|list|revoke``: the callers allowed to call the service.

``create`` prints the token once: the ledger keeps only its SHA-256, so a lost token is
revoked and replaced, never recovered. A running server sees a new or revoked token
within a few seconds (its lookup cache).
"""

from __future__ import annotations

import argparse

from server.cli.base import Failure, UsageError, arg, command
from server.cli.serve import DEFAULT_DB

__all__ = ["run_token"]

_ROLES = ("till", "finance", "admin", "job")


@command(
    "token",
    "manage callers: `create --role R --name N` prints a token once; `list`; `revoke --name N`",
    arg("action", choices=("create", "list", "revoke"), help="what to do"),
    arg("--role", choices=_ROLES, help="create: till (price, commit, return), finance (read), admin, job"),
    arg("--name", metavar="NAME", help="the caller's name, e.g. store12-till3 (recorded as operator)"),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
)
def run_token(args: argparse.Namespace) -> int:
    from server.storage import callers
    from server.storage.errors import DatabaseUnavailable
    from server.storage.store import Ledger
    from server.trust.masking import mask_url
    from server.trust.tokens import hash_token, new_token
    from server.wire.bounds import check_text

    if args.action in ("create", "revoke") and not args.name:
        raise UsageError(f"token {args.action} needs --name NAME")
    if args.action == "create" and not args.role:
        raise UsageError("token create needs --role till|finance|admin|job")
    if args.name is not None:
        try:
            check_text(args.name, "--name")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    try:
        engine = Ledger.open(args.db).engine
    except DatabaseUnavailable as exc:
        raise Failure(f"promo token: {mask_url(str(exc))}") from None
    try:
        if args.action == "create":
            token = new_token()
            try:
                callers.add_caller(engine, args.name, args.role, hash_token(token))
            except callers.CallerExists as exc:
                raise Failure(f"promo token create: {exc}") from None
            print(token)
            print(f"(caller {args.name!r}, role {args.role}: keep this token, it is not shown again)")
        elif args.action == "list":
            for c in callers.all_callers(engine):
                state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "active"
                print(f"{c.name}\t{c.role}\tcreated {c.created_at:%Y-%m-%d %H:%M}\t{state}")
        elif not callers.revoke_caller(engine, args.name):
            raise Failure(f"promo token revoke: no active caller named {args.name!r}")
        else:
            print(f"revoked {args.name!r}")
    finally:
        engine.dispose()
    return 0
