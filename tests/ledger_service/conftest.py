"""An in-process server with a ledger on SQLite (a temp file) and on PostgreSQL (a throwaway database).

Environment read here: PROMO_TEST_PG (the PostgreSQL server URL without a database, default
postgresql+psycopg://postgres@127.0.0.1:5432) and PROMO_REQUIRE_PG (=1 turns "PostgreSQL unreachable"
from a skip into a failure, as CI sets it). A database ``promo_svc_<random>`` is created and migrated
once per session and dropped at the end; each test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import structlog
from sqlalchemy import Engine, text
from sqlalchemy.pool import NullPool
from svc_support import CALL_TIMEOUT, RULES, TABLES, Svc

from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.app import Deps, create_server
from server.logs import configure_logging
from server.registry import RulesetRegistry
from server.storage.db import make_engine, make_sessionmaker, upgrade
from server.storage.store import Ledger

PG_SERVER = os.environ.get("PROMO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def _pg_problem() -> str | None:
    import psycopg

    try:
        psycopg.connect(
            f"{PG_SERVER.replace('postgresql+psycopg', 'postgresql')}/postgres", connect_timeout=3
        ).close()
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_problem()
    if problem is not None:
        if os.environ.get("PROMO_REQUIRE_PG") == "1":
            pytest.fail(f"PROMO_REQUIRE_PG=1 but PostgreSQL at {PG_SERVER} is unreachable: {problem}")
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable ({problem}); PROMO_REQUIRE_PG=1 fails instead")
    name = f"promo_svc_{secrets.token_hex(4)}"
    admin = make_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool)
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


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("svc-template") / "ledger.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def rulesets(tmp_path: Path) -> Path:
    folder = tmp_path / "rulesets"
    folder.mkdir()
    (folder / "svc.rules").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Engine]]:
    """(backend, url, engine) of an empty, migrated ledger database."""
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield "sqlite", url, engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")
        with engine.begin() as c:
            c.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        yield "postgresql", request.getfixturevalue("pg_url"), engine


@pytest.fixture
def start_svc(rulesets: Path) -> Iterator[Callable[..., Svc]]:
    """Start servers with a ledger on the given database (or none); all stopped at teardown."""
    started: list[tuple[grpc.Server, grpc.Channel]] = []

    def start(backend: tuple[str, str, Engine] | None) -> Svc:
        import io

        configure_logging(io.StringIO())
        registry = RulesetRegistry(rulesets)
        ledger = Ledger(make_sessionmaker(backend[2])) if backend is not None else None
        server, port = create_server("127.0.0.1:0", Deps(registry, max_workers=8, ledger=ledger))
        registry.refresh()
        server.start()
        target = f"127.0.0.1:{port}"
        channel = grpc.insecure_channel(target)
        started.append((server, channel))
        grpc.channel_ready_future(channel).result(timeout=CALL_TIMEOUT)
        name, url = (backend[0], backend[1]) if backend is not None else ("none", "")
        return Svc(
            pb_grpc.PromotionsStub(channel),
            pb_grpc.AdminStub(channel),
            ledger,
            registry,
            target,
            name,
            url,  # type: ignore[arg-type]
        )

    yield start
    for server, channel in started:
        server.stop(None)
        threading.Thread(target=channel.close, daemon=True).start()


@pytest.fixture
def svc(start_svc: Callable[..., Svc], backend: tuple[str, str, Engine]) -> Svc:
    return start_svc(backend)
