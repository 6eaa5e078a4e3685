"""promo maintain's work: expiry FIFO by date, inactivity downgrades, idempotent per day."""

from __future__ import annotations

from datetime import date, datetime

from ledger_helpers import CST, enroll, line

from engine.rules import Settings


class TestMaintain:
    def test_expires_unspent_points_once(self, ledger, shop, compiled):
        """Points earned 30 days before expire on the day; a second run for that day changes nothing."""
        enroll(ledger)
        ledger.commit_sale(
            shop.sale("T1", (line("1", 10000, 1000),), at=datetime(2026, 5, 1, 10, tzinfo=CST))
        )
        ledger.commit_sale(
            shop.sale("T2", (line("1", 5000, 1000),), at=datetime(2026, 5, 20, 10, tzinfo=CST))
        )
        rs = compiled.ruleset
        early = ledger.maintain(date(2026, 5, 30), rs.settings, rs.tiers)
        assert early.expired_points == 0
        first = ledger.maintain(date(2026, 5, 31), rs.settings, rs.tiers)
        second = ledger.maintain(date(2026, 5, 31), rs.settings, rs.tiers)
        assert (first.expired_points, first.members_expired) == (100, 1)
        assert second.expired_points == 0
        member = ledger.get_member("M1")
        assert member.points_balance == 50
        assert [e.kind for e in member.recent].count("expire") == 1
        assert ledger.verify_balances() == []

    def test_spent_points_do_not_expire(self, ledger, shop, compiled):
        """Points spent before the expiry day are taken from the oldest lot, so only the rest expires."""
        enroll(ledger)
        ledger.commit_sale(
            shop.sale("T1", (line("1", 10000, 1000),), at=datetime(2026, 5, 1, 10, tzinfo=CST))
        )
        ledger.adjust_points("M1", -60, "spent", "ops", "k")
        report = ledger.maintain(date(2026, 6, 1), compiled.ruleset.settings, compiled.ruleset.tiers)
        assert report.expired_points == 40 and ledger.get_member("M1").points_balance == 0

    def test_inactive_member_drops_one_tier_per_period(self, ledger, compiled):
        """A gold member inactive for a year drops to normal once; the same day again does nothing."""
        enroll(ledger, "G", tier="gold", join_date=date(2025, 1, 1))
        enroll(ledger, "FRESH", tier="gold", join_date=date(2025, 6, 1))
        rs = compiled.ruleset
        first = ledger.maintain(date(2026, 1, 1), rs.settings, rs.tiers)
        second = ledger.maintain(date(2026, 1, 1), rs.settings, rs.tiers)
        assert first.downgraded == (("G", "gold", "normal"),)
        assert second.downgraded == ()
        assert ledger.get_member("G").tier == "normal" and ledger.get_member("FRESH").tier == "gold"

    def test_terminate_policy(self, ledger, compiled):
        """Under a terminate policy an inactive member is terminated, once."""
        enroll(ledger, "OLD", join_date=date(2024, 1, 1))
        settings = Settings(inactivity_days=365, inactivity_action="terminate")
        assert ledger.maintain(date(2026, 1, 1), settings, compiled.ruleset.tiers).terminated == ("OLD",)
        assert ledger.maintain(date(2026, 1, 1), settings, compiled.ruleset.tiers).terminated == ()
        assert ledger.get_member("OLD").status == "terminated"

    def test_recent_purchase_keeps_the_tier(self, ledger, shop, compiled):
        """A member who bought within the period keeps the tier."""
        enroll(ledger, tier="gold", join_date=date(2024, 1, 1))
        ledger.commit_sale(
            shop.sale("T1", (line("1", 100, 1000),), tier="gold", at=datetime(2025, 6, 1, 9, tzinfo=CST))
        )
        report = ledger.maintain(date(2026, 1, 1), compiled.ruleset.settings, compiled.ruleset.tiers)
        assert report.downgraded == () and ledger.get_member("M1").tier == "gold"

    def test_expires_coupons_past_their_validity(self, ledger, compiled):
        """Issued coupons whose last valid day has passed become expired."""
        ledger.issue_coupon("OLD", "C10", "ledger-test", valid_to=date(2026, 4, 30))
        ledger.issue_coupon("NEW", "C10", "ledger-test", valid_to=date(2026, 5, 30))
        report = ledger.maintain(date(2026, 5, 1), compiled.ruleset.settings, compiled.ruleset.tiers)
        assert report.coupons_expired == 1
        found = ledger.lookup_coupons(["OLD", "NEW"], member_id=None, on=date(2026, 5, 1))
        assert (found["OLD"].state, found["NEW"].state) == ("expired", "issued")
