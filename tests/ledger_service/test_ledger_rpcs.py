"""Every ledger RPC through the real gRPC stack, on SQLite and PostgreSQL: happy paths and error statuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import json_format
from sqlalchemy import select
from svc_support import CALL_TIMEOUT, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.models import Sale

T = CALL_TIMEOUT
PAYABLE = 38000  # 180.00 (A line, 9折) + 200.00


def _status(call, *args) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        call(*args, timeout=T)
    return info.value.code(), info.value.details()


class TestMembers:
    def test_enroll_then_get(self, svc: Svc) -> None:
        """An enrolled member reads back with a zero balance and their attributes."""
        svc.stub.EnrollMember(
            pb.EnrollMemberRequest(member_id="M1", tier="gold", birthday="1990-05-01", tags=["vip"]),
            timeout=T,
        )
        got = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T)
        assert (got.tier, got.birthday, list(got.tags), got.points_balance) == (
            "gold",
            "1990-05-01",
            ["vip"],
            0,
        )

    def test_enroll_again_same_is_fine_different_conflicts(self, svc: Svc) -> None:
        """Re-enrolling with the same data answers the same; other data is ALREADY_EXISTS."""
        svc.enroll("M1", "normal")
        assert svc.enroll("M1", "normal").tier == "normal"
        code, _ = _status(svc.stub.EnrollMember, pb.EnrollMemberRequest(member_id="M1", tier="gold"))
        assert code == grpc.StatusCode.ALREADY_EXISTS

    def test_bad_enrolment_is_invalid_argument(self, svc: Svc) -> None:
        """A missing tier or a bad date names the field."""
        code, details = _status(svc.stub.EnrollMember, pb.EnrollMemberRequest(member_id="M1"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("tier:")
        code, details = _status(
            svc.stub.EnrollMember,
            pb.EnrollMemberRequest(member_id="M1", tier="normal", birthday="1990-13-01"),
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("birthday:")

    def test_unknown_member_is_not_found(self, svc: Svc) -> None:
        """GetMember of an id never enrolled is NOT_FOUND naming member_id."""
        code, details = _status(svc.stub.GetMember, pb.GetMemberRequest(member_id="NOPE"))
        assert code == grpc.StatusCode.NOT_FOUND and details.startswith("member_id:")

    def test_recent_entries_after_a_sale(self, svc: Svc) -> None:
        """GetMember lists the sale's earn entry, newest first."""
        svc.enroll()
        svc.commit("T1", basket())
        got = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1", recent_entries=5), timeout=T)
        assert [(e.kind, e.points, e.transaction_id) for e in got.recent_entries] == [("earn", 380, "T1")]
        assert got.points_balance == 380 and got.lifetime_spend_fen == PAYABLE


class TestEvaluateByMember:
    def test_ledger_fills_the_member(self, svc: Svc) -> None:
        """A gold member given by id only earns at the gold rate and may redeem their ledger balance."""
        svc.enroll("G1", "gold")
        svc.admin.AdjustPoints(
            pb.AdjustPointsRequest(
                member_id="G1", points=1000, reason="welcome", operator="ops", request_id="a1"
            ),
            timeout=T,
        )
        reply = svc.stub.Evaluate(basket(member="G1", redeem=1000), timeout=T)
        assert reply.redemption.points == 1000
        assert reply.points.earned == (PAYABLE - 1000) * 3 // 200
        code, details = _status(svc.stub.Evaluate, basket(member="G1", redeem=2000))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "has 1000" in details  # the ledger's balance

    def test_unknown_member_id_is_not_found(self, svc: Svc) -> None:
        """A member id the ledger does not know, without inline attributes, is NOT_FOUND."""
        code, _ = _status(svc.stub.Evaluate, basket(member="NOPE"))
        assert code == grpc.StatusCode.NOT_FOUND

    def test_inline_attributes_still_work(self, svc: Svc) -> None:
        """A member not in the ledger but sent with a tier is priced with the inline attributes."""
        reply = svc.stub.Evaluate(basket(member="X9", tier="gold"), timeout=T)
        assert reply.points.earned == PAYABLE * 3 // 200

    def test_ledger_coupon_codes_resolve(self, svc: Svc) -> None:
        """An issued code prices as its definition; another member's code is rejected as not_owner."""
        svc.enroll("M1")
        svc.enroll("M2")
        svc.ledger.issue_coupon("CODE-A", "C10", "svc-test", owner_id="M1")
        svc.ledger.issue_coupon("CODE-B", "C10", "svc-test", owner_id="M2")
        reply = svc.stub.Evaluate(basket(coupons=("CODE-A", "CODE-B")), timeout=T)
        answers = {c.code: (c.accepted, c.reason) for c in reply.coupons}
        assert answers == {"CODE-A": (True, "accepted"), "CODE-B": (False, "not_owner")}
        assert reply.payable_fen == PAYABLE - 1000

    def test_public_codes_are_ruleset_coupon_ids(self, svc: Svc) -> None:
        """A code the ledger never issued is the ruleset's coupon id, as without a ledger."""
        svc.enroll()
        reply = svc.stub.Evaluate(basket(coupons=("C10",)), timeout=T)
        assert [(c.code, c.accepted) for c in reply.coupons] == [("C10", True)]

    def test_a_spent_code_is_already_used(self, svc: Svc) -> None:
        """After a commit spends a code, quoting it again says already_used (not an error)."""
        svc.enroll()
        svc.ledger.issue_coupon("ONCE", "C10", "svc-test")
        svc.commit("T1", basket(coupons=("ONCE",)))
        reply = svc.stub.Evaluate(basket(coupons=("ONCE",)), timeout=T)
        assert [(c.code, c.accepted, c.reason) for c in reply.coupons] == [("ONCE", False, "already_used")]


class TestCommit:
    def test_commit_posts_points_once(self, svc: Svc) -> None:
        """A commit posts the points; its retry replays the same reply and posts nothing."""
        svc.enroll()
        first = svc.commit("T1", basket())
        again = svc.commit("T1", basket())
        assert (first.replayed, again.replayed) == (False, True)
        assert first.sale == again.sale and first.points_earned == 380
        assert svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T).points_balance == 380

    def test_retry_of_a_coupon_sale_replays(self, svc: Svc) -> None:
        """A retried commit whose coupon it spent itself still gets the original answer."""
        svc.enroll()
        svc.ledger.issue_coupon("ONCE", "C10", "svc-test")
        request = basket(coupons=("ONCE",))
        quote = svc.stub.Evaluate(request, timeout=T)
        req = pb.CommitRequest(
            transaction_id="T1",
            request=request,
            displayed_payable_fen=quote.payable_fen,
            ruleset_version=quote.ruleset.version,
        )
        first = svc.stub.Commit(req, timeout=T)
        again = svc.stub.Commit(req, timeout=T)
        assert again.replayed and again.sale == first.sale and first.sale.payable_fen == PAYABLE - 1000

    def test_the_sale_row_keeps_the_reply_and_invoice_verbatim(self, svc: Svc) -> None:
        """The stored result and invoices are the reply's JSON, byte for byte, as finance reads them."""
        svc.enroll()
        svc.ledger.issue_coupon("ONCE", "C10", "svc-test")
        reply = svc.commit("T1", basket(coupons=("ONCE",)))
        with svc.ledger.sessions() as s:
            result, invoice = s.execute(select(Sale.result, Sale.invoice)).one()

        def compact(message) -> str:  # type: ignore[no-untyped-def]
            return json.dumps(json_format.MessageToDict(message), ensure_ascii=False, separators=(",", ":"))

        assert result == compact(reply.sale)
        assert invoice == "[" + ",".join(compact(i) for i in reply.sale.invoices) + "]"  # a list
        assert reply.sale.invoice.lines and "ONCE" in result

    def test_same_id_other_payload_is_already_exists(self, svc: Svc) -> None:
        """Reusing a transaction id for another basket is ALREADY_EXISTS."""
        svc.enroll()
        svc.commit("T1", basket())
        with pytest.raises(grpc.RpcError) as info:
            svc.commit("T1", basket(qty=1000))
        assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS

    def test_payable_mismatch_names_both_amounts(self, svc: Svc) -> None:
        """A displayed payable that re-pricing does not confirm is FAILED_PRECONDITION with both amounts."""
        svc.enroll()
        with pytest.raises(grpc.RpcError) as info:
            svc.commit("T1", basket(), displayed=37000)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "37000" in info.value.details() and str(PAYABLE) in info.value.details()
        assert svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T).points_balance == 0

    def test_the_quoted_version_is_required_and_must_be_kept(self, svc: Svc) -> None:
        """No ruleset_version is INVALID_ARGUMENT; a version never loaded is NOT_FOUND."""
        svc.enroll()
        req = pb.CommitRequest(transaction_id="T1", request=basket(), displayed_payable_fen=PAYABLE)
        code, details = _status(svc.stub.Commit, req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("ruleset_version:")
        req.ruleset_version = "000000000000"
        assert _status(svc.stub.Commit, req)[0] == grpc.StatusCode.NOT_FOUND

    def test_unknown_member_commit_is_not_found(self, svc: Svc) -> None:
        """Committing for a member the ledger does not know is NOT_FOUND even with inline attributes."""
        quote = svc.stub.Evaluate(basket(member="X9", tier="normal"), timeout=T)
        req = pb.CommitRequest(
            transaction_id="T1",
            request=basket(member="X9", tier="normal"),
            displayed_payable_fen=quote.payable_fen,
            ruleset_version=quote.ruleset.version,
        )
        assert _status(svc.stub.Commit, req)[0] == grpc.StatusCode.NOT_FOUND

    def test_guest_sale_commits_without_points(self, svc: Svc) -> None:
        """A guest sale is stored and earns nothing."""
        reply = svc.commit("G1", basket(member=None))
        assert reply.points_earned == 0 and not reply.HasField("member_points_balance")

    def test_points_redeemed_are_spent(self, svc: Svc) -> None:
        """Points redeemed at checkout leave the balance and earn on the rest."""
        svc.enroll()
        svc.admin.AdjustPoints(
            pb.AdjustPointsRequest(
                member_id="M1", points=500, reason="gift", operator="ops", request_id="a1"
            ),
            timeout=T,
        )
        reply = svc.commit("T1", basket(redeem=500))
        assert reply.points_redeemed == 500 and reply.member_points_balance == (PAYABLE - 500) // 100

    def test_lifetime_spend_upgrades_the_tier(self, svc: Svc) -> None:
        """Crossing the gold threshold in one commit upgrades the member and says from which tier."""
        svc.enroll()
        reply = svc.commit("T1", basket(qty=3000))  # 570.00 payable
        reply = svc.commit("T2", basket(qty=3000))
        assert (reply.member_tier, reply.upgraded_from) == ("gold", "normal")

    def test_without_a_ledger_commit_is_unimplemented(self, start_svc) -> None:  # type: ignore[no-untyped-def]
        """A server started without a database answers the ledger calls UNIMPLEMENTED."""
        bare = start_svc(None)
        req = pb.CommitRequest(transaction_id="T1", request=basket(), ruleset_version="x")
        assert _status(bare.stub.Commit, req)[0] == grpc.StatusCode.UNIMPLEMENTED
        assert bare.stub.Evaluate(basket(tier="normal"), timeout=T).payable_fen == PAYABLE


class TestReturn:
    def test_partial_return_claws_back_its_share(self, svc: Svc) -> None:
        """Returning half of line 2 claws back half its points and prints a red-letter line."""
        svc.enroll()
        sale = svc.commit("T1", basket())
        line2 = next(line for line in sale.sale.lines if line.line_id == "2")
        req = pb.ReturnRequest(
            transaction_id="T1", return_id="R1", lines=[pb.ReturnLine(line_id="2", quantity_milli=1000)]
        )
        reply = svc.stub.Return(req, timeout=T)
        assert reply.points_clawed_back == line2.points // 2 and reply.refund_fen == 10000
        assert [(r.quantity_milli, r.gross_fen) for r in reply.red_lines] == [(-1000, -10000)]
        assert reply.sale_state == "partly_returned"
        again = svc.stub.Return(req, timeout=T)
        assert again.replayed and again.points_clawed_back == reply.points_clawed_back
        assert again.member_points_balance == reply.member_points_balance

    def test_returning_more_than_sold_is_refused(self, svc: Svc) -> None:
        """More units than were sold is INVALID_ARGUMENT and changes nothing."""
        svc.enroll()
        svc.commit("T1", basket())
        req = pb.ReturnRequest(
            transaction_id="T1", return_id="R1", lines=[pb.ReturnLine(line_id="1", quantity_milli=3000)]
        )
        code, details = _status(svc.stub.Return, req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "only 2000" in details

    def test_unknown_sale_is_not_found(self, svc: Svc) -> None:
        """A return against a sale never committed is NOT_FOUND."""
        req = pb.ReturnRequest(
            transaction_id="NOPE", return_id="R1", lines=[pb.ReturnLine(line_id="1", quantity_milli=1)]
        )
        assert _status(svc.stub.Return, req)[0] == grpc.StatusCode.NOT_FOUND

    def test_a_line_listed_twice_is_invalid(self, svc: Svc) -> None:
        """The same line twice in one return names the second listing."""
        line = pb.ReturnLine(line_id="1", quantity_milli=1)
        req = pb.ReturnRequest(transaction_id="T1", return_id="R1", lines=[line, line])
        code, details = _status(svc.stub.Return, req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("lines[1].line_id:")


class TestRedeemPoints:
    def test_buy_a_coupon_then_spend_it(self, svc: Svc) -> None:
        """500 points buy a PT5 code owned by the member, which then takes 5.00 off a quote."""
        svc.enroll()
        svc.admin.AdjustPoints(
            pb.AdjustPointsRequest(
                member_id="M1", points=600, reason="gift", operator="ops", request_id="a1"
            ),
            timeout=T,
        )
        req = pb.RedeemPointsRequest(member_id="M1", ruleset="svc-test", coupon_id="PT5", request_id="p1")
        bought = svc.stub.RedeemPoints(req, timeout=T)
        assert (bought.points_spent, bought.points_balance, bought.replayed) == (500, 100, False)
        assert svc.stub.RedeemPoints(req, timeout=T).coupon_code == bought.coupon_code  # a retry replays
        now = datetime.now(UTC).isoformat()
        reply = svc.stub.Evaluate(basket(coupons=(bought.coupon_code,), time=now), timeout=T)
        assert reply.payable_fen == PAYABLE - 500
        before = svc.stub.Evaluate(basket(coupons=(bought.coupon_code,)), timeout=T)  # May: not yet issued
        assert [(c.accepted, c.reason) for c in before.coupons] == [(False, "expired")]

    def test_too_few_points_is_failed_precondition(self, svc: Svc) -> None:
        """Without 500 points nothing is spent and the call is FAILED_PRECONDITION."""
        svc.enroll()
        req = pb.RedeemPointsRequest(member_id="M1", ruleset="svc-test", coupon_id="PT5", request_id="p1")
        assert _status(svc.stub.RedeemPoints, req)[0] == grpc.StatusCode.FAILED_PRECONDITION

    def test_coupons_without_a_points_price(self, svc: Svc) -> None:
        """C10 cannot be bought (FAILED_PRECONDITION); an unknown coupon id is INVALID_ARGUMENT."""
        svc.enroll()
        req = pb.RedeemPointsRequest(member_id="M1", ruleset="svc-test", coupon_id="C10", request_id="p1")
        code, details = _status(svc.stub.RedeemPoints, req)
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "PT5" in details
        req.coupon_id = "NOPE"
        assert _status(svc.stub.RedeemPoints, req)[0] == grpc.StatusCode.INVALID_ARGUMENT


class TestAdmin:
    def test_adjust_is_audited_and_idempotent(self, svc: Svc) -> None:
        """An adjustment posts once per request id; a different payload under it is ALREADY_EXISTS."""
        svc.enroll()
        req = pb.AdjustPointsRequest(
            member_id="M1", points=50, reason="complaint", operator="ana", request_id="a1"
        )
        first = svc.admin.AdjustPoints(req, timeout=T)
        assert (first.points_balance, svc.admin.AdjustPoints(req, timeout=T).replayed) == (50, True)
        req.points = 60
        assert _status(svc.admin.AdjustPoints, req)[0] == grpc.StatusCode.ALREADY_EXISTS

    def test_bad_adjustments(self, svc: Svc) -> None:
        """No reason is INVALID_ARGUMENT, an overdraw FAILED_PRECONDITION, an unknown member NOT_FOUND."""
        svc.enroll()
        req = pb.AdjustPointsRequest(member_id="M1", points=5, operator="ana", request_id="a1")
        assert _status(svc.admin.AdjustPoints, req)[1].startswith("reason:")
        req.reason, req.points = "fix", -5
        assert _status(svc.admin.AdjustPoints, req)[0] == grpc.StatusCode.FAILED_PRECONDITION
        req.member_id = "NOPE"
        assert _status(svc.admin.AdjustPoints, req)[0] == grpc.StatusCode.NOT_FOUND

    def test_admin_lists_rulesets(self, svc: Svc) -> None:
        """Admin.ListRulesets answers like Promotions.ListRulesets."""
        admin = svc.admin.ListRulesets(pb.ListRulesetsRequest(), timeout=T)
        assert admin == svc.stub.ListRulesets(pb.ListRulesetsRequest(), timeout=T)
        assert [f.serving.name for f in admin.files] == ["svc-test"]
