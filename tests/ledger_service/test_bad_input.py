"""Bad input is a specific status naming the field, never INTERNAL, and changes nothing."""

from __future__ import annotations

import grpc
import pytest
from svc_support import CALL_TIMEOUT, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb

T = CALL_TIMEOUT
HUGE = 2**63 - 1


def _status(call, *args) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        call(*args, timeout=T)
    return info.value.code(), info.value.details()


def _unchanged(svc: Svc, balance: int) -> None:
    assert svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T).points_balance == balance
    assert svc.ledger.verify_balances() == []


class TestPointsBounds:
    @pytest.mark.parametrize("points", [HUGE, -HUGE, 2**62, 1_000_000_001])
    def test_adjust_points_near_2_63_is_refused_before_writing(self, svc: Svc, points: int) -> None:
        svc.enroll()
        req = pb.AdjustPointsRequest(member_id="M1", points=points, reason="r", request_id=f"a{points}")
        code, details = _status(svc.admin.AdjustPoints, req)
        assert (code, details.split(":")[0]) == (grpc.StatusCode.INVALID_ARGUMENT, "points")
        _unchanged(svc, 0)

    def test_two_adjustments_at_the_bound_still_sum_exactly(self, svc: Svc) -> None:
        svc.enroll()
        for k in range(2):
            svc.admin.AdjustPoints(
                pb.AdjustPointsRequest(member_id="M1", points=1_000_000_000, reason="r", request_id=f"b{k}"),
                timeout=T,
            )
        _unchanged(svc, 2_000_000_000)

    def test_admin_actions_record_the_caller_not_the_operator_field(self, svc: Svc) -> None:
        from sqlalchemy import select

        from server.storage.models import Adjustment

        svc.enroll()
        req = pb.AdjustPointsRequest(member_id="M1", points=5, reason="r", operator="anyone", request_id="c")
        svc.admin.AdjustPoints(req, timeout=T)
        with svc.ledger.sessions() as s:
            assert s.scalars(select(Adjustment.operator)).all() == ["test-admin"]

    def test_redeem_points_and_prices_are_bounded(self, svc: Svc) -> None:
        svc.enroll()
        code, details = _status(svc.stub.Evaluate, basket(redeem=HUGE))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("redeem_points:")
        code, details = _status(svc.stub.Evaluate, basket(price=HUGE))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("lines[0].unit_price_fen:")


class TestTexts:
    @pytest.mark.parametrize(("member_id", "field"), [("M\x001", "member_id"), ("M" * 65, "member_id")])
    def test_nul_and_long_ids_are_refused_on_both_databases(
        self, svc: Svc, member_id: str, field: str
    ) -> None:
        code, details = _status(
            svc.stub.EnrollMember, pb.EnrollMemberRequest(member_id=member_id, tier="normal")
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field}:")

    def test_a_nul_in_a_segment_or_reason(self, svc: Svc) -> None:
        req = pb.EnrollMemberRequest(member_id="M1", tier="normal", segment="a\x00b")
        assert _status(svc.stub.EnrollMember, req)[1].startswith("segment:")
        svc.enroll()
        adjust = pb.AdjustPointsRequest(member_id="M1", points=5, reason="x\x00", request_id="r")
        assert _status(svc.admin.AdjustPoints, adjust)[1].startswith("reason:")
        _unchanged(svc, 0)

    def test_too_many_coupon_codes_are_refused_quickly(self, svc: Svc) -> None:
        code, details = _status(svc.stub.Evaluate, basket(coupons=tuple(f"C{k}" for k in range(400_000))))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("coupon_codes:")

    def test_an_error_echoes_only_a_prefix_of_a_huge_bad_value(self, svc: Svc) -> None:
        code, details = _status(svc.stub.Evaluate, basket(time="x" * 1_000_000))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details.startswith("time:") and len(details) < 300 and "1000000 characters" in details


class TestTimes:
    @pytest.mark.parametrize(
        "time", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "0001-01-01T00:00:00Z"]
    )
    def test_far_times_are_invalid_argument(self, svc: Svc, time: str) -> None:
        code, details = _status(svc.stub.Evaluate, basket(member=None, time=time))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("time:")

    def test_a_far_birthday_is_invalid_argument(self, svc: Svc) -> None:
        req = pb.EnrollMemberRequest(member_id="M1", tier="normal", birthday="0001-01-01")
        assert _status(svc.stub.EnrollMember, req)[1].startswith("birthday:")

    def test_a_commit_dated_years_ahead_is_refused(self, svc: Svc) -> None:
        svc.enroll()
        request = basket(time="2036-05-01T10:00:00+08:00")
        quote = svc.stub.Evaluate(request, timeout=T)
        commit = pb.CommitRequest(
            transaction_id="T1",
            request=request,
            displayed_payable_fen=quote.payable_fen,
            ruleset_version=quote.ruleset.version,
        )
        code, details = _status(svc.stub.Commit, commit)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details.startswith("request.time:") and "ahead of the server's clock" in details
        member = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T)
        assert (member.last_purchase_at, member.lifetime_spend_fen) == ("", 0)


class TestTiers:
    def test_enrolling_in_a_tier_the_programme_lacks_is_refused(self, svc: Svc) -> None:
        code, details = _status(svc.stub.EnrollMember, pb.EnrollMemberRequest(member_id="M1", tier="glod"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details.startswith("tier:") and "did you mean 'gold'" in details
        assert (
            _status(svc.stub.GetMember, pb.GetMemberRequest(member_id="M1"))[0] == grpc.StatusCode.NOT_FOUND
        )

    def test_a_named_programme_is_checked(self, svc: Svc) -> None:
        req = pb.EnrollMemberRequest(member_id="M1", tier="gold", programme="svc-test")
        assert svc.stub.EnrollMember(req, timeout=T).tier == "gold"
        req = pb.EnrollMemberRequest(member_id="M2", tier="gold", programme="nope" * 100)
        code, details = _status(svc.stub.EnrollMember, req)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("programme:")
        assert "at most 64 characters (got 400)" in details and len(details) < 200  # not echoed whole


class TestSpentCoupon:
    def test_commit_with_a_coupon_spent_since_the_quote_names_it(self, svc: Svc) -> None:
        """The quote counted the coupon, another sale spent it: the refusal names code and reason."""
        svc.enroll()
        svc.ledger.issue_coupon("ONCE", "C10", "svc-test")
        request = basket(coupons=("ONCE",))
        quote = svc.stub.Evaluate(request, timeout=T)
        svc.commit("T1", basket(coupons=("ONCE",)))
        commit = pb.CommitRequest(
            transaction_id="T2",
            request=request,
            displayed_payable_fen=quote.payable_fen,
            ruleset_version=quote.ruleset.version,
        )
        code, details = _status(svc.stub.Commit, commit)
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert "'ONCE'" in details and "already_used" in details
        assert _status(svc.stub.Return, pb.ReturnRequest(transaction_id="T2", return_id="R", lines=[
            pb.ReturnLine(line_id="1", quantity_milli=1000)]))[0] == grpc.StatusCode.NOT_FOUND  # fmt: skip


class TestReadOnlyCommands:
    @pytest.mark.parametrize(
        "args",
        [
            ["audit", "verify", "--all"],
            ["audit", "export", "--from", "2026-05-01", "--to", "2026-05-02"],
        ],
    )
    def test_a_missing_sqlite_ledger_is_no_such_ledger(
        self, args: list[str], tmp_path, capsys: pytest.CaptureFixture[str]
    ) -> None:  # type: ignore[no-untyped-def]
        from server.cli.main import main

        missing = tmp_path / "nope.db"
        assert main([*args, "--db", f"sqlite:///{missing}"]) == 1
        assert "no such ledger" in capsys.readouterr().err
        assert not missing.exists()

    def test_audit_verify_reports_a_balance_that_drifted_from_its_entries(
        self, svc: Svc, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from sqlalchemy import update

        from server.cli.main import main
        from server.storage.models import Member

        svc.enroll()
        svc.admin.AdjustPoints(
            pb.AdjustPointsRequest(member_id="M1", points=7, reason="r", request_id="x"), timeout=T
        )
        assert main(["audit", "verify", "--all", "--db", svc.url]) == 0
        with svc.ledger.sessions() as s, s.begin():
            s.execute(update(Member).values(points_balance=9))
        assert main(["audit", "verify", "--all", "--db", svc.url]) == 1
        assert "member M1: balance 9 but its entries sum to 7" in capsys.readouterr().out
