"""A PostgreSQL database made for one run and dropped after it: the benchmarks' and tests' scratch ledger.

Each run gets its own ``<prefix>_<random>`` so runs side by side (and other people's) never share
rows; ``WITH (FORCE)`` drops it even when a killed server left connections open.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from server.storage.db import make_engine

__all__ = ["scratch_database"]


@contextmanager
def scratch_database(
    server: str, prefix: str, *, keep: bool = False, reuse: str | None = None
) -> Iterator[str]:
    """The URL of a new, empty database on ``server`` (a URL without a database name), dropped on exit
    unless ``keep``; ``reuse`` names an existing database to use as it is, neither made nor dropped."""
    name = reuse or f"{prefix}_{secrets.token_hex(4)}"
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        if not reuse:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{server}/{name}"
        finally:
            if not keep and not reuse:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
