"""Members belong to one programme, through the real gRPC stack on SQLite and PostgreSQL.

EnrollMember names (or, with one programme served, defaults to) the programme and checks the tier
against it; every call for a member names the member's programme, or it is FAILED_PRECONDITION
with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine, func, select
from svc_support import CALL_TIMEOUT, RULES, RULESET, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.models import Member, Sale

T = CALL_TIMEOUT
OTHER = "other-shop"


@pytest.fixture
def two(rulesets: Path, start_svc: Callable[..., Svc], backend: tuple[str, str, Engine]) -> Svc:
    """A server serving svc-test and a second programme (other-shop) over one ledger."""
    other = RULES.replace('ruleset "svc-test"', f'ruleset "{OTHER}"').replace("tier diamond", "tier vip")
    (rulesets / "other.rules").write_text(other, encoding="utf-8")
    return start_svc(backend)


def _enroll(svc: Svc, member_id: str, tier: str, programme: str = "") -> pb.MemberReply:
    return svc.stub.EnrollMember(
        pb.EnrollMemberRequest(member_id=member_id, tier=tier, programme=programme), timeout=T
    )


def _refused(call: Callable[..., object], request: object, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=T)
    assert info.value.code() == code, info.value.details()
    return str(info.value.details())


class TestEnroll:
    def test_one_programme_served_is_the_default(self, svc: Svc) -> None:
        reply = svc.enroll("M1")
        assert reply.programme == RULESET
        assert svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T).programme == RULESET

    def test_with_several_served_the_programme_is_required(self, two: Svc) -> None:
        details = _refused(
            two.stub.EnrollMember, pb.EnrollMemberRequest(member_id="M1", tier="normal"), _INVALID
        )
        assert details.startswith("programme: is required") and OTHER in details and RULESET in details
        assert _enroll(two, "M1", "vip", OTHER).programme == OTHER

    def test_an_unknown_programme_or_tier_is_refused_and_nothing_is_stored(self, two: Svc) -> None:
        request = pb.EnrollMemberRequest(member_id="M1", tier="normal", programme="nope")
        assert _refused(two.stub.EnrollMember, request, _INVALID).startswith("programme: no programme 'nope'")
        request = pb.EnrollMemberRequest(member_id="M1", tier="vip", programme=RULESET)
        details = _refused(two.stub.EnrollMember, request, _INVALID)
        assert details.startswith(f"tier: programme '{RULESET}' has no tier 'vip'"), details
        with two.ledger.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Member)) == 0

    def test_enrolling_again_in_another_programme_conflicts(self, two: Svc) -> None:
        _enroll(two, "M1", "normal", RULESET)
        assert _enroll(two, "M1", "normal", RULESET).programme == RULESET  # a retry replays
        request = pb.EnrollMemberRequest(member_id="M1", tier="normal", programme=OTHER)
        _refused(two.stub.EnrollMember, request, grpc.StatusCode.ALREADY_EXISTS)


class TestCallsNameTheMembersProgramme:
    def test_evaluate_commit_and_redeem_in_another_programme_are_refused(self, two: Svc) -> None:
        _enroll(two, "M1", "normal", OTHER)
        wrong = basket()  # names svc-test
        details = _refused(two.stub.Evaluate, wrong, _PRECONDITION)
        assert details == (
            f"member_id: member 'M1' belongs to programme '{OTHER}', not '{RULESET}': "
            "name the member's programme in `ruleset`"
        )
        version = two.registry.get(RULESET).version
        commit = pb.CommitRequest(
            transaction_id="T1", request=wrong, displayed_payable_fen=1, ruleset_version=version
        )
        _refused(two.stub.Commit, commit, _PRECONDITION)
        redeem = pb.RedeemPointsRequest(member_id="M1", ruleset=RULESET, coupon_id="PT5", request_id="R1")
        _refused(two.stub.RedeemPoints, redeem, _PRECONDITION)
        with two.ledger.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Sale)) == 0
        right = basket()
        right.ruleset = OTHER
        assert two.commit("T2", right).points_earned > 0

    def test_a_member_of_no_programme_is_told_how_to_be_placed(self, svc: Svc) -> None:
        svc.ledger.enroll_member("OLD", "normal")  # as migration 0013 leaves a member it cannot place
        details = _refused(svc.stub.Evaluate, basket(member="OLD"), _PRECONDITION)
        assert "belongs to no programme yet" in details
        assert f"promo db place --programme {RULESET} --member OLD" in details


_INVALID = grpc.StatusCode.INVALID_ARGUMENT
_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
