"""Referral through the real gRPC stack on SQLite and PostgreSQL: EnrollMember's referrer_id,
referral points on Commit (once, under a retried Commit), clawed back by Return, shown by GetMember."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine, func, select
from svc_support import CALL_TIMEOUT, RULES, RULESET, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.models import Member

T = CALL_TIMEOUT
REFERRAL = """  points_expire 30 days
  referral level 1 points 1 per 10.00
  referral level 1 points 50 at 300.00
  referral level 2 points 1 per 100.00
"""


@pytest.fixture
def svc(rulesets: Path, start_svc: Callable[..., Svc], backend: tuple[str, str, Engine]) -> Svc:
    """svc-test with the referral scheme, and the chain A <- B <- C enrolled."""
    (rulesets / "svc.rules").write_text(
        RULES.replace("  points_expire 30 days\n", REFERRAL), encoding="utf-8"
    )
    svc = start_svc(backend)
    for member, referrer in (("A", ""), ("B", "A"), ("C", "B")):
        _enroll(svc, member, referrer)
    return svc


def _enroll(svc: Svc, member_id: str, referrer: str, programme: str = "") -> pb.MemberReply:
    request = pb.EnrollMemberRequest(
        member_id=member_id, tier="normal", referrer_id=referrer, programme=programme
    )
    return svc.stub.EnrollMember(request, timeout=T)


def _member(svc: Svc, member_id: str) -> pb.MemberReply:
    return svc.stub.GetMember(pb.GetMemberRequest(member_id=member_id), timeout=T)


def _refused(svc: Svc, request: pb.EnrollMemberRequest, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.RpcError) as info:
        svc.stub.EnrollMember(request, timeout=T)
    assert info.value.code() == code, info.value.details()
    return str(info.value.details())


def test_commit_pays_both_levels_once_and_return_claws_back(svc: Svc) -> None:
    """C pays 380.00 (180.00 for line 1 after 10% off, 200.00 for line 2): B earns 38 + the 50 milestone,
    A earns 3. Returning line 2 (200.00) leaves 180.00 kept: B keeps 18 + 50, A keeps 1."""
    request = basket(member="C")
    first = svc.commit("T1", request)
    assert first.sale.payable_fen == 38000
    assert svc.commit("T1", request).replayed
    b, a = _member(svc, "B"), _member(svc, "A")
    assert (b.points_balance, b.referral_points, b.referrer_id) == (88, 88, "A")
    assert (a.points_balance, a.referral_points) == (3, 3)
    assert sorted(e.kind for e in b.recent_entries) == ["referral", "referral"]
    assert all(e.transaction_id == "T1" for e in b.recent_entries)
    ret = pb.ReturnRequest(
        transaction_id="T1", return_id="R1", lines=[pb.ReturnLine(line_id="2", quantity_milli=2000)]
    )
    svc.stub.Return(ret, timeout=T)
    svc.stub.Return(ret, timeout=T)  # a retry takes nothing more
    b, a = _member(svc, "B"), _member(svc, "A")
    assert (b.points_balance, b.referral_points) == (68, 68)
    assert (a.points_balance, a.referral_points) == (1, 1)
    assert _member(svc, "C").referral_points == 0


def test_bad_referrers_are_refused_naming_the_field(svc: Svc) -> None:
    details = _refused(
        svc,
        pb.EnrollMemberRequest(member_id="D", tier="normal", referrer_id="D"),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert details.startswith("referrer_id: ")
    request = pb.EnrollMemberRequest(member_id="D", tier="normal", referrer_id="nobody")
    assert _refused(svc, request, grpc.StatusCode.FAILED_PRECONDITION).startswith(
        "referrer_id: no such member"
    )
    request = pb.EnrollMemberRequest(member_id="A", tier="normal", referrer_id="C")  # C <- B <- A
    assert "cycle" in _refused(svc, request, grpc.StatusCode.FAILED_PRECONDITION)
    request = pb.EnrollMemberRequest(member_id="C", tier="normal", referrer_id="A")  # set once
    _refused(svc, request, grpc.StatusCode.ALREADY_EXISTS)
    with svc.ledger.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 3
        assert s.scalar(select(Member.referrer_id).where(Member.id == "A")) is None


def test_cross_programme_referral_is_refused(
    rulesets: Path, start_svc: Callable[..., Svc], backend: tuple[str, str, Engine]
) -> None:
    (rulesets / "other.rules").write_text(
        RULES.replace('ruleset "svc-test"', 'ruleset "other"'), encoding="utf-8"
    )
    svc = start_svc(backend)
    _enroll(svc, "X", "", "other")
    request = pb.EnrollMemberRequest(member_id="Y", tier="normal", referrer_id="X", programme=RULESET)
    details = _refused(svc, request, grpc.StatusCode.FAILED_PRECONDITION)
    assert details.startswith("referrer_id: ") and "'other'" in details
