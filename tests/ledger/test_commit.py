"""Committing sales: points post once, coupons are spent once, tiers go up, failures leave nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from ledger_helpers import CST, enroll, line
from sqlalchemy import func, select

from server.storage import sales as sales_module
from server.storage.errors import (
    CouponUnavailable,
    IdempotencyConflict,
    InsufficientPoints,
    MemberNotFound,
)
from server.storage.models import Coupon, PointsEntry, Sale


def _count(ledger, model) -> int:
    with ledger.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


class TestCommit:
    def test_posts_earned_points_spend_and_entry(self, ledger, shop):
        """A member's sale adds its points and payable to the member, with one earn entry."""
        enroll(ledger)
        sale = shop.sale("T1", (line("1", 10000, 2000),))
        result = ledger.commit_sale(sale)
        member = ledger.get_member("M1")
        assert not result.replayed
        assert result.points_earned == 200 == member.points_balance
        assert member.lifetime_spend_fen == 20000
        assert member.last_purchase_at == sale.sold_at
        assert [(e.kind, e.points, e.transaction_id) for e in member.recent] == [("earn", 200, "T1")]
        assert member.recent[0].expires_at == datetime(2026, 5, 31, 10, tzinfo=CST)

    def test_retry_returns_original_and_changes_nothing(self, ledger, shop):
        """The same transaction id and request twice posts once and answers the original result."""
        enroll(ledger)
        sale = shop.sale("T1", (line("1", 10000, 1000),))
        first = ledger.commit_sale(sale)
        again = ledger.commit_sale(sale)
        assert again.replayed and again.result_json == first.result_json
        assert again.points_earned == first.points_earned
        assert ledger.get_member("M1").points_balance == 100
        assert _count(ledger, PointsEntry) == 1

    def test_same_id_different_payload_conflicts(self, ledger, shop):
        """Reusing a transaction id for another basket is an IdempotencyConflict, and nothing changes."""
        enroll(ledger)
        ledger.commit_sale(shop.sale("T1", (line("1", 10000, 1000),)))
        with pytest.raises(IdempotencyConflict, match="T1"):
            ledger.commit_sale(shop.sale("T1", (line("1", 20000, 1000),)))
        assert ledger.get_member("M1").points_balance == 100

    def test_guest_sale_is_stored_without_points(self, ledger, shop):
        """A guest's sale is kept for finance, earns nothing and touches no member."""
        result = ledger.commit_sale(shop.sale("G1", (line("1", 500, 1000),), member=None))
        assert result.points_earned == 0 and result.member_balance is None
        assert _count(ledger, Sale) == 1 and _count(ledger, PointsEntry) == 0

    def test_unknown_member_is_refused_and_nothing_stored(self, ledger, shop):
        """A commit for a member the ledger does not know raises MemberNotFound and stores no sale."""
        with pytest.raises(MemberNotFound):
            ledger.commit_sale(shop.sale("T1", (line("1", 500, 1000),), member="NOPE"))
        assert _count(ledger, Sale) == 0

    def test_redeemed_points_are_debited(self, ledger, shop):
        """Points spent at checkout are a redeem entry; the balance is earned minus redeemed."""
        enroll(ledger)
        ledger.adjust_points("M1", 1000, "welcome gift", "ops", "k1")
        sale = shop.sale("T1", (line("1", 10000, 1000),), balance=1000, redeem=500)
        assert sale.evaluation.redemption.points == 500
        result = ledger.commit_sale(sale)
        kinds = sorted((e.kind, e.points) for e in ledger.get_member("M1").recent)
        assert ("redeem", -500) in kinds
        assert result.member_balance == 1000 - 500 + result.points_earned

    def test_redeeming_more_than_the_balance_is_refused(self, ledger, shop):
        """A commit spending more points than the member has fails whole: no sale, no entries."""
        enroll(ledger)
        ledger.adjust_points("M1", 100, "gift", "ops", "k1")
        sale = shop.sale("T1", (line("1", 10000, 1000),), balance=1000, redeem=500)
        with pytest.raises(InsufficientPoints) as err:
            ledger.commit_sale(sale)
        assert err.value.balance == 100 and err.value.needed == 500
        assert _count(ledger, Sale) == 0 and ledger.get_member("M1").points_balance == 100


class TestTierUpgrade:
    def test_lifetime_threshold_upgrades(self, ledger, shop):
        """Crossing the gold lifetime spend in two sales upgrades the member on the second."""
        enroll(ledger)
        first = ledger.commit_sale(
            shop.sale("T1", (line("1", 40000, 1000),), at=datetime(2026, 5, 1, 10, tzinfo=CST))
        )
        second = ledger.commit_sale(
            shop.sale("T2", (line("1", 60000, 1000),), at=datetime(2026, 5, 9, 10, tzinfo=CST))
        )
        assert first.tier == "normal" and first.upgraded_from is None
        assert second.tier == "gold" and second.upgraded_from == "normal"
        assert ledger.get_member("M1").tier == "gold"

    def test_single_day_spend_counts_the_local_day(self, ledger, shop):
        """Two sales on one local day that together reach the day threshold upgrade the member."""
        enroll(ledger)
        ledger.commit_sale(shop.sale("T1", (line("1", 30000, 1000),), at=datetime(2026, 5, 1, 9, tzinfo=CST)))
        r = ledger.commit_sale(
            shop.sale("T2", (line("1", 20000, 1000),), at=datetime(2026, 5, 1, 21, tzinfo=CST))
        )
        assert r.tier == "gold"

    def test_spend_on_different_days_does_not_add_up(self, ledger, shop):
        """The single-day threshold ignores sales of other days."""
        enroll(ledger)
        ledger.commit_sale(shop.sale("T1", (line("1", 30000, 1000),), at=datetime(2026, 5, 1, 9, tzinfo=CST)))
        r = ledger.commit_sale(
            shop.sale("T2", (line("1", 20000, 1000),), at=datetime(2026, 5, 2, 9, tzinfo=CST))
        )
        assert r.tier == "normal"

    def test_never_downgrades(self, ledger, shop):
        """A diamond member's small sale leaves the tier alone."""
        enroll(ledger, tier="diamond")
        r = ledger.commit_sale(shop.sale("T1", (line("1", 100, 1000),), tier="diamond"))
        assert r.tier == "diamond" and r.upgraded_from is None


class TestCoupons:
    def test_coupon_is_spent_once(self, ledger, shop):
        """A coupon spent by one sale is already_used for the next, which then stores nothing."""
        enroll(ledger)
        ledger.issue_coupon("CP-1", "C10", "ledger-test")
        ledger.commit_sale(shop.sale("T1", (line("1", 5000, 1000),), coupons=(("CP-1", "C10"),)))
        with pytest.raises(CouponUnavailable) as err:
            ledger.commit_sale(shop.sale("T2", (line("1", 5000, 1000),), coupons=(("CP-1", "C10"),)))
        assert err.value.reason == "already_used" and err.value.code == "CP-1"
        assert _count(ledger, Sale) == 1
        assert ledger.get_member("M1").points_balance == 40  # only T1's points

    def test_retry_with_a_spent_coupon_replays(self, ledger, shop):
        """Retrying the sale that spent the coupon is a replay, not already_used."""
        enroll(ledger)
        ledger.issue_coupon("CP-1", "C10", "ledger-test")
        sale = shop.sale("T1", (line("1", 5000, 1000),), coupons=(("CP-1", "C10"),))
        ledger.commit_sale(sale)
        assert ledger.commit_sale(sale).replayed

    def test_lookup_reports_each_problem(self, ledger, shop):
        """Looking codes up names already_used, not_owner, expired and unknown before pricing."""
        enroll(ledger)
        enroll(ledger, "M2")
        ledger.issue_coupon("USED", "C10", "ledger-test")
        ledger.issue_coupon("MINE", "C10", "ledger-test", owner_id="M1")
        ledger.issue_coupon("THEIRS", "C10", "ledger-test", owner_id="M2")
        ledger.issue_coupon("OLD", "C10", "ledger-test", valid_to=date(2026, 4, 30))
        ledger.commit_sale(shop.sale("T1", (line("1", 5000, 1000),), coupons=(("USED", "C10"),)))
        found = ledger.lookup_coupons(
            ["USED", "MINE", "THEIRS", "OLD", "NOPE"], member_id="M1", on=date(2026, 5, 1)
        )
        assert {c: s.problem for c, s in found.items()} == {
            "USED": "already_used",
            "MINE": None,
            "THEIRS": "not_owner",
            "OLD": "expired",
            "NOPE": "unknown",
        }
        assert found["MINE"].definition_id == "C10"

    def test_other_members_coupon_cannot_be_spent(self, ledger, shop):
        """Committing with a coupon owned by someone else fails with not_owner and leaves it issued."""
        enroll(ledger)
        enroll(ledger, "M2")
        ledger.issue_coupon("THEIRS", "C10", "ledger-test", owner_id="M2")
        with pytest.raises(CouponUnavailable) as err:
            ledger.commit_sale(shop.sale("T1", (line("1", 5000, 1000),), coupons=(("THEIRS", "C10"),)))
        assert err.value.reason == "not_owner"
        with ledger.sessions() as s:
            assert s.get(Coupon, "THEIRS").state == "issued"

    def test_expired_coupon_cannot_be_spent(self, ledger, shop):
        """A coupon past its last valid day fails the commit with expired."""
        enroll(ledger)
        ledger.issue_coupon("OLD", "C10", "ledger-test", valid_to=date(2026, 4, 30))
        with pytest.raises(CouponUnavailable) as err:
            ledger.commit_sale(shop.sale("T1", (line("1", 5000, 1000),), coupons=(("OLD", "C10"),)))
        assert err.value.reason == "expired"


class TestAtomicity:
    def test_failure_half_way_leaves_nothing(self, ledger, shop, monkeypatch):
        """An exception after the sale, coupon and member writes rolls every one of them back."""
        enroll(ledger)
        ledger.issue_coupon("CP-1", "C10", "ledger-test")

        def explode(*args, **kwargs):
            raise RuntimeError("till lost power")

        monkeypatch.setattr(sales_module, "_upgrade", explode)
        sale = shop.sale("T1", (line("1", 5000, 1000),), coupons=(("CP-1", "C10"),))
        with pytest.raises(RuntimeError):
            ledger.commit_sale(sale)
        monkeypatch.undo()
        member = ledger.get_member("M1")
        assert (
            member.points_balance == 0 and member.lifetime_spend_fen == 0 and member.last_purchase_at is None
        )
        assert _count(ledger, Sale) == 0 and _count(ledger, PointsEntry) == 0
        assert ledger.lookup_coupons(["CP-1"], member_id="M1", on=date(2026, 5, 1))["CP-1"].problem is None
        assert not ledger.commit_sale(sale).replayed  # and the till's retry then goes through

    def test_guest_cannot_earn(self, ledger, shop):
        """A guest sale whose evaluation claims points is a bug upstream and is refused."""
        sale = shop.sale("T1", (line("1", 5000, 1000),))
        with pytest.raises(ValueError, match="guest"):
            ledger.commit_sale(replace(sale, member_id=None))
