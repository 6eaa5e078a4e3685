"""The callers table: who may call the service, by the SHA-256 of their bearer token.

Tokens are random and long, so a plain SHA-256 is enough to make a stolen database
useless for calling the service (no password stretching is needed for 256 random bits).
The token itself is never stored; :mod:`server.trust.tokens` makes and hashes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.storage.models import Caller
from server.storage.tx import in_connection, is_unique_violation
from server.storage.types import utc_now

__all__ = [
    "CallerExists",
    "CallerRow",
    "active_callers",
    "add_caller",
    "all_callers",
    "caller_by_hash",
    "caller_by_name",
    "remove_caller",
    "revoke_caller",
]


class CallerExists(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"a caller named {name!r} exists already (names are kept after revoking)")
        self.name = name


@dataclass(frozen=True, slots=True)
class CallerRow:
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


_COLUMNS = (Caller.name, Caller.role, Caller.created_at, Caller.revoked_at)


def add_caller(engine: Engine, name: str, role: str, token_hash: str) -> CallerRow:
    now = utc_now()
    try:
        in_connection(
            engine,
            lambda c: c.execute(
                insert(Caller).values(name=name, role=role, token_hash=token_hash, created_at=now)
            ),
        )
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise CallerExists(name) from None
        raise
    return CallerRow(name, role, now, None)


def caller_by_hash(engine: Engine, token_hash: str) -> CallerRow | None:
    """The active (not revoked) caller holding the token with this hash."""
    return _one(engine, Caller.token_hash == token_hash)


def caller_by_name(engine: Engine, name: str) -> CallerRow | None:
    """The active caller named ``name`` (a client certificate's common name maps here)."""
    return _one(engine, Caller.name == name)


def _one(engine: Engine, where: object) -> CallerRow | None:
    def read(c: Connection) -> CallerRow | None:
        row = c.execute(select(*_COLUMNS).where(where, Caller.revoked_at.is_(None))).one_or_none()
        return None if row is None else CallerRow(*row)

    return in_connection(engine, read)


def all_callers(engine: Engine) -> list[CallerRow]:
    return in_connection(
        engine, lambda c: [CallerRow(*r) for r in c.execute(select(*_COLUMNS).order_by(Caller.name))]
    )


def active_callers(engine: Engine) -> list[CallerRow]:
    return [c for c in all_callers(engine) if c.revoked_at is None]


def revoke_caller(engine: Engine, name: str) -> bool:
    """Revoke ``name``'s token; False when there is no such active caller."""
    now = utc_now()
    result = in_connection(
        engine,
        lambda c: c.execute(
            update(Caller).where(Caller.name == name, Caller.revoked_at.is_(None)).values(revoked_at=now)
        ),
    )
    return bool(result.rowcount)


def remove_caller(engine: Engine, name: str) -> None:
    """Delete ``name`` outright (only the development token is re-issued this way)."""
    in_connection(engine, lambda c: c.execute(delete(Caller).where(Caller.name == name)))
