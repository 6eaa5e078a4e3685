"""Ledger fixtures: every test runs on SQLite (a temp file) and on PostgreSQL (a throwaway database).

The databases come from tests/pg_support.py (shared with tests/ledger_service): PostgreSQL
at PROMO_TEST_PG, a database ``promo_test_<random>`` created and migrated once per session
and dropped at the end; each test starts from empty tables. Without a reachable server the
PostgreSQL variants are skipped, unless PROMO_REQUIRE_PG=1 (as CI sets it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ledger_helpers import Shop
from sqlalchemy import Engine

import dsl
from engine.compiled import CompiledRuleset, compile_ruleset
from server.storage.db import make_engine, make_sessionmaker
from server.storage.store import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for the shared pg_support
from pg_support import fresh_database, migrated_sqlite, throwaway_pg

TABLES = (
    "segment_moves",
    "member_audit",
    "sale_usage",
    "usage_counters",
    "adjustments",
    "coupons",
    "points_entries",
    "returns",
    "sales",
    "members",
)

RULES = """
ruleset "ledger-test" {
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1, rounding floor
  redeem 100 points per_yuan, cap 50%
  inactivity 365 days downgrade
  points_expire 30 days
}

tier normal  "普通" points x1.0
tier gold    "金卡" points x1.5 upgrade when lifetime_spend >= 1000.00 or day_spend >= 500.00
tier diamond "钻石" points x3.0 upgrade when lifetime_spend >= 5000.00

rule cat_a "A类 9折" {
  when item.category = "A"
  then item discount 9折
}

coupon C10 "10 off" {
  value 10.00
}

coupon PT5 "5 yuan for points" {
  value 5.00
  redeem_for 500 points
}
"""


@pytest.fixture(scope="session")
def compiled() -> CompiledRuleset:
    return compile_ruleset(dsl.load(RULES, "ledger-test.rules"))


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated throwaway PostgreSQL database for the session."""
    with throwaway_pg("promo_test") as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file each test copies (cheaper than migrating per test)."""
    return migrated_sqlite(tmp_path_factory.mktemp("template") / "ledger.db")


@dataclass
class Db:
    """One test's database: its URL (for other processes) and the engine behind the ledger."""

    backend: str
    url: str
    engine: Engine


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    with fresh_database(request, request.param, tmp_path, TABLES) as (url, engine):
        yield Db(request.param, url, engine)


@pytest.fixture
def ledger(db: Db) -> Ledger:
    return Ledger(make_sessionmaker(db.engine))


@pytest.fixture
def shop(compiled: CompiledRuleset) -> Shop:
    return Shop(compiled)
