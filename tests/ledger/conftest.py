"""Ledger fixtures: every test runs on SQLite (a temp file) and on PostgreSQL (a throwaway database).

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust auth; override with
PROMO_TEST_PG). A database ``promo_test_<random>`` is created and migrated once per
session and dropped at the end; each test starts from empty tables. Without a
reachable server the PostgreSQL variants are skipped, unless PROMO_REQUIRE_PG=1
(as CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from ledger_helpers import Shop
from sqlalchemy import Engine, text

import dsl
from engine.compiled import CompiledRuleset, compile_ruleset
from server.storage.db import make_engine, make_sessionmaker, upgrade
from server.storage.store import Ledger

PG_SERVER = os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
TABLES = ("adjustments", "coupons", "points_entries", "returns", "sales", "members")

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


def _pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        url = PG_SERVER.replace("postgresql+psycopg", "postgresql")
        psycopg.connect(f"{url}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated throwaway PostgreSQL database for the session."""
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("PROMO_REQUIRE_PG") == "1":
            pytest.fail(f"PROMO_REQUIRE_PG=1 but PostgreSQL at {PG_SERVER} is unreachable: {problem}")
        pytest.skip(
            f"PostgreSQL at {PG_SERVER} is unreachable ({problem}); set PROMO_REQUIRE_PG=1 to fail instead"
        )
    name = f"promo_test_{secrets.token_hex(4)}"
    admin = make_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file each test copies (cheaper than migrating per test)."""
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@dataclass
class Db:
    """One test's database: its URL (for other processes) and the engine behind the ledger."""

    backend: str
    url: str
    engine: Engine


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Db]:
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield Db("sqlite", url, engine)
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        with engine.begin() as c:
            c.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        yield Db("postgresql", request.getfixturevalue("pg_url"), engine)


@pytest.fixture
def ledger(db: Db) -> Ledger:
    return Ledger(make_sessionmaker(db.engine))


@pytest.fixture
def shop(compiled: CompiledRuleset) -> Shop:
    return Shop(compiled)
