"""Concurrency through the service: a coupon at two tills, and two server processes on one PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from auth_support import TOKENS
from pg_support import truncate  # tests/: on sys.path from conftest.py
from svc_support import CALL_TIMEOUT, TABLES, Svc, basket, serve_processes

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.storage.callers import add_caller
from server.storage.db import make_engine, make_sessionmaker
from server.storage.store import Ledger
from server.trust.client import open_channel
from server.trust.tokens import hash_token

START_LIMIT = 20.0


class TestCouponRace:
    def test_one_coupon_at_two_tills(self, svc: Svc) -> None:
        """Two tills commit the same code at once: exactly one succeeds, the other is FAILED_PRECONDITION."""
        svc.stub.EnrollMember(pb.EnrollMemberRequest(member_id="M1", tier="normal"), timeout=CALL_TIMEOUT)
        svc.ledger.issue_coupon("RACE", "C10", "svc-test")
        request = basket(coupons=("RACE",))
        quote = svc.stub.Evaluate(request, timeout=CALL_TIMEOUT)
        start = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def till(tid: str) -> None:
            start.wait(timeout=CALL_TIMEOUT)
            try:
                outcomes[tid] = svc.stub.Commit(
                    pb.CommitRequest(
                        transaction_id=tid,
                        request=request,
                        displayed_payable_fen=quote.payable_fen,
                        ruleset_version=quote.ruleset.version,
                    ),
                    timeout=CALL_TIMEOUT,
                )
            except grpc.RpcError as exc:
                outcomes[tid] = exc.code()

        threads = [threading.Thread(target=till, args=(tid,)) for tid in ("A", "B")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(CALL_TIMEOUT * 2)
        codes = sorted(str(v) if isinstance(v, grpc.StatusCode) else "OK" for v in outcomes.values())
        assert codes == ["OK", str(grpc.StatusCode.FAILED_PRECONDITION)]
        member = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=CALL_TIMEOUT)
        (winner,) = [tid for tid, v in outcomes.items() if not isinstance(v, grpc.StatusCode)]
        assert {e.transaction_id for e in member.recent_entries} == {winner}
        assert svc.ledger.verify_balances() == []


# --------------------------------------------------------------------------- two processes


@pytest.fixture
def two_servers(rulesets: Path, pg_url: str, pg_engine, tmp_path: Path) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Two `promo serve` processes on different ports, both on the session's PostgreSQL database."""
    truncate(pg_engine, TABLES)
    add_caller(pg_engine, "test-till", "till", hash_token(TOKENS["till"]))
    with serve_processes(rulesets, pg_url, tmp_path, start_limit=START_LIMIT) as (targets, _):
        yield targets


class TestTwoProcesses:
    def test_concurrent_commits_for_one_member_lose_nothing(
        self, two_servers: list[str], pg_url: str
    ) -> None:
        """Two server processes commit 20 sales each for one member at once: every point and fen is there."""
        stubs = [pb_grpc.PromotionsStub(open_channel(t, TOKENS["till"])) for t in two_servers]
        stubs[0].EnrollMember(pb.EnrollMemberRequest(member_id="M1", tier="normal"), timeout=CALL_TIMEOUT)
        request = basket(qty=1000)
        quote = stubs[0].Evaluate(request, timeout=CALL_TIMEOUT)
        errors: list[BaseException] = []
        earned: list[int] = []  # list.append is atomic: the threads share it safely

        def till(k: int) -> None:
            try:
                for i in range(20):
                    req = pb.CommitRequest(
                        transaction_id=f"P{k}-{i}",
                        request=request,
                        displayed_payable_fen=quote.payable_fen,
                        ruleset_version=quote.ruleset.version,
                    )
                    earned.append(stubs[k].Commit(req, timeout=CALL_TIMEOUT).points_earned)
                    if i % 5 == 0:  # a retry through the other process posts nothing
                        assert stubs[1 - k].Commit(req, timeout=CALL_TIMEOUT).replayed
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=till, args=(k,)) for k in (0, 1)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert time.monotonic() - started < 60
        member = stubs[1].GetMember(pb.GetMemberRequest(member_id="M1"), timeout=CALL_TIMEOUT)
        assert len(earned) == 40 and member.points_balance == sum(earned)  # tiers upgrade on the way
        assert member.lifetime_spend_fen == 40 * quote.payable_fen
        engine = make_engine(pg_url)
        try:
            assert Ledger(make_sessionmaker(engine)).verify_balances() == []
        finally:
            engine.dispose()
