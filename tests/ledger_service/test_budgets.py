"""Budgets, use limits and drafts through the real gRPC stack, on SQLite and PostgreSQL.

The programme: one campaign "flash" (30.00 off a basket of at least 100.00, at most once per member
per day, a money budget of 25.00 per day and 4 uses in all), a coupon with its own limit, and a
draft campaign that only a dry run applies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine, func, select
from svc_support import CALL_TIMEOUT, Svc

from server._pb.promo.v1 import promo_pb2 as pb
from server.storage import usage
from server.storage.models import Sale, SaleUsage

T = CALL_TIMEOUT
DAY1 = "2026-11-05T10:00:00+08:00"  # in the past: a commit dated ahead of the clock is refused
DAY2 = "2026-11-06T10:00:00+08:00"

PROGRAMME = """\
ruleset "shop" {
  currency CNY
  timezone "Asia/Shanghai"
}

tier normal "普通会员" points x1.0
"""

FLASH = """\
campaign "flash" {
  owner "li.wei", label "闪购 满100减10"
  budget 25.00 per day
  budget 4 uses
  status live
}

rule flash_10 "满100减10" {
  limit 1 per member per day
  when subtotal() >= 100.00
  then basket discount 10.00
}

coupon K5 "5元券" {
  value 5.00
  limit 1 per member per campaign
}
"""

DRAFT = """\
campaign "next-week" {
  label "下周 9折"
  status draft
}

rule next_week_10pct "全场9折" {
  then item discount 9折
}
"""


@pytest.fixture
def shop(rulesets: Path, start_svc: Callable[..., Svc], backend: tuple[str, str, Engine]) -> Svc:
    folder = rulesets / "shop"
    folder.mkdir()
    (folder / "programme.rules").write_text(PROGRAMME, encoding="utf-8")
    (folder / "flash.rules").write_text(FLASH, encoding="utf-8")
    (folder / "next-week.rules").write_text(DRAFT, encoding="utf-8")
    (rulesets / "svc.rules").unlink()
    svc = start_svc(backend)
    for member in ("M1", "M2", "M3", "M4", "M5"):
        svc.stub.EnrollMember(pb.EnrollMemberRequest(member_id=member, tier="normal"), timeout=T)
    return svc


def sale(member: str | None, at: str = DAY1, coupons: tuple[str, ...] = (), drafts: bool = False):  # type: ignore[no-untyped-def]
    msg = pb.EvaluateRequest(ruleset="shop", time=at, coupon_codes=list(coupons), drafts=drafts, explain=True)
    msg.lines.add(
        id="1",
        name="*日用品*goods",
        unit_price_fen=6000,
        quantity_milli=2000,
        tax_rate="13%",
        tax_code="1070223000000000000",
        unit="个",
    )
    if member:
        msg.member.id = member
    return msg


def notes(reply: pb.EvaluateReply) -> list[tuple[str, str, str]]:
    return [(n.source, n.kind, n.reason) for n in reply.usage_notes]


def used(svc: Svc) -> dict[str, int]:
    with svc.ledger.sessions() as s:  # a counter's stripes summed
        return {k.split("|", 1)[1]: used for k, (used, _) in usage.totals(s).items()}


class TestBudgetsAndLimits:
    def test_limits_skip_and_the_money_budget_caps(self, shop: Svc, tmp_path: Path) -> None:
        """One use per member per day; 25.00 a day: 10 + 10 + 5 (capped), then nothing; audit verify
        re-prices the capped sale within what was left then, from the stored programme bundle."""
        assert shop.commit("T1", sale("M1")).sale.discount_fen == 1000
        again = shop.stub.Evaluate(sale("M1"), timeout=T)
        assert again.discount_fen == 0
        assert notes(again) == [
            ("flash_10", "skipped", "rule 'flash_10' (limit 1 per member per day) is used up")
        ]
        assert shop.commit("T2", sale("M2")).sale.discount_fen == 1000
        third = shop.commit("T3", sale("M3")).sale
        assert third.discount_fen == 500
        assert notes(third) == [
            ("flash_10", "capped", "campaign 'flash' budget: 5.00 left of the 10.00 it would take")
        ]
        from server.cli.main import main

        empty = tmp_path / "no-rulesets"  # audit verify must use the stored sources (the bundle)
        empty.mkdir()
        assert main(["audit", "verify", "--all", "--db", shop.url, "--rulesets", str(empty)]) == 0
        fourth = shop.stub.Evaluate(sale("M4"), timeout=T)
        assert fourth.discount_fen == 0 and notes(fourth)[0][1] == "skipped"
        assert "campaign 'flash' (budget 25.00 per day) is used up" in notes(fourth)[0][2]
        assert used(shop) == {
            "fen|flash|2026-11-05": 2500,
            "uses|flash|all": 3,
            "limit|flash_10|M1|2026-11-05": 1,
            "limit|flash_10|M2|2026-11-05": 1,
            "limit|flash_10|M3|2026-11-05": 1,
        }
        # A new day: a new money budget and new per-member limits; the 4 uses are for the campaign.
        assert shop.commit("T4", sale("M4", DAY2)).sale.discount_fen == 1000
        guest = shop.stub.Evaluate(sale(None, DAY2), timeout=T)
        assert guest.discount_fen == 0
        assert "campaign 'flash' (budget 4 uses) is used up" in notes(guest)[0][2]

    def test_a_commit_that_would_overspend_fails_and_posts_nothing(self, shop: Svc) -> None:
        """Quoted 10.00 off, but two other tills spent the budget meanwhile: FAILED_PRECONDITION."""
        quote = shop.stub.Evaluate(sale("M5"), timeout=T)
        assert quote.discount_fen == 1000
        shop.commit("T1", sale("M1"))
        shop.commit("T2", sale("M2"))
        shop.commit("T3", sale("M3"))  # 5.00: the budget is spent
        before = used(shop)
        commit = pb.CommitRequest(
            transaction_id="T5",
            request=sale("M5"),
            displayed_payable_fen=quote.payable_fen,
            ruleset_version=quote.ruleset.version,
        )
        with pytest.raises(grpc.RpcError) as caught:
            shop.stub.Commit(commit, timeout=T)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert caught.value.details().startswith("rule 'flash_10' has not enough left for this sale")
        assert "campaign 'flash'" in caught.value.details()
        assert used(shop) == before
        with shop.ledger.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Sale).where(Sale.transaction_id == "T5")) == 0

    def test_a_coupon_limit_per_campaign(self, shop: Svc) -> None:
        """K5 once per member for the campaign's life: the second time it is rejected limit_reached."""
        shop.commit("T1", sale("M1", coupons=("K5",)))
        reply = shop.stub.Evaluate(sale("M1", DAY2, coupons=("K5",)), timeout=T)
        assert [(c.code, c.reason) for c in reply.coupons] == [("K5", "limit_reached")]
        assert ("coupon:K5", "skipped") in [(n[0], n[1]) for n in notes(reply)]

    def test_a_return_gives_back_the_returned_share(self, shop: Svc) -> None:
        """Half the units back: half the fen; the whole sale back: the uses too."""
        shop.commit("T1", sale("M1"))
        half = pb.ReturnRequest(
            transaction_id="T1", return_id="R1", lines=[pb.ReturnLine(line_id="1", quantity_milli=1000)]
        )
        shop.stub.Return(half, timeout=T)
        assert used(shop)["fen|flash|2026-11-05"] == 500
        assert used(shop)["uses|flash|all"] == 1
        rest = pb.ReturnRequest(
            transaction_id="T1", return_id="R2", lines=[pb.ReturnLine(line_id="1", quantity_milli=1000)]
        )
        shop.stub.Return(rest, timeout=T)
        assert used(shop) == {
            "fen|flash|2026-11-05": 0,
            "uses|flash|all": 0,
            "limit|flash_10|M1|2026-11-05": 0,
        }
        with shop.ledger.sessions() as s:
            assert s.scalar(select(func.sum(SaleUsage.returned))) == 1000 + 1 + 1
        assert shop.stub.Evaluate(sale("M1"), timeout=T).discount_fen == 1000  # usable again


class TestDrafts:
    def test_a_dry_run_applies_drafts_and_says_so_and_commit_never_does(self, shop: Svc) -> None:
        live = shop.stub.Evaluate(sale("M1"), timeout=T)
        dry = shop.stub.Evaluate(sale("M1", drafts=True), timeout=T)
        assert not live.drafts_applied and dry.drafts_applied
        assert dry.discount_fen == live.discount_fen + 1200  # 9折 of 120.00 first, then 10.00 off
        assert dry.ruleset.version == live.ruleset.version
        commit = pb.CommitRequest(
            transaction_id="T1",
            request=sale("M1", drafts=True),
            displayed_payable_fen=dry.payable_fen,
            ruleset_version=dry.ruleset.version,
        )
        with pytest.raises(grpc.RpcError) as caught:
            shop.stub.Commit(commit, timeout=T)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.details().startswith("request.drafts: must be false")


class TestCampaignStatus:
    def test_get_campaign_and_the_cli_show_used_and_left_per_period(
        self, shop: Svc, rulesets: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from server.cli.main import main

        shop.commit("T1", sale("M1"))
        shop.commit("T2", sale("M2", DAY2))
        reply = shop.admin.GetCampaign(
            pb.GetCampaignRequest(programme="shop", campaign="flash", date="2026-11-06"), timeout=T
        )
        assert (reply.owner, reply.status, reply.file) == ("li.wei", "live", "flash.rules")
        assert [(b.kind, b.period_key, b.cap, b.used, b.left) for b in reply.budgets] == [
            ("fen", "2026-11-06", 2500, 1000, 1500),
            ("fen", "2026-11-05", 2500, 1000, 1500),
            ("uses", "all", 4, 2, 2),
        ]
        with pytest.raises(grpc.RpcError) as caught:
            shop.admin.GetCampaign(pb.GetCampaignRequest(programme="shop", campaign="nope"), timeout=T)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert caught.value.details().startswith("campaign: programme 'shop' has no campaign 'nope'")
        args = ["campaign", "status", "--programme", "shop", "--campaign", "flash", "--date", "2026-11-07"]
        assert main([*args, "--db", shop.url, "--rulesets", str(rulesets)]) == 0
        out = capsys.readouterr().out
        assert "fen  2026-11-07  used       0.00  left      25.00  of 25.00" in out
        assert "uses all         used          2  left          2  of 4" in out
