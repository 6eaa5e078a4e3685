"""An in-process server on 127.0.0.1:0, called through the generated stub, with its log captured.

Every call in these tests has a timeout, and every server is stopped with no grace
at teardown, so a broken server fails a test instead of hanging the run.
"""

from __future__ import annotations

import io
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for auth_support
from auth_support import TOKENS, as_role, gate_for_tests  # tests/ is on sys.path (below)
from service_support import CALL_TIMEOUT, HEALTH_RULES, REPO, Running  # tests/service is on sys.path

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.app import Deps, create_server
from server.rpc.logs import configure_logging
from server.rulesets.registry import RulesetRegistry
from server.sales.pricing import Evaluator, default_evaluate
from server.wire.request_json import request_from_json


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """`promo serve` configures structlog for the process: undo it, so no test logs into another's capture."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _client_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """`promo client` in these tests calls as the test till."""
    monkeypatch.setenv("PROMO_TOKEN", TOKENS["till"])


@pytest.fixture
def rulesets(tmp_path: Path) -> Path:
    """A ruleset folder holding a copy of the bundled health programme folder."""
    folder = tmp_path / "rulesets"
    folder.mkdir()
    shutil.copytree(HEALTH_RULES, folder / "health")
    return folder


@pytest.fixture
def start_server(rulesets: Path) -> Iterator[Callable[..., Running]]:
    """Start a server on the given folder (default: the health copy), optionally with an evaluator."""
    started: list[tuple[grpc.Server, grpc.Channel]] = []

    def start(folder: Path | None = None, evaluate: Evaluator = default_evaluate) -> Running:
        log = io.StringIO()
        configure_logging(log)
        registry = RulesetRegistry(folder or rulesets)
        deps = Deps(registry, evaluate=evaluate, max_workers=4, gate=gate_for_tests())
        server, port = create_server("127.0.0.1:0", deps)
        registry.refresh()
        server.start()
        target = f"127.0.0.1:{port}"
        raw = grpc.insecure_channel(target)
        started.append((server, raw))
        grpc.channel_ready_future(raw).result(timeout=CALL_TIMEOUT)
        channel = as_role(raw, "till")
        return Running(
            pb_grpc.PromotionsStub(channel), channel, registry, deps, folder or rulesets, log, target
        )

    yield start
    for server, channel in started:
        server.stop(None)
        # Closing a channel blocks ~0.2 s on gRPC's polling thread: do it in the background.
        threading.Thread(target=channel.close, daemon=True).start()


@pytest.fixture
def running(start_server: Callable[..., Running]) -> Running:
    """A server on the health ruleset with the real engine."""
    return start_server()


@pytest.fixture
def gold_request() -> pb.EvaluateRequest:
    """The bundled sample request: a gold member, two lines, two coupons."""
    return request_from_json(
        (REPO / "rulesets" / "requests" / "health-gold.json").read_text(encoding="utf-8")
    )
