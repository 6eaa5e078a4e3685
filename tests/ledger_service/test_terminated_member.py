"""A terminated member through the real gRPC stack, on SQLite and PostgreSQL: Evaluate, Commit and
RedeemPoints are FAILED_PRECONDITION naming the member and what to do; nothing is written; a retry
or a return of a sale made while active, and a staff adjustment, still go through."""

from __future__ import annotations

from datetime import date

import grpc
import pytest
from sqlalchemy import func, select, update
from svc_support import CALL_TIMEOUT, RULESET, Svc, basket

from engine.rules import Settings
from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.models import Coupon, Member, PointsEntry, Sale

T = CALL_TIMEOUT


def _refusal(call, request) -> str:  # type: ignore[no-untyped-def]
    """The details of the call's status, which must be FAILED_PRECONDITION for a terminated M1."""
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=T)
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION, info.value.details()
    details: str = info.value.details()
    assert details.startswith("member_id: member 'M1' was terminated"), details
    assert "enroll again" in details and "guest" in details
    return details


def terminate(svc: Svc, member_id: str = "M1") -> None:
    """What ``promo maintain`` does to an inactive member under a terminate policy."""
    with svc.ledger.sessions() as s, s.begin():
        s.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(status="terminated", version=Member.version + 1)
        )


def _gift(svc: Svc, points: int, request_id: str = "a1") -> pb.AdjustPointsReply:
    req = pb.AdjustPointsRequest(
        member_id="M1", points=points, reason="gift", operator="ops", request_id=request_id
    )
    return svc.admin.AdjustPoints(req, timeout=T)


def _ledger_state(svc: Svc) -> tuple:
    """What a refused call must leave as it was: the member, the rows written, the coupons' states."""
    m = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T)
    with svc.ledger.sessions() as s:
        counts = tuple(s.scalar(select(func.count()).select_from(t)) for t in (Sale, PointsEntry))
        coupons = tuple(s.execute(select(Coupon.code, Coupon.state).order_by(Coupon.code)).all())
    return (m.points_balance, m.lifetime_spend_fen, m.last_purchase_at, m.tier, m.status, counts, coupons)


def _commit_request(svc: Svc, tid: str, request: pb.EvaluateRequest) -> pb.CommitRequest:
    quote = svc.stub.Evaluate(request, timeout=T)
    return pb.CommitRequest(
        transaction_id=tid,
        request=request,
        displayed_payable_fen=quote.payable_fen,
        ruleset_version=quote.ruleset.version,
    )


class TestEvaluate:
    def test_terminated_member_is_not_priced_as_a_member(self, svc: Svc) -> None:
        """`promo maintain` terminated M1: Evaluate refuses them, inline tier or not; a guest is priced."""
        svc.stub.EnrollMember(
            pb.EnrollMemberRequest(member_id="M1", tier="gold", join_date="2024-01-01"), timeout=T
        )
        settings = Settings(inactivity_days=365, inactivity_action="terminate")
        tiers = svc.registry.get(RULESET).ruleset.tiers
        assert svc.ledger.maintain(date(2026, 1, 1), settings, tiers).terminated == ("M1",)
        _refusal(svc.stub.Evaluate, basket())
        _refusal(svc.stub.Evaluate, basket(tier="gold"))
        guest = svc.stub.Evaluate(basket(member=None), timeout=T)
        assert guest.payable_fen == 38000 and guest.points.earned == 0


class TestCommit:
    def test_commit_is_refused_and_writes_nothing(self, svc: Svc) -> None:
        """A sale quoted while active, committed after the termination: refused, every row as it was."""
        svc.enroll()
        _gift(svc, 1000)
        svc.ledger.issue_coupon("MINE", "C10", RULESET, owner_id="M1")
        req = _commit_request(svc, "T1", basket(coupons=("MINE",), redeem=500))
        terminate(svc)
        before = _ledger_state(svc)
        assert before == (1000, 0, "", "normal", "terminated", (0, 1), (("MINE", "issued"),))
        details = _refusal(svc.stub.Commit, req)
        assert "'M1'" in details
        assert _ledger_state(svc) == before

    def test_termination_racing_the_commit_is_caught_by_the_write(
        self, svc: Svc, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Terminated after Commit's pricing read saw M1 active: the guarded member UPDATE refuses it."""
        svc.enroll()
        svc.ledger.issue_coupon("MINE", "C10", RULESET, owner_id="M1")
        req = _commit_request(svc, "T1", basket(coupons=("MINE",)))
        write = svc.ledger.commit_sale

        def terminated_meanwhile(sale):  # type: ignore[no-untyped-def]
            terminate(svc)
            return write(sale)

        monkeypatch.setattr(svc.ledger, "commit_sale", terminated_meanwhile)
        _refusal(svc.stub.Commit, req)
        monkeypatch.undo()
        assert _ledger_state(svc) == (0, 0, "", "normal", "terminated", (0, 0), (("MINE", "issued"),))

    def test_retry_of_a_sale_committed_before_replays(self, svc: Svc) -> None:
        """The till's retry of a sale committed while active still gets its answer; a new sale does not."""
        svc.enroll()
        req = _commit_request(svc, "T1", basket())
        first = svc.stub.Commit(req, timeout=T)
        terminate(svc)
        again = svc.stub.Commit(req, timeout=T)
        assert (first.replayed, again.replayed) == (False, True)
        assert again.sale == first.sale and again.points_earned == first.points_earned == 380
        assert again.member_points_balance == 380
        req.transaction_id = "T2"
        _refusal(svc.stub.Commit, req)
        assert _ledger_state(svc)[5] == (1, 1)  # still only T1 and its earn entry


class TestAfterTheSale:
    def test_return_of_an_earlier_sale_claws_back(self, svc: Svc) -> None:
        """Returning a sale made while active claws its points back; the member stays terminated."""
        svc.enroll()
        sale = svc.commit("T1", basket())
        terminate(svc)
        req = pb.ReturnRequest(
            transaction_id="T1", return_id="R1", lines=[pb.ReturnLine(line_id="2", quantity_milli=2000)]
        )
        reply = svc.stub.Return(req, timeout=T)
        line2 = next(line for line in sale.sale.lines if line.line_id == "2")
        assert reply.points_clawed_back == line2.points == 200 and reply.refund_fen == 20000
        assert reply.member_points_balance == 380 - 200
        member = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T)
        assert (member.points_balance, member.lifetime_spend_fen, member.status) == (180, 18000, "terminated")

    def test_redeem_points_is_refused(self, svc: Svc) -> None:
        """A terminated member cannot buy a coupon with points: the balance and coupons stay as they were."""
        svc.enroll()
        _gift(svc, 600)
        svc.ledger.issue_coupon("MINE", "C10", RULESET, owner_id="M1")
        terminate(svc)
        before = _ledger_state(svc)
        req = pb.RedeemPointsRequest(member_id="M1", ruleset=RULESET, coupon_id="PT5", request_id="p1")
        _refusal(svc.stub.RedeemPoints, req)
        assert _ledger_state(svc) == before
        assert before[0] == 600 and before[6] == (("MINE", "issued"),)

    def test_adjust_points_still_posts(self, svc: Svc) -> None:
        """Staff may still correct a terminated member's points (audited); it does not reactivate them."""
        svc.enroll()
        _gift(svc, 600)
        terminate(svc)
        assert _gift(svc, 40, "a2").points_balance == 640
        assert _gift(svc, -640, "a3").points_balance == 0
        member = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1", recent_entries=5), timeout=T)
        assert member.status == "terminated" and [e.points for e in member.recent_entries] == [-640, 40, 600]
