"""An in-process server with a ledger on SQLite (a temp file) and on PostgreSQL (a throwaway database).

The databases come from tests/pg_support.py (shared with tests/ledger): PostgreSQL at
PROMO_TEST_PG, a database ``promo_svc_<random>`` created and migrated once per session and
dropped at the end; each test starts from empty tables. PROMO_REQUIRE_PG=1 turns
"PostgreSQL unreachable" from a skip into a failure, as CI sets it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import structlog
from sqlalchemy import Engine
from svc_support import CALL_TIMEOUT, RULES, TABLES, Svc

from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.app import Deps, create_server
from server.rpc.logs import configure_logging
from server.rulesets.registry import RulesetRegistry
from server.storage.db import make_engine, make_sessionmaker
from server.storage.store import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for the shared pg_support
from auth_support import as_role, gate_for_tests
from pg_support import fresh_database, migrated_sqlite, throwaway_pg


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with throwaway_pg("promo_svc") as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory.mktemp("svc-template") / "ledger.db")


@pytest.fixture
def rulesets(tmp_path: Path) -> Path:
    folder = tmp_path / "rulesets"
    folder.mkdir()
    (folder / "svc.rules").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, Engine]]:
    """(backend, url, engine) of an empty, migrated ledger database."""
    with fresh_database(request, request.param, tmp_path, TABLES) as (url, engine):
        yield request.param, url, engine


@pytest.fixture
def start_svc(rulesets: Path) -> Iterator[Callable[..., Svc]]:
    """Start servers with a ledger on the given database (or none); all stopped at teardown."""
    started: list[tuple[grpc.Server, grpc.Channel]] = []

    def start(backend: tuple[str, str, Engine] | None) -> Svc:
        import io

        log = io.StringIO()
        configure_logging(log)
        registry = RulesetRegistry(rulesets)
        ledger = Ledger(make_sessionmaker(backend[2])) if backend is not None else None
        server, port = create_server(
            "127.0.0.1:0", Deps(registry, max_workers=8, ledger=ledger, gate=gate_for_tests())
        )
        registry.refresh()
        server.start()
        target = f"127.0.0.1:{port}"
        raw = grpc.insecure_channel(target)
        started.append((server, raw))
        grpc.channel_ready_future(raw).result(timeout=CALL_TIMEOUT)
        name, url = (backend[0], backend[1]) if backend is not None else ("none", "")
        return Svc(
            pb_grpc.PromotionsStub(as_role(raw, "till")),
            pb_grpc.AdminStub(as_role(raw, "admin")),
            ledger,
            registry,
            target,
            name,
            url,  # type: ignore[arg-type]
            log,
        )

    yield start
    for server, channel in started:
        server.stop(None)
        threading.Thread(target=channel.close, daemon=True).start()


@pytest.fixture
def svc(start_svc: Callable[..., Svc], backend: tuple[str, str, Engine]) -> Svc:
    return start_svc(backend)
