"""Budgets under concurrency, for real: 8 tills across 2 `promo serve` processes race for the last
10 uses of one campaign and the last 100.00 of another, with retries, and one server is killed with
SIGKILL mid-run. On SQLite and PostgreSQL.

Afterwards: each counter equals the sum of what the committed sales consumed (from their stored
results and from sale_usage), never more than the budget; every sale ended committed, and every
refusal on the way was a clear FAILED_PRECONDITION naming the campaign or rule.
(benchmarks/bench_budget_race.py runs a longer version.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from auth_support import TOKENS
from pg_support import truncate  # tests/: on sys.path from conftest.py
from sqlalchemy import select
from sqlalchemy.pool import NullPool
from svc_support import TABLES, serve_processes

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.storage import usage
from server.storage.callers import add_caller
from server.storage.db import make_engine, upgrade
from server.storage.models import Sale, SaleUsage
from server.trust.client import open_channel
from server.trust.tokens import hash_token

START_LIMIT = 30.0
CALL = 15.0
TILLS, SALES = 8, 6  # 48 sales: far more than the 10 uses and 100.00 can serve

PROGRAMME = 'ruleset "race" {\n  currency CNY\n}\n\ntier normal "普通会员"\n'
LAST_USES = """\
campaign "last-uses" {
  budget 10 uses
  status live
}

rule one_off "每单减1元" {
  then basket discount 1.00
}
"""
LAST_MONEY = """\
campaign "last-money" {
  budget 100.00 per campaign
  status live
}

rule seven_off "每单减7元" {
  then basket discount 7.00
}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def race_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
        upgrade(url)
        yield url
    else:
        url = request.getfixturevalue("pg_url")
        truncate(request.getfixturevalue("pg_engine"), TABLES)
        yield url


@pytest.fixture
def servers(race_db: str, tmp_path: Path) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]]]]:
    folder = tmp_path / "rulesets" / "race"
    folder.mkdir(parents=True)
    (folder / "programme.rules").write_text(PROGRAMME, encoding="utf-8")
    (folder / "last-uses.rules").write_text(LAST_USES, encoding="utf-8")
    (folder / "last-money.rules").write_text(LAST_MONEY, encoding="utf-8")
    engine = make_engine(race_db, poolclass=NullPool)
    add_caller(engine, "test-till", "till", hash_token(TOKENS["till"]))  # the tills' credentials
    engine.dispose()
    with serve_processes(folder.parent, race_db, tmp_path, start_limit=START_LIMIT) as running:
        yield running


def _basket(member: str) -> pb.EvaluateRequest:
    msg = pb.EvaluateRequest(ruleset="race", time="2026-11-05T10:00:00+08:00", explain=True)
    msg.lines.add(
        id="1",
        name="*日用品*goods",
        unit_price_fen=5000,
        quantity_milli=1000,
        tax_rate="13%",
        tax_code="1070223000000000000",
        unit="个",
    )
    msg.member.id = member
    return msg


_GONE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


class TestBudgetRace:
    def test_eight_tills_two_servers_one_killed(self, servers, race_db: str) -> None:  # type: ignore[no-untyped-def]
        targets, procs = servers
        stubs = [pb_grpc.PromotionsStub(open_channel(t, TOKENS["till"])) for t in targets]
        for k in range(TILLS):
            stubs[0].EnrollMember(pb.EnrollMemberRequest(member_id=f"M{k}", tier="normal"), timeout=CALL)
        committed: list[str] = []
        refusals: list[str] = []  # FAILED_PRECONDITION details seen on the way (then re-quoted)
        unexpected: list[str] = []
        killed = threading.Event()

        def till(k: int) -> None:
            alive = [0, 1]
            for i in range(SALES):
                tid, request, commit = f"T{k}-{i}", _basket(f"M{k}"), None
                for attempt in range(12):
                    stub = stubs[alive[(k + attempt) % len(alive)]]
                    try:
                        if commit is None:  # quote, then commit exactly what was displayed
                            quote = stub.Evaluate(request, timeout=CALL)
                            commit = pb.CommitRequest(
                                transaction_id=tid,
                                request=request,
                                displayed_payable_fen=quote.payable_fen,
                                ruleset_version=quote.ruleset.version,
                            )
                        stub.Commit(commit, timeout=CALL)
                        committed.append(tid)
                        break
                    except grpc.RpcError as exc:
                        code = exc.code()
                        if code == grpc.StatusCode.FAILED_PRECONDITION:
                            refusals.append(exc.details())
                            commit = None  # another till used the budget: quote again
                        elif code in _GONE and killed.is_set():
                            alive[:] = [1]  # the same request again, to the server still up
                        else:
                            unexpected.append(f"{tid}: {code} {exc.details()}")
                            return
                else:
                    unexpected.append(f"{tid}: no answer after 12 attempts")
                if k == 0 and i == 1:  # a quarter in: kill server 0 while the others are committing
                    os.killpg(procs[0].pid, signal.SIGKILL)
                    killed.set()

        threads = [threading.Thread(target=till, args=(k,)) for k in range(TILLS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(240)
        assert not any(t.is_alive() for t in threads)
        assert procs[0].poll() == -signal.SIGKILL  # it was killed mid-run, with tills on it
        print(f"refusals on the way: {len(refusals)}")
        assert unexpected == []
        assert sorted(committed) == sorted(f"T{k}-{i}" for k in range(TILLS) for i in range(SALES))
        assert all("has not enough left for this sale" in r and "campaign '" in r for r in refusals), refusals

        engine = make_engine(race_db)
        try:
            with engine.connect() as c:
                counters = {key.split("|")[2]: total for key, total in usage.totals(c).items()}
                by_key: dict[str, int] = {}
                for key, amount in c.execute(select(SaleUsage.key, SaleUsage.amount)):
                    name = key.split("|")[2]
                    by_key[name] = by_key.get(name, 0) + amount
                results = [json.loads(r) for (r,) in c.execute(select(Sale.result))]
        finally:
            engine.dispose()
        assert len(results) == TILLS * SALES  # each sale once, whatever the retries and the kill
        took = {"one_off": 0, "seven_off": 0}
        uses = 0
        for result in results:
            fen = {"one_off": 0, "seven_off": 0}
            for line in result["lines"]:
                for d in line.get("discounts", []):
                    if d["source"] in fen:
                        fen[d["source"]] += int(d["fen"])
            uses += fen["one_off"] > 0
            took["seven_off"] += fen["seven_off"]
        assert counters["last-uses"] == (uses, 10) and uses == 10
        assert counters["last-money"] == (took["seven_off"], 10000) and took["seven_off"] == 10000
        assert by_key == {"last-uses": 10, "last-money": 10000}
