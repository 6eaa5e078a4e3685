"""Generated calls, valid and not, to every RPC of a running server: never INTERNAL or UNKNOWN, and
after every call (refused or not) each member's balance equals the sum of their entries."""

from __future__ import annotations

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from svc_support import CALL_TIMEOUT, RULESET, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb

INT64 = 2**63 - 1
OURS = ("M1", "M2", "T1", "C10", "PT5", "1", "2", "normal", "gold", RULESET)

RPCS = ("Evaluate", "Ping", "Commit", "EnrollMember", "GetMember", "Return", "RedeemPoints", "AdjustPoints")

texts = st.one_of(
    st.sampled_from(OURS),
    st.text(max_size=8),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=80),
    st.just("a\x00b"),
    st.just("x" * 5000),
)
ints = st.one_of(
    st.integers(-3, 3000),
    st.sampled_from([INT64, -INT64 - 1, 2**62, 1_000_000_000, 1_000_000_001, -1]),
)
times = st.one_of(
    st.just("2026-05-01T10:00:00+08:00"),
    st.sampled_from(["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "2036-01-01T00:00:00Z"]),
    texts,
)


@st.composite
def evaluate_requests(draw: st.DrawFn) -> pb.EvaluateRequest:
    msg = basket(
        member=draw(st.one_of(st.none(), st.sampled_from(["M1", "M2"]), texts)),
        coupons=tuple(draw(st.lists(texts, max_size=3))),
        redeem=draw(ints) if draw(st.booleans()) else 0,
        price=draw(ints),
        qty=draw(ints),
        time=draw(times),
    )
    if draw(st.booleans()):
        msg.member.tier = draw(texts)
        msg.member.birthday = draw(texts)
    if draw(st.booleans()):
        msg.lines[0].id = draw(texts)
        msg.lines[1].tax_rate = draw(texts)
    if draw(st.booleans()):
        msg.ruleset = draw(texts)
    return msg


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, object]:
    kind = draw(
        st.sampled_from(
            [
                "Evaluate",
                "Ping",
                "Commit",
                "EnrollMember",
                "GetMember",
                "Return",
                "RedeemPoints",
                "AdjustPoints",
            ]
        )
    )
    if kind in ("Evaluate", "Ping"):
        return kind, draw(evaluate_requests())
    if kind == "Commit":
        return kind, pb.CommitRequest(
            transaction_id=draw(texts),
            request=draw(evaluate_requests()),
            displayed_payable_fen=draw(ints),
            ruleset_version=draw(st.one_of(st.just("LATEST"), texts)),
        )
    if kind == "EnrollMember":
        return kind, pb.EnrollMemberRequest(
            member_id=draw(texts), tier=draw(texts), birthday=draw(texts), segment=draw(texts),
            tags=draw(st.lists(texts, max_size=2)), programme=draw(st.one_of(st.just(""), texts)),
        )  # fmt: skip
    if kind == "GetMember":
        return kind, pb.GetMemberRequest(member_id=draw(texts), recent_entries=draw(ints) % 2**31)
    if kind == "Return":
        lines = [
            pb.ReturnLine(line_id=draw(texts), quantity_milli=draw(ints))
            for _ in range(draw(st.integers(0, 2)))
        ]
        return kind, pb.ReturnRequest(transaction_id=draw(texts), return_id=draw(texts), lines=lines)
    if kind == "RedeemPoints":
        return kind, pb.RedeemPointsRequest(
            member_id=draw(texts), ruleset=draw(texts), coupon_id=draw(texts), request_id=draw(texts)
        )
    return kind, pb.AdjustPointsRequest(
        member_id=draw(texts),
        points=draw(ints),
        reason=draw(texts),
        operator=draw(texts),
        request_id=draw(texts),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=calls())
def test_no_call_is_internal_and_balances_stay_exact(svc: Svc, call: tuple[str, object]) -> None:
    svc.enroll("M1") if not _exists(svc, "M1") else None
    kind, request = call
    if kind == "Commit" and request.ruleset_version == "LATEST":  # type: ignore[attr-defined]
        request.ruleset_version = svc.registry.get(RULESET).version  # type: ignore[attr-defined]
    stub = svc.admin if kind == "AdjustPoints" else svc.stub
    try:
        getattr(stub, kind)(request, timeout=CALL_TIMEOUT)
    except grpc.RpcError as exc:
        assert exc.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (kind, exc.details())
        assert len(exc.details()) < 2000
    assert svc.ledger.verify_balances() == []


def _exists(svc: Svc, member_id: str) -> bool:
    try:
        svc.stub.GetMember(pb.GetMemberRequest(member_id=member_id), timeout=CALL_TIMEOUT)
    except grpc.RpcError:
        return False
    return True


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["Evaluate", "Ping", "Commit", "EnrollMember", "GetMember", "Return"]),
       data=st.binary(max_size=40))  # fmt: skip
def test_random_bytes_are_never_internal(svc: Svc, method: str, data: bytes) -> None:
    from auth_support import TOKENS

    channel = grpc.insecure_channel(svc.target)
    try:
        call = channel.unary_unary(f"/promo.v1.Promotions/{method}")
        metadata = (("authorization", f"Bearer {TOKENS['till']}"),)
        try:
            call(data, timeout=CALL_TIMEOUT, metadata=metadata)
        except grpc.RpcError as exc:
            assert exc.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), exc.details()
    finally:
        channel.close()
