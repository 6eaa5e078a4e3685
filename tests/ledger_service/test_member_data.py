"""Members' data through the real gRPC stack on SQLite and PostgreSQL: UpdateMember (till or admin),
ChangeMemberTier and EraseMember (admin only, audited with who and why)."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select
from svc_support import CALL_TIMEOUT, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.storage.models import Member, MemberAudit, PointsEntry, Sale

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from auth_support import as_role

T = CALL_TIMEOUT


def _code(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=T)
    return info.value.code(), str(info.value.details())


def _get(svc: Svc, member_id: str) -> pb.MemberReply:
    return svc.stub.GetMember(pb.GetMemberRequest(member_id=member_id), timeout=T)


class TestUpdateMember:
    def test_only_the_fields_given_change(self, svc: Svc) -> None:
        svc.stub.EnrollMember(
            pb.EnrollMemberRequest(member_id="M1", tier="normal", tags=["a"], birthday="1990-01-02"),
            timeout=T,
        )
        reply = svc.stub.UpdateMember(pb.UpdateMemberRequest(member_id="M1", segment="vip"), timeout=T)
        assert (reply.segment, list(reply.tags), reply.birthday) == ("vip", ["a"], "1990-01-02")
        reply = svc.stub.UpdateMember(
            pb.UpdateMemberRequest(member_id="M1", set_tags=True, tags=["z", "b", "z"], birthday=""),
            timeout=T,
        )
        assert (reply.segment, list(reply.tags), reply.birthday) == ("vip", ["b", "z"], "")
        admin = pb_grpc.PromotionsStub(as_role(grpc.insecure_channel(svc.target), "admin"))
        assert admin.UpdateMember(pb.UpdateMemberRequest(member_id="M1", segment=""), timeout=T).segment == ""

    def test_bad_input_is_named_and_changes_nothing(self, svc: Svc) -> None:
        svc.enroll("M1")
        bad = pb.UpdateMemberRequest(member_id="M1", birthday="1990-13-01", segment="x")
        code, details = _code(svc.stub.UpdateMember, bad)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("birthday")
        code, details = _code(svc.stub.UpdateMember, pb.UpdateMemberRequest(member_id="M1", tags=["x"]))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("tags")
        code, _ = _code(svc.stub.UpdateMember, pb.UpdateMemberRequest(member_id="nobody", segment="x"))
        assert code == grpc.StatusCode.NOT_FOUND
        assert _get(svc, "M1").segment == ""


class TestTier:
    def test_admin_changes_the_tier_with_a_reason_and_it_is_recorded(self, svc: Svc) -> None:
        svc.enroll("M1")
        request = pb.ChangeMemberTierRequest(member_id="M1", tier="gold", reason="complaint 42")
        assert svc.admin.ChangeMemberTier(request, timeout=T).tier == "gold"
        with svc.ledger.sessions() as s:
            audit = s.scalars(select(MemberAudit)).one()
        assert (audit.member_id, audit.action, audit.detail, audit.reason, audit.operator) == (
            "M1",
            "tier",
            "normal -> gold",
            "complaint 42",
            "test-admin",
        )

    def test_refusals(self, svc: Svc) -> None:
        svc.enroll("M1")
        request = pb.ChangeMemberTierRequest(member_id="M1", tier="gold", reason="x")
        till_admin = pb_grpc.AdminStub(as_role(grpc.insecure_channel(svc.target), "till"))
        assert _code(till_admin.ChangeMemberTier, request)[0] == grpc.StatusCode.PERMISSION_DENIED
        code, details = _code(
            svc.admin.ChangeMemberTier, pb.ChangeMemberTierRequest(member_id="M1", tier="gold")
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("reason")
        bad_tier = pb.ChangeMemberTierRequest(member_id="M1", tier="platinum", reason="x")
        code, details = _code(svc.admin.ChangeMemberTier, bad_tier)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("tier")
        assert _get(svc, "M1").tier == "normal"


class TestErase:
    def test_erased_member_is_gone_but_the_amounts_stay(self, svc: Svc) -> None:
        svc.stub.EnrollMember(
            pb.EnrollMemberRequest(member_id="M1", tier="normal", birthday="1990-01-02", tags=["t"]),
            timeout=T,
        )
        svc.stub.EnrollMember(
            pb.EnrollMemberRequest(member_id="M2", tier="normal", referrer_id="M1"), timeout=T
        )
        svc.commit("T1", basket(member="M1"))
        before = _get(svc, "M1")
        till_admin = pb_grpc.AdminStub(as_role(grpc.insecure_channel(svc.target), "till"))
        request = pb.EraseMemberRequest(member_id="M1", reason="PIPL request 7")
        assert _code(till_admin.EraseMember, request)[0] == grpc.StatusCode.PERMISSION_DENIED
        anonymous = svc.admin.EraseMember(request, timeout=T).anonymous_id
        assert anonymous.startswith("erased-") and "M1" not in anonymous
        assert _code(svc.stub.GetMember, pb.GetMemberRequest(member_id="M1"))[0] == grpc.StatusCode.NOT_FOUND
        assert _code(svc.admin.EraseMember, request)[0] == grpc.StatusCode.NOT_FOUND
        after = _get(svc, anonymous)
        assert (after.points_balance, after.lifetime_spend_fen) == (
            before.points_balance,
            before.lifetime_spend_fen,
        )
        assert (after.birthday, list(after.tags), after.join_date) == ("", [], "")
        assert _get(svc, "M2").referrer_id == anonymous
        with svc.ledger.sessions() as s:
            assert (
                s.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.member_id == "M1"))
                == 0
            )
            sale = s.get(Sale, "T1")
            assert sale.member_id == anonymous and '"M1"' not in sale.request
            assert s.get(Member, "M1") is None
            assert s.scalars(select(MemberAudit.member_id)).all() == [anonymous]
        # The old id may be enrolled afresh: a new member with nothing.
        assert svc.enroll("M1").points_balance == 0
