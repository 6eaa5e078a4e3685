"""``promo serve`` as a real process: SIGTERM drains the calls in flight, then the process exits 0."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from service_support import CALL_TIMEOUT, HEALTH_RULES, REPO

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.cli.main import main
from server.cli.serve import bundled_rulesets
from server.trust.client import open_channel
from server.trust.devtoken import read_dev_token
from server.wire.request_json import request_from_json

START_LIMIT = 20.0

# `promo serve` itself, with one seam: a line whose sku is "SLOW" takes 1.5 s to price, and says so on
# stderr when it starts, so the test knows the call is in flight before it sends SIGTERM.
SLOW_SERVE = """
import sys, time
from engine.compiled import CompiledRuleset
original = CompiledRuleset.evaluate
def evaluate(self, request):
    if any(line.sku == "SLOW" for line in request.lines):
        print('{"event": "slow_call_started"}', file=sys.stderr, flush=True)
        time.sleep(1.5)
    return original(self, request)
CompiledRuleset.evaluate = evaluate
from server.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


class Serve:
    """A ``promo serve`` subprocess on a free port, its JSON log in a file."""

    def __init__(self, folder: Path, log_path: Path, *extra: str) -> None:
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        command = [sys.executable, "-c", SLOW_SERVE, "serve", "--rulesets", str(folder)]
        command += ["--host", "127.0.0.1", "--port", "0", "--grace", "5"]
        command += ["--db", f"sqlite:///{log_path.parent / 'promo.db'}", *extra]  # never the repo's promo.db
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True
        )

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append({"event": "not_json", "text": line})
        return out

    def wait_for(
        self, event: str, count: int = 1, limit: float = START_LIMIT, *, parent_alive: bool = True
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e.get("event") == event]
            if len(found) >= count:
                return found
            if parent_alive and self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {event!r} in the server log: {self.log_path.read_text()}")

    def close(self) -> None:
        """After a failed test: kill the server's own process group (it and its workers)."""
        if self.process.poll() is None or self.process.returncode != 0:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=CALL_TIMEOUT)
        self._log.close()


@pytest.fixture
def serve_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rulesets"
    folder.mkdir()
    shutil.copytree(HEALTH_RULES, folder / "health")
    return folder


@pytest.fixture
def slow_request() -> pb.EvaluateRequest:
    msg = request_from_json((REPO / "rulesets" / "requests" / "health-gold.json").read_text(encoding="utf-8"))
    msg.lines[0].sku = "SLOW"
    return msg


def dev_channel(port: int) -> grpc.Channel:
    """A channel to a local `promo serve` with the development till token it wrote."""
    return open_channel(f"127.0.0.1:{port}", read_dev_token(port))


class TestGracefulShutdown:
    def test_sigterm_lets_the_call_in_flight_finish_then_exits_0(
        self, serve_folder: Path, tmp_path: Path, slow_request: pb.EvaluateRequest
    ) -> None:
        """A 1.5 s call started before SIGTERM completes with OK, and the process exits 0 afterwards."""
        serve = Serve(serve_folder, tmp_path / "serve.log")
        try:
            port = serve.wait_for("serving")[0]["port"]
            with dev_channel(port) as channel, ThreadPoolExecutor(1) as pool:
                stub = pb_grpc.PromotionsStub(channel)
                pending = pool.submit(stub.Evaluate, slow_request, timeout=CALL_TIMEOUT)
                serve.wait_for("slow_call_started")
                serve.process.send_signal(signal.SIGTERM)
                reply = pending.result(timeout=CALL_TIMEOUT)
            assert reply.payable_fen > 0
            assert serve.process.wait(timeout=CALL_TIMEOUT) == 0
            events = [e["event"] for e in serve.events()]
            assert events.index("stopping") < events.index("rpc") < events.index("stopped")
        finally:
            serve.close()

    def test_two_workers_share_the_port_and_stop_together(
        self, serve_folder: Path, tmp_path: Path, slow_request: pb.EvaluateRequest
    ) -> None:
        """With --workers 2 both processes serve one port; SIGTERM to the parent stops both and exits 0."""
        serve = Serve(serve_folder, tmp_path / "serve.log", "--workers", "2")
        try:
            serving = serve.wait_for("serving", count=2)
            assert len({e["port"] for e in serving}) == 1
            assert len({e["pid"] for e in serving}) == 2
            slow_request.lines[0].sku = ""
            with dev_channel(serving[0]["port"]) as channel:
                reply = pb_grpc.PromotionsStub(channel).Evaluate(slow_request, timeout=CALL_TIMEOUT)
            assert reply.payable_fen > 0
            serve.process.send_signal(signal.SIGTERM)
            assert serve.process.wait(timeout=CALL_TIMEOUT * 2) == 0
            assert len(serve.wait_for("stopped", count=2, limit=1)) == 2
            assert serve.wait_for("workers_stopped", limit=1)[0]["exitcodes"] == [0, 0]
        finally:
            serve.close()

    def test_workers_stop_when_their_parent_is_killed(self, serve_folder: Path, tmp_path: Path) -> None:
        """SIGKILL to the parent leaves no orphan: each worker notices within a second or two and drains."""
        serve = Serve(serve_folder, tmp_path / "serve.log", "--workers", "2")
        try:
            serve.wait_for("serving", count=2)
            serve.process.kill()
            serve.process.wait(timeout=CALL_TIMEOUT)
            assert len(serve.wait_for("stopped", count=2, limit=CALL_TIMEOUT, parent_alive=False)) == 2
            assert len([e for e in serve.events() if e["event"] == "parent_gone"]) == 2
        finally:
            serve.close()


class TestServeCommand:
    def test_a_missing_rulesets_folder_is_a_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """promo serve --rulesets NOPE exits 2 with one line naming the folder, before binding anything."""
        missing = tmp_path / "nope"
        assert main(["serve", "--rulesets", str(missing), "--port", "0"]) == 2
        assert capsys.readouterr().err.strip() == f"promo: --rulesets {missing}: no such directory"

    def test_bad_numbers_are_usage_errors(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A port out of range, zero workers or zero threads is refused with exit 2."""
        assert main(["serve", "--port", "70000"]) == 2
        assert main(["serve", "--workers", "0"]) == 2
        assert main(["serve", "--threads", "0"]) == 2
        err = capsys.readouterr().err
        assert "--port must be between 0 and 65535" in err and "--workers must be at least 1" in err
        assert "--threads must be at least 1 (got 0)" in err

    def test_the_bundled_rulesets_are_found_from_anywhere(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """From another working directory the default folder is still the repository's rulesets/."""
        monkeypatch.chdir(tmp_path)
        assert bundled_rulesets() == REPO / "rulesets"
        assert os.getcwd() == str(tmp_path)

    def test_a_port_in_use_is_one_line_and_exit_1(
        self, serve_folder: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Another program on the port: promo serve says it cannot listen there and exits 1."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            args = ["serve", "--rulesets", str(serve_folder), "--host", "127.0.0.1", "--port", str(port)]
            args += ["--db", f"sqlite:///{serve_folder.parent / 'promo.db'}"]
            assert main(args) == 1
        assert capsys.readouterr().err.startswith(f"promo serve: cannot listen on 127.0.0.1:{port}")
