"""Backtest fixtures: a migrated ledger on SQLite and on PostgreSQL (tests/pg_support.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for the shared pg_support
from pg_support import fresh_database, migrated_sqlite, throwaway_pg

from server.storage.db import make_sessionmaker
from server.storage.store import Ledger

TABLES = ("adjustments", "coupons", "points_entries", "returns", "sales", "members", "ruleset_sources")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory.mktemp("template") / "ledger.db")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with throwaway_pg("promo_backtest") as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str):  # type: ignore[no-untyped-def]
    from server.storage.db import make_engine

    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Ledger]]:
    """(url, ledger) of an empty migrated database."""
    with fresh_database(request, request.param, tmp_path, TABLES) as (url, engine):
        yield url, Ledger(make_sessionmaker(engine))
