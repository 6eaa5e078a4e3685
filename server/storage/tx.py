"""One database transaction per ledger operation, retried when the database asks for it.

PostgreSQL may abort a transaction with a serialization failure (40001) or a deadlock
(40P01), and a pooled connection may have died under us; each is safe to run again
from the start because nothing was committed. SQLite's "database is locked" after
the busy timeout is treated the same. Anything else from the driver that says the
database cannot be used becomes :class:`DatabaseUnavailable`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from server.storage.errors import DatabaseUnavailable

__all__ = ["RETRYABLE_SQLSTATES", "in_connection", "in_transaction", "is_unique_violation"]

T = TypeVar("T")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
MAX_ATTEMPTS = 5


def in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction, committing on success; retry transient failures."""

    def attempt() -> T:
        with sessions() as session, session.begin():
            return work(session)

    return _retrying(attempt)


def in_connection(engine: Engine, work: Callable[[Connection], T]) -> T:
    """:func:`in_transaction` on a Core connection, for work that needs no ORM session (cheaper).

    With a :func:`server.storage.db.reader` engine there is no transaction: each statement
    stands alone.
    """

    def attempt() -> T:
        with engine.begin() as connection:
            return work(connection)

    return _retrying(attempt)


def _retrying(attempt: Callable[[], T]) -> T:
    for n in range(1, MAX_ATTEMPTS + 1):
        try:
            return attempt()
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if n < MAX_ATTEMPTS and _retryable(exc):
                time.sleep(random.uniform(0, 0.005 * 2**n))  # jitter: let the other side finish
                continue
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise DatabaseUnavailable(_first_line(exc)) from exc
            raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _retryable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate key (a concurrent or repeated operation), as opposed to a broken reference."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(exc.orig) or "PRIMARY KEY" in str(exc.orig)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
