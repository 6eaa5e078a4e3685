"""engine.ledger.returns: the pure arithmetic of tiers, returns, red-letter lines, expiry and balances."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.invoice.build import LineKind
from engine.invoice.tax import split_inclusive
from engine.ledger.balance import settle_balance
from engine.ledger.expiry import Lot, points_to_expire
from engine.ledger.returns import Returned, ReturnRefused, SoldLine, plan_return
from engine.ledger.tiers import inactivity_verdict, lower_tier, upgraded_tier
from engine.model import TaxRate
from engine.rules import Settings, Tier

TIERS = (
    Tier("normal", "普通", Fraction(1), 0),
    Tier("gold", "金卡", Fraction(3, 2), 1, upgrade_lifetime=100_000, upgrade_single_day=50_000),
    Tier("diamond", "钻石", Fraction(3), 2, upgrade_lifetime=500_000),
)


def sold(quantity=3000, amount=999, discount=100, points=7, rate="13%", line_id="1") -> SoldLine:
    net = amount - discount
    net_amount, net_tax = split_inclusive(net, TaxRate.parse(rate).rate)
    tax = TaxRate.parse(rate)
    return SoldLine(
        line_id, "水", "1" * 19, tax, "", "瓶", quantity, amount, discount, net, points, net_amount, net_tax
    )


class TestTiers:
    def test_lifetime_threshold(self):
        """Reaching the gold lifetime spend upgrades a normal member to gold."""
        assert upgraded_tier(TIERS, "normal", 100_000, 0) == "gold"

    def test_highest_met_threshold_wins(self):
        """A spend meeting both gold and diamond goes straight to diamond."""
        assert upgraded_tier(TIERS, "normal", 500_000, 0) == "diamond"

    def test_single_day_threshold(self):
        """A single-day spend alone can upgrade."""
        assert upgraded_tier(TIERS, "normal", 60_000, 50_000) == "gold"

    def test_below_thresholds_keeps_tier(self):
        """One fen short of every threshold changes nothing."""
        assert upgraded_tier(TIERS, "normal", 99_999, 49_999) == "normal"

    def test_never_downgrades(self):
        """A diamond member meeting only gold's threshold stays diamond."""
        assert upgraded_tier(TIERS, "diamond", 100_000, 0) == "diamond"

    def test_unknown_current_tier_is_kept(self):
        """A tier the ruleset no longer defines is left alone."""
        assert upgraded_tier(TIERS, "legacy", 900_000, 0) == "legacy"

    def test_lower_tier(self):
        """Downgrading goes one rank down, and nowhere from the lowest tier."""
        assert lower_tier(TIERS, "diamond") == "gold"
        assert lower_tier(TIERS, "normal") is None
        assert lower_tier(TIERS, "legacy") is None


class TestInactivity:
    def test_verdict_after_the_period(self):
        """A member inactive for the whole period gets the ruleset's action; a day less gets none."""
        s = Settings(inactivity_days=365, inactivity_action="terminate")
        assert inactivity_verdict(s, date(2025, 1, 1), date(2026, 1, 1)) == "terminate"
        assert inactivity_verdict(s, date(2025, 1, 2), date(2026, 1, 1)) is None

    def test_no_policy(self):
        """Without an inactivity policy nobody is ever judged inactive."""
        assert inactivity_verdict(Settings(), date(2000, 1, 1), date(2026, 1, 1)) is None


class TestSettleBalance:
    def test_clawback_beyond_balance_becomes_owed(self):
        """Clawing back more than the spendable balance leaves 0 spendable and the rest owed."""
        assert settle_balance(30, 0, -50) == (0, 20)

    def test_earning_pays_debt_first(self):
        """Points earned while owing first pay off the debt."""
        assert settle_balance(0, 20, 50) == (30, 0)
        assert settle_balance(0, 20, 5) == (0, 15)

    @given(st.integers(0, 10**6), st.integers(-(10**6), 10**6))
    def test_net_is_preserved(self, start, delta):
        """balance - owed always moves by exactly delta, and one of the two is zero."""
        balance, owed = settle_balance(start, 0, delta)
        assert balance - owed == start + delta and min(balance, owed) == 0 and balance >= 0


class TestPlanReturn:
    def test_full_return_takes_everything_back(self):
        """Returning every unit claws back the line's points and refunds its net exactly."""
        line = sold()
        plan = plan_return([line], {}, {"1": 3000})
        (lr,) = plan.lines
        assert lr.took == Returned(3000, 7, 899, 100, line.net_amount, line.net_tax)
        assert plan.completes_sale

    def test_partial_return_floors_points_and_rounds_money(self):
        """One of three units claws back floor(7/3) points and round-half-up(899/3) fen."""
        plan = plan_return([sold()], {}, {"1": 1000})
        assert plan.points == 2 and plan.refund == 300 and not plan.completes_sale
        assert plan.discount == 333 - 300

    def test_red_line_is_a_negated_normal_line(self):
        """The red-letter line is kind 0 with a negative quantity and the negated refund split."""
        (red,) = plan_return([sold()], {}, {"1": 1000}).red_lines
        assert red.kind is LineKind.NORMAL and red.quantity == -1000
        assert red.gross == -300 and red.amount + red.tax == -300
        assert (red.amount, red.tax) == tuple(-x for x in split_inclusive(300, Fraction(13, 100)))

    def test_no_red_lines_without_an_invoice(self):
        """A sale that issued no invoice gets no red-letter lines back."""
        assert plan_return([sold()], {}, {"1": 1000}, invoiced=False).red_lines == ()

    def test_more_than_sold_is_refused(self):
        """Asking for more units than are left raises ReturnRefused naming the line."""
        with pytest.raises(ReturnRefused, match="only 1000 of the 3000 sold are left") as err:
            plan_return([sold()], {"1": Returned(quantity=2000)}, {"1": 1001})
        assert err.value.reason == "exceeds_sold" and err.value.line_id == "1"

    def test_unknown_line_and_non_positive_quantity(self):
        """An unknown line id and a zero quantity are refused with their reasons."""
        with pytest.raises(ReturnRefused) as unknown:
            plan_return([sold()], {}, {"9": 1000})
        with pytest.raises(ReturnRefused) as zero:
            plan_return([sold()], {}, {"1": 0})
        assert (unknown.value.reason, zero.value.reason) == ("unknown_line", "not_positive")

    @settings(max_examples=300, deadline=None)
    @given(
        quantity=st.integers(1, 20_000),
        amount=st.integers(1, 10**7),
        share=st.fractions(0, 1),
        points=st.integers(0, 10**5),
        rate=st.sampled_from(["13%", "9%", "6%", "1.5%", "exempt"]),
        cuts=st.lists(st.integers(1, 20_000), max_size=6),
    )
    def test_returns_in_pieces_sum_to_the_line(self, quantity, amount, share, points, rate, cuts):
        """However the units are split over returns, the pieces sum exactly to the whole line."""
        discount = int(amount * share)
        line = sold(quantity, amount, discount, points, rate)
        before: dict[str, Returned] = {}
        total = Returned()
        red_gross = red_amount = red_tax = 0
        for cut in [*cuts, quantity]:
            left = quantity - before.get("1", Returned()).quantity
            if left == 0:
                break
            plan = plan_return([line], before, {"1": min(cut, left)})
            took = plan.lines[0].took
            assert took.points >= 0 and took.refund >= 0
            before["1"] = before.get("1", Returned()) + took
            total = total + took
            for red in plan.red_lines:
                red_gross, red_amount, red_tax = (
                    red_gross + red.gross,
                    red_amount + red.amount,
                    red_tax + red.tax,
                )
        assert total == Returned(quantity, points, line.net, discount, line.net_amount, line.net_tax)
        assert (red_gross, red_amount, red_tax) == (-line.net, -line.net_amount, -line.net_tax)


class TestExpiry:
    DUE = datetime(2026, 6, 1, tzinfo=UTC)

    def test_unspent_due_points_expire(self):
        """Points of a lot due by the day, not consumed by debits, expire."""
        lots = [Lot(100, datetime(2026, 5, 1, tzinfo=UTC)), Lot(50, datetime(2026, 7, 1, tzinfo=UTC))]
        assert points_to_expire(lots, 30, self.DUE) == 70

    def test_debits_consume_the_earliest_expiry_first(self):
        """Spending draws from the lot that expires first, so spent points never expire."""
        lots = [Lot(50, datetime(2026, 7, 1, tzinfo=UTC)), Lot(100, datetime(2026, 5, 1, tzinfo=UTC))]
        assert points_to_expire(lots, 120, self.DUE) == 0

    def test_non_expiring_lots_are_consumed_last(self):
        """An adjustment credit without expiry does not shield due points from expiring."""
        lots = [Lot(100, None), Lot(100, datetime(2026, 5, 1, tzinfo=UTC))]
        assert points_to_expire(lots, 40, self.DUE) == 60

    def test_previous_expiry_counts_as_debit(self):
        """Once an expiry entry took the due points, expiring again finds nothing."""
        lots = [Lot(100, datetime(2026, 5, 1, tzinfo=UTC))]
        assert points_to_expire(lots, 100, self.DUE) == 0
