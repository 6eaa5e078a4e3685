"""Throwaway ledger databases for the ledger tests (tests/ledger and tests/ledger_service).

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust auth; override with
PROMO_TEST_PG, the server URL without a database). :func:`throwaway_pg` creates and
migrates a database ``<prefix>_<random>`` and drops it afterwards. Without a reachable
server the PostgreSQL variants are skipped, unless PROMO_REQUIRE_PG=1 (as CI sets it),
which turns the skip into a failure. Each test then starts from empty tables
(:func:`fresh_database`): a copy of a migrated SQLite template, or TRUNCATE on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from benchmarks.scratch_db import scratch_database
from server.storage.db import make_engine, upgrade

__all__ = ["PG_SERVER", "fresh_database", "migrated_sqlite", "throwaway_pg", "truncate"]

PG_SERVER = os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _pg_problem() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        url = PG_SERVER.replace("postgresql+psycopg", "postgresql")
        psycopg.connect(f"{url}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


@contextmanager
def throwaway_pg(prefix: str, revision: str = "head") -> Iterator[str]:
    """The URL of a database ``<prefix>_<random>`` migrated to ``revision``, dropped on exit; skips
    without a server."""
    problem = _pg_problem()
    if problem is not None:
        if os.environ.get("PROMO_REQUIRE_PG") == "1":
            pytest.fail(f"PROMO_REQUIRE_PG=1 but PostgreSQL at {PG_SERVER} is unreachable: {problem}")
        pytest.skip(
            f"PostgreSQL at {PG_SERVER} is unreachable ({problem}); set PROMO_REQUIRE_PG=1 to fail instead"
        )
    with scratch_database(PG_SERVER, prefix) as url:
        upgrade(url, revision)
        yield url


def migrated_sqlite(path: Path) -> str:
    """Migrate a SQLite file at ``path`` (a template tests copy: cheaper than migrating per test)."""
    upgrade(f"sqlite:///{path}")
    return str(path)


def truncate(engine: Engine, tables: Iterable[str]) -> None:
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@contextmanager
def fresh_database(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, tables: Iterable[str]
) -> Iterator[tuple[str, Engine]]:
    """(url, engine) of an empty migrated database: a copy of the ``sqlite_template`` fixture's file,
    or the session's ``pg_url``/``pg_engine`` database with ``tables`` truncated."""
    if backend == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        truncate(engine, tables)
        yield request.getfixturevalue("pg_url"), engine
