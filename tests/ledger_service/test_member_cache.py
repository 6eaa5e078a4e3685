"""Scans price with a cached member and coupons: this process's writes show at once, another's fail
Commit cleanly."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import Engine
from svc_support import CALL_TIMEOUT, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.coupon_cache import CouponCache
from server.storage.db import make_sessionmaker
from server.storage.member_cache import MemberCache
from server.storage.pricing import CouponRow
from server.storage.results import MemberView
from server.storage.store import Ledger

T = CALL_TIMEOUT


def _adjust(svc: Svc, points: int, request_id: str) -> None:
    svc.admin.AdjustPoints(
        pb.AdjustPointsRequest(
            member_id="M1", points=points, reason="gift", operator="ops", request_id=request_id
        ),
        timeout=T,
    )


class TestThisProcess:
    def test_a_scan_after_an_adjustment_sees_the_new_balance(self, svc: Svc) -> None:
        """The scan before the adjustment cached a 500 balance; the adjustment forgot it."""
        svc.enroll()
        _adjust(svc, 500, "a1")
        assert svc.stub.Evaluate(basket(redeem=500), timeout=T).redemption.points == 500
        _adjust(svc, 500, "a2")
        assert svc.stub.Evaluate(basket(redeem=1000), timeout=T).redemption.points == 1000

    def test_a_scan_after_a_commit_sees_the_upgrade(self, svc: Svc) -> None:
        """A commit that upgrades the member to gold: the next scan earns at the gold rate."""
        svc.enroll()
        before = svc.stub.Evaluate(basket(qty=3000), timeout=T).points.earned
        svc.commit("T1", basket(qty=3000))
        svc.commit("T2", basket(qty=3000))  # crosses 1000.00: gold
        after = svc.stub.Evaluate(basket(qty=3000), timeout=T).points.earned
        assert after * 2 == before * 3  # x1.5


class TestAnotherProcess:
    def test_a_stale_quote_fails_commit_cleanly_and_the_next_scan_is_fresh(
        self, svc: Svc, backend: tuple[str, str, Engine]
    ) -> None:
        """Another worker's debit is not seen by a cached scan; Commit re-reads and refuses the quote."""
        svc.enroll()
        _adjust(svc, 1000, "a1")
        assert svc.stub.Evaluate(basket(redeem=1000), timeout=T).redemption.points == 1000  # cached
        other = Ledger(make_sessionmaker(backend[2]))  # another process's ledger on the same database
        other.adjust_points("M1", -600, "correction", "ops", "elsewhere")
        stale = svc.stub.Evaluate(basket(redeem=1000), timeout=T)
        assert stale.redemption.points == 1000  # still the cached member: at most DEFAULT_TTL_S old
        commit = pb.CommitRequest(
            transaction_id="T1",
            request=basket(redeem=1000),
            displayed_payable_fen=stale.payable_fen,
            ruleset_version=stale.ruleset.version,
        )
        with pytest.raises(grpc.RpcError) as info:
            svc.stub.Commit(commit, timeout=T)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == "request.redeem_points: asks for 1000 points but the member has 400"
        assert other.get_member("M1").points_balance == 400  # nothing stored
        with pytest.raises(grpc.RpcError) as info:  # the commit's fresh read refreshed the cache
            svc.stub.Evaluate(basket(redeem=1000), timeout=T)
        assert info.value.details() == "redeem_points: asks for 1000 points but the member has 400"


def _view(member_id: str, balance: int) -> MemberView:
    return MemberView(member_id, "normal", None, frozenset(), "", None, 0, None, balance, 0, "active")


class TestMemberCache:
    def test_a_view_expires_after_the_ttl(self) -> None:
        now = [0.0]
        cache = MemberCache(ttl=5.0, timer=lambda: now[0])
        cache.put(_view("M1", 10), cache.generation())
        now[0] = 4.9
        assert cache.get("M1") == _view("M1", 10)
        now[0] = 5.1
        assert cache.get("M1") is None

    def test_a_read_that_raced_a_write_is_not_kept(self) -> None:
        """A read begun before a forget may predate the write: it is dropped, a later one is kept."""
        cache = MemberCache()
        before = cache.generation()
        cache.forget("M1")
        cache.put(_view("M1", 10), before)
        assert cache.get("M1") is None
        cache.put(_view("M1", 20), cache.generation())
        assert cache.get("M1") == _view("M1", 20)

    def test_forget_one_or_all(self) -> None:
        cache = MemberCache()
        for member_id in ("M1", "M2", "M3"):
            cache.put(_view(member_id, 1), cache.generation())
        cache.forget("M1")
        assert (cache.get("M1"), cache.get("M2") is not None) == (None, True)
        cache.forget()
        assert cache.get("M2") is None and cache.get("M3") is None


class TestCouponCache:
    def test_a_scan_after_this_process_spends_a_code_sees_it_used(self, svc: Svc) -> None:
        """The first scan caches the code as issued; the commit that spends it forgets it."""
        svc.enroll()
        svc.ledger.issue_coupon("ONCE", "C10", "svc-test")
        before = svc.stub.Evaluate(basket(coupons=("ONCE",)), timeout=T)
        assert [(c.code, c.accepted) for c in before.coupons] == [("ONCE", True)]
        svc.commit("T1", basket(coupons=("ONCE",)))
        after = svc.stub.Evaluate(basket(coupons=("ONCE",)), timeout=T)
        assert [(c.code, c.accepted, c.reason) for c in after.coupons] == [("ONCE", False, "already_used")]

    def test_a_code_issued_after_a_scan_found_it_unknown_is_seen(self, svc: Svc) -> None:
        """An unknown code is cached as unknown (a public code); issuing it forgets that."""
        svc.enroll()
        unknown = svc.stub.Evaluate(basket(coupons=("LATER",)), timeout=T)
        assert [(c.code, c.accepted, c.reason) for c in unknown.coupons] == [("LATER", False, "unknown")]
        svc.ledger.issue_coupon("LATER", "C10", "svc-test")
        issued = svc.stub.Evaluate(basket(coupons=("LATER",)), timeout=T)
        assert [(c.code, c.accepted) for c in issued.coupons] == [("LATER", True)]

    def test_rows_are_answered_only_when_every_code_is_known(self) -> None:
        cache = CouponCache()
        row = CouponRow("A", "C10", "svc-test", None, "issued", None, None)
        cache.keep_rows(("A", "B"), (row,), cache.generation())
        assert cache.rows(("A", "B")) == (row,)  # B: known to have no row (a public code)
        assert cache.rows(("A", "C")) is None  # C never read: the caller must read
        cache.forget("A")
        assert cache.rows(("A",)) is None
