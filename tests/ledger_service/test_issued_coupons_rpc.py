"""Issued coupons through gRPC, on both databases: GetMember lists them with their value; a till
presents one by its code; another member's code is refused (not_owner) at Evaluate and Commit;
a coupon the programme issues is not a public code by its bare id."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import grpc
import pytest
from svc_support import CALL_TIMEOUT, RULESET, Svc, basket

import dsl
from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.results import CouponStatus
from server.wire.ledger import resolve_coupons

T = CALL_TIMEOUT
DAY48 = "2026-06-18T10:00:00+08:00"  # 48 days after svc_support's sales of 2026-05-01


def issue_winback(svc: Svc) -> str:
    """M1 bought on 2026-05-01; maintain for 2026-06-18 issues them C10; their code."""
    compiled = svc.registry.get(RULESET)
    issued = dsl.load(
        'ruleset "x" { issue C10 on day 48 without purchase, valid 14 days }\ncoupon C10 "c" { value 1.00 }',
        "x.rules",
    ).settings.issued
    settings = replace(compiled.ruleset.settings, issued=issued)
    report = svc.ledger.maintain(date(2026, 6, 18), settings, compiled.ruleset.tiers, RULESET)
    assert report.coupons_issued == (("C10@day48", 1),)
    got = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T)
    (coupon,) = got.coupons
    assert (coupon.coupon, coupon.label, coupon.value_fen, coupon.valid_from, coupon.valid_to) == (
        "C10",
        "10 off",
        1000,
        "2026-06-18",
        "2026-07-01",
    )
    assert (coupon.state, coupon.used, coupon.issued_by) == ("issued", False, "C10@day48")
    return coupon.code


def test_owner_presents_the_code_another_member_cannot(svc: Svc) -> None:
    svc.enroll("M1")
    svc.enroll("M2")
    svc.commit("T1", basket())
    code = issue_winback(svc)
    mine = svc.stub.Evaluate(basket(coupons=(code,), time=DAY48), timeout=T)
    theirs = svc.stub.Evaluate(basket(member="M2", coupons=(code,), time=DAY48), timeout=T)
    assert [(c.code, c.accepted, c.discount_fen) for c in mine.coupons] == [(code, True, 1000)]
    assert [(c.code, c.accepted, c.reason) for c in theirs.coupons] == [(code, False, "not_owner")]
    svc.commit("T2", basket(coupons=(code,), time=DAY48))
    (used,) = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T).coupons
    assert (used.state, used.used) == ("redeemed", True)


def test_commit_with_another_members_code_is_refused(svc: Svc) -> None:
    svc.enroll("M1")
    svc.enroll("M2")
    svc.commit("T1", basket())
    code = issue_winback(svc)
    request = basket(member="M2", coupons=(code,), time=DAY48)
    quote = svc.stub.Evaluate(basket(coupons=(code,), time=DAY48), timeout=T)  # as M1 was quoted
    with pytest.raises(grpc.RpcError) as info:
        svc.stub.Commit(
            pb.CommitRequest(
                transaction_id="T2",
                request=request,
                displayed_payable_fen=quote.payable_fen,
                ruleset_version=quote.ruleset.version,
            ),
            timeout=T,
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "not_owner" in info.value.details()
    (still,) = svc.stub.GetMember(pb.GetMemberRequest(member_id="M1"), timeout=T).coupons
    assert still.state == "issued"


def test_get_member_of_unknown_member_is_not_found(svc: Svc) -> None:
    with pytest.raises(grpc.RpcError) as info:
        svc.stub.GetMember(pb.GetMemberRequest(member_id="NOPE"), timeout=T)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_issued_only_coupon_is_no_public_code() -> None:
    unknown = CouponStatus("BACK48", None, None, None, None, None, None, "unknown")
    presented = resolve_coupons(["BACK48", "HY20"], {"BACK48": unknown}, "ruyi-health", {"BACK48"})
    assert [(c.code, c.engine_code, c.problem) for c in presented.coupons] == [
        ("BACK48", None, "unknown"),
        ("HY20", "HY20", None),
    ]
