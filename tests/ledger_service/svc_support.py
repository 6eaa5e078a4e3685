"""What the ledger service tests share: the test ruleset, basket builders and the running-server handle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rulesets.registry import RulesetRegistry
from server.storage.store import Ledger

CALL_TIMEOUT = 10.0
REPO_HEALTH = Path(__file__).resolve().parents[2] / "rulesets" / "health"  # a programme folder
TABLES = (
    "member_audit",
    "sale_usage",
    "usage_counters",
    "adjustments",
    "coupons",
    "points_entries",
    "returns",
    "sales",
    "members",
    "ruleset_sources",
    "callers",
    "published_versions",
)
RULESET = "svc-test"
TIME = "2026-05-01T10:00:00+08:00"

RULES = """
ruleset "svc-test" {
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1, rounding floor
  redeem 100 points per_yuan, cap 50%
  inactivity 365 days downgrade
  points_expire 30 days
}

tier normal  "普通" points x1.0
tier gold    "金卡" points x1.5 upgrade when lifetime_spend >= 1000.00
tier diamond "钻石" points x3.0 upgrade when lifetime_spend >= 5000.00

rule cat_a "A类 9折" {
  when item.category = "A"
  then item discount 9折
}

coupon C10 "10 off" {
  value 10.00
}

coupon PT5 "5 yuan for points" {
  value 5.00
  redeem_for 500 points
}

coupon FIRST "首单券" {
  value 10%, max 15.00
  when member.first_purchase
}

coupon BACK "回归券" {
  value 20.00
  when member.days_since_last_purchase >= 48 and member.order_count >= 1
}
"""


def basket(
    *,
    member: str | None = "M1",
    coupons: tuple[str, ...] = (),
    redeem: int = 0,
    price: int = 10000,
    qty: int = 2000,
    tier: str = "",
    time: str = TIME,
) -> pb.EvaluateRequest:
    """Two lines: an A-category line (10% off) and a plain one, each `qty` thousandths at `price` fen."""
    msg = pb.EvaluateRequest(ruleset=RULESET, time=time, coupon_codes=list(coupons), redeem_points=redeem)
    for line_id, category in (("1", "A"), ("2", "")):
        msg.lines.add(
            id=line_id,
            name=f"*日用品*goods {line_id}",
            category=category,
            unit_price_fen=price,
            quantity_milli=qty,
            tax_rate="13%",
            tax_code="1070223000000000000",
            unit="个",
        )
    if member is not None:
        msg.member.id = member
        if tier:
            msg.member.tier = tier
    return msg


@dataclass
class Svc:
    """A started in-process server with a ledger, and stubs for both services."""

    stub: pb_grpc.PromotionsStub
    admin: pb_grpc.AdminStub
    ledger: Ledger
    registry: RulesetRegistry
    target: str
    backend: str
    url: str

    def commit(
        self, tid: str, request: pb.EvaluateRequest, *, displayed: int | None = None
    ) -> pb.CommitReply:
        """Quote with Evaluate, then commit what was displayed (or ``displayed`` when given)."""
        quote = self.stub.Evaluate(request, timeout=CALL_TIMEOUT)
        return self.stub.Commit(
            pb.CommitRequest(
                transaction_id=tid,
                request=request,
                displayed_payable_fen=quote.payable_fen if displayed is None else displayed,
                ruleset_version=quote.ruleset.version,
            ),
            timeout=CALL_TIMEOUT,
        )

    def enroll(self, member_id: str = "M1", tier: str = "normal") -> pb.MemberReply:
        return self.stub.EnrollMember(
            pb.EnrollMemberRequest(member_id=member_id, tier=tier, join_date="2026-01-01"),
            timeout=CALL_TIMEOUT,
        )


def code_of(exc: grpc.RpcError) -> grpc.StatusCode:
    return exc.code()  # type: ignore[no-any-return]
