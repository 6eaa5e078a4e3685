"""What the ledger service tests share: the test ruleset, basket builders and the running-server handle."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rulesets.registry import RulesetRegistry
from server.storage.store import Ledger

CALL_TIMEOUT = 10.0
REPO_HEALTH = Path(__file__).resolve().parents[2] / "rulesets" / "health"  # a programme folder
TABLES = (
    "segment_moves",
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
    log: io.StringIO = field(default_factory=io.StringIO)  # the server's JSON log lines

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


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_processes(
    rulesets: Path, db_url: str, logs_in: Path, count: int = 2, start_limit: float = 20.0
) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]]]]:
    """``count`` real `promo serve` processes on one ledger, ready to call: (targets, processes).

    Each logs to ``logs_in/serveK.log``; on exit they get SIGTERM, then SIGKILL if they linger.
    """
    procs: list[subprocess.Popen[bytes]] = []
    targets: list[str] = []
    logs = []
    for k in range(count):
        port = free_port()
        log = (logs_in / f"serve{k}.log").open("w")
        logs.append(log)
        cmd = [sys.executable, "-m", "server.cli.main", "serve", "--rulesets", str(rulesets), "--db", db_url]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--grace", "1"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True))
        targets.append(f"127.0.0.1:{port}")
    try:
        for target in targets:
            with grpc.insecure_channel(target) as channel:
                grpc.channel_ready_future(channel).result(timeout=start_limit)
        yield targets, procs
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        for log in logs:
            log.close()
