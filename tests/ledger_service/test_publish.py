"""promo publish and --rulesets-from-db: a checked programme goes into the ledger, and servers reading
from it switch to a newly published version (the registry side, and one real `promo serve`)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine, func, select
from svc_support import REPO_HEALTH, free_port

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.cli.main import main
from server.rulesets.published import PublishedRegistry
from server.storage.db import make_sessionmaker
from server.storage.models import PublishedVersion
from server.storage.store import Ledger


@pytest.fixture
def health(tmp_path: Path) -> Path:
    folder = tmp_path / "health"
    shutil.copytree(REPO_HEALTH, folder)
    return folder


def _count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(PublishedVersion)) or 0)


class TestPublish:
    def test_publish_checks_stores_and_servers_switch(
        self, health: Path, backend: tuple[str, str, Engine], capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, url, engine = backend
        assert main(["publish", str(health), "--db", url, "--by", "li.wei"]) == 0
        assert "published ruyi-health" in capsys.readouterr().out
        assert main(["publish", str(health), "--db", url]) == 0  # the same text again: nothing new
        assert "already the newest" in capsys.readouterr().out and _count(engine) == 1

        registry = PublishedRegistry(Ledger(make_sessionmaker(engine)))
        registry.refresh()
        first = registry.get("ruyi-health")
        assert first.ruleset.campaigns  # the whole programme folder, as one version

        coupons = health / "coupons.rules"
        coupons.write_text(coupons.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
        assert main(["publish", str(health), "--db", url]) == 0
        registry.refresh()
        assert registry.get("ruyi-health").version != first.version
        assert registry.get("ruyi-health", first.version) is first  # a quote's version stays reachable

        coupons.write_text(coupons.read_text(encoding="utf-8").replace("value 20.00", "value 0.00"))
        assert main(["publish", str(health), "--db", url]) == 1
        out = capsys.readouterr().out
        assert "coupons.rules:" in out and "not published" in out
        assert _count(engine) == 2

    def test_publish_refuses_no_examples_and_a_bound_over_max_discount(
        self, tmp_path: Path, backend: tuple[str, str, Engine], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`promo check` only warns of a programme without examples; publish refuses it, and a worst
        case above the programme's own max_discount, and stores nothing."""
        _, url, engine = backend
        bare = tmp_path / "bare.rules"
        bare.write_text(
            'ruleset "bare" {\n  currency CNY\n}\n\ntier normal "普通" points x1.0\n\n'
            'rule a "A 8折" {\n  when item.category = "A"\n  then item discount 8折\n}\n',
            encoding="utf-8",
        )
        assert main(["check", str(bare)]) == 0  # a warning only
        assert main(["publish", str(bare), "--db", url]) == 1
        assert "no worked example" in capsys.readouterr().out
        capped = tmp_path / "capped.rules"
        capped.write_text(
            bare.read_text(encoding="utf-8").replace("currency CNY\n", "currency CNY\n  max_discount 10%\n")
            + '\nexample "A" {\n  member tier normal\n  at 2026-11-15 10:00\n'
            '  line "x" category "A" price 10.00 qty 1 tax 13%\n  expect payable 8.00\n}\n',
            encoding="utf-8",
        )
        assert main(["publish", str(capped), "--db", url]) == 1
        assert "not published" in capsys.readouterr().out
        assert _count(engine) == 0


class TestServeFromDb:
    def test_two_servers_switch_to_a_newly_published_version_under_load(
        self, health: Path, pg_url: str, pg_engine: Engine
    ) -> None:
        """Two `promo serve --rulesets-from-db` on one PostgreSQL serve what was published; a publish
        under Evaluate load switches both within seconds, and no call fails."""
        import os
        import signal
        import subprocess
        import sys
        import threading

        from pg_support import truncate
        from svc_support import TABLES

        truncate(pg_engine, TABLES)
        assert main(["publish", str(health), "--db", pg_url]) == 0
        procs, stubs = [], []
        try:
            for _ in range(2):
                port = free_port()
                cmd = [sys.executable, "-m", "server.cli.main", "serve", "--rulesets-from-db", "--db", pg_url]
                cmd += ["--host", "127.0.0.1", "--port", str(port), "--grace", "1"]
                cmd += ["--no-auth"]  # the publish is under test here; tests/trust covers who may call
                procs.append(
                    subprocess.Popen(
                        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
                    )
                )
                channel = grpc.insecure_channel(f"127.0.0.1:{port}")
                grpc.channel_ready_future(channel).result(timeout=30)
                stubs.append(pb_grpc.PromotionsStub(channel))
            request = _guest_basket()
            before = {stub.Evaluate(request, timeout=10).ruleset.version for stub in stubs}
            assert len(before) == 1
            failures: list[str] = []
            stop = threading.Event()

            def load(stub: pb_grpc.PromotionsStub) -> None:
                while not stop.is_set():
                    try:
                        stub.Evaluate(request, timeout=10)
                    except grpc.RpcError as exc:
                        failures.append(f"{exc.code()} {exc.details()}")

            threads = [threading.Thread(target=load, args=(stubs[k % 2],)) for k in range(4)]
            for t in threads:
                t.start()
            programme = health / "programme.rules"
            programme.write_text(programme.read_text(encoding="utf-8") + "\n# v2\n", encoding="utf-8")
            assert main(["publish", str(health), "--db", pg_url]) == 0
            deadline = time.monotonic() + 10
            after = before
            while after & before and time.monotonic() < deadline:
                time.sleep(0.1)
                after = {stub.Evaluate(request, timeout=10).ruleset.version for stub in stubs}
            stop.set()
            for t in threads:
                t.join(10)
            assert len(after) == 1 and not after & before  # both switched, to the same version
            assert failures == []
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)


def _guest_basket() -> pb.EvaluateRequest:
    msg = pb.EvaluateRequest(ruleset="ruyi-health", time="2026-03-10T10:00:00+08:00")
    msg.lines.add(id="1", name="*日用品*x", unit_price_fen=8900, quantity_milli=1000, tax_rate="13%")
    return msg
