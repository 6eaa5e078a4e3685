"""Unit-level item effects (PRODUCT.md "More promotion forms"), worked by hand to the fen.

Every case runs through the compiled engine AND the reference interpreter: both must give
the hand-worked figures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

import dsl
from engine.compiled import compile_ruleset
from engine.model import Evaluation, FreeUnits, GiftAvailable, Line, Request, TaxRate
from engine.reference.interpreter import interpret

HEAD = 'ruleset "t" {\n  currency CNY\n  timezone "Asia/Shanghai"\n}\n'
AT = datetime(2026, 11, 14, 10, 0, tzinfo=UTC)
VAT = TaxRate(Fraction(13, 100))


def line(n: int, price: str, qty: str = "1", *, category: str = "A", sku: str = "") -> Line:
    fen = int(Fraction(price) * 100)
    return Line(
        str(n), f"item {n}", fen, int(Fraction(qty) * 1000), VAT, sku=sku or f"S{n}", category=category
    )


def run(rules: str, *lines: Line) -> Evaluation:
    ruleset = dsl.load(HEAD + rules, "t.rules")
    request = Request(tuple(lines), AT)
    compiled = compile_ruleset(ruleset).evaluate(request)
    assert compiled == interpret(ruleset, request)
    return compiled


def taken(e: Evaluation) -> list[list[tuple[str, int]]]:
    return [[(d.source, d.fen) for d in o.discounts] for o in e.lines]


BUY2GET1 = "rule b21 {\n  then buy 2 get 1 free\n}\n"


class TestBuyGet:
    def test_mixed_prices_the_cheapest_of_each_group_is_free(self) -> None:
        # units 50, 50 | 40 ; 30, 30, 30: walk 50 50 40 30 30 30 -> groups (50 50 40) (30 30 30)
        # the 40 and the last 30 are free: line 2 40.00, line 3 90.00 x 1/3 = 30.00
        e = run(BUY2GET1, line(1, "50.00", "2"), line(2, "40.00"), line(3, "30.00", "3"))
        assert taken(e) == [[], [("b21", 4000)], [("b21", 3000)]]
        assert e.free_units == ()

    def test_ties_go_to_the_earlier_line_so_the_later_one_is_free(self) -> None:
        # three units of 10.00 on three lines: walk line 1, 2, 3; the last (line 3) is free
        e = run(BUY2GET1, line(1, "10.00"), line(2, "10.00"), line(3, "10.00"))
        assert taken(e) == [[], [], [("b21", 1000)]]

    def test_max_times_keeps_the_first_groups_from_the_top(self) -> None:
        # 7 units of 20.00, 15.00 x3, 10.00 x3 -> walk 20 15 15 | 15 10 10 | 10: max 1 keeps group 1
        rules = "rule b {\n  then buy 2 get 1 free max 1 times\n}\n"
        e = run(rules, line(1, "20.00"), line(2, "15.00", "3"), line(3, "10.00", "3"))
        assert taken(e) == [[], [("b", 1500)], []]
        assert e.free_units == ()  # the cap is reached: nothing more is free

    def test_a_third_unit_is_offered_when_two_are_in_the_basket(self) -> None:
        # 买三赠一 with three in the basket: no group is complete, one more unit is free
        rules = "rule b31 {\n  then buy 3 get 1 free\n}\n"
        e = run(rules, line(1, "12.00", "3"))
        assert e.payable == 3600 and e.free_units == (FreeUnits("b31", 1),)
        # four: the group is complete, one of 12.00 free; nothing more offered
        e = run(rules, line(1, "12.00", "4"))
        assert taken(e) == [[("b31", 1200)]] and e.free_units == ()

    def test_rounding_is_per_line_on_the_sum_of_fractions(self) -> None:
        # 3 units on one line of 10.00 remaining after 9.5折 -> 28.50 left, unit 9.50: one free -> 9.50
        rules = "rule p {\n  priority 1\n  then item discount 9.5折\n}\n" + BUY2GET1
        e = run(rules, line(1, "10.00", "3"))
        assert taken(e) == [[("p", 150), ("b21", 950)]]
        # 10.01 x 3 = 30.03; one unit free = 30.03 / 3 = 10.01 exactly; 10.00 x 2 + 10.01: the 10.00 is free
        e = run(BUY2GET1, line(1, "10.01", "2"), line(2, "10.00"))
        assert taken(e) == [[], [("b21", 1000)]]

    def test_weighed_lines_take_part_only_with_whole_units(self) -> None:
        # 2.000 kg holds 2 units of 8.00 (with a 5.00 line: 8 8 5 -> the 5.00 free); 1.250 kg holds none
        e = run(BUY2GET1, line(1, "8.00", "2.000"), line(2, "5.00"), line(3, "9.00", "1.250"))
        assert taken(e) == [[], [("b21", 500)], []]


class TestEveryNth:
    def test_second_unit_half_price_across_lines(self) -> None:
        # walk 30 30 20 20 20: positions 2 and 4 -> line 1: 60.00 x 0.5 / 2 = 15.00;
        # line 2: 60.00 x 0.5 / 3 = 10.00
        rules = "rule half {\n  then every 2nd unit 5折\n}\n"
        e = run(rules, line(1, "30.00", "2"), line(2, "20.00", "3"))
        assert taken(e) == [[("half", 1500)], [("half", 1000)]]

    def test_max_times_counts_discounted_units_and_rounding_is_half_up(self) -> None:
        # 6 units of 3.33: positions 2,4,6 -> max 2 keeps 2: 19.98 x 2 x 0.3 / 6 = 1.998 -> 2.00
        rules = "rule n {\n  then every 2nd unit 7折 max 2 times\n}\n"
        e = run(rules, line(1, "3.33", "6"))
        assert taken(e) == [[("n", 200)]]


class TestUnitsFor:
    def test_any_three_for_99_apportioned_by_value(self) -> None:
        # walk 50 40 30 | 20: group value 120.00 > 99.00 -> 21.00 off, split 50:40:30 -> 8.75, 7.00, 5.25
        # largest remainder: 875 -> 875 fen... shares in fen: 2100 x 5/12 = 875, x 4/12 = 700, x 3/12 = 525
        rules = "rule a3 {\n  then any 3 for 99.00\n}\n"
        e = run(rules, line(1, "50.00"), line(2, "40.00"), line(3, "30.00"), line(4, "20.00"))
        assert taken(e) == [[("a3", 875)], [("a3", 700)], [("a3", 525)], []]
        assert e.payable == 9900 + 2000

    def test_a_group_worth_less_than_the_price_is_left_alone(self) -> None:
        rules = "rule a3 {\n  then any 3 for 99.00\n}\n"
        e = run(rules, line(1, "30.00", "3"))
        assert taken(e) == [[]]

    def test_thirds_of_a_fen_round_once_and_remainders_go_largest_first(self) -> None:
        # 10.00 x 1 + 10.01 x 3 (units of 10.01): walk 10.01 10.01 10.01 | 10.00; any 2 for 15.00
        # group 1: 20.02 -> 5.02 off, 251 each (line 2); group 2: 10.01 + 10.00 = 20.01 -> 5.01:
        # 501 x 1001/2001 = 250.62 -> 250, 501 x 1000/2001 = 250.37 -> 250;
        # 1 fen left -> the larger remainder (line 2)
        rules = "rule a2 {\n  then any 2 for 15.00\n}\n"
        e = run(rules, line(1, "10.00"), line(2, "10.01", "3"))
        assert taken(e) == [[("a2", 250)], [("a2", 251 + 251 + 251)]]

    def test_a_unit_worth_less_than_a_fen_carries_none_of_the_discount(self) -> None:
        # line 5: 3 units of 0.01 less 8折 (1 fen) = 2 fen, 2/3 fen a unit. walk 3, 1, 1, 1, 2/3 | 2/3 2/3
        # group 1: 6 2/3 - 4 = 2 2/3 -> 3 fen, carried by the units worth a whole fen (3, 1, 1, 1):
        # 3 x 3/6 = 1.5, 0.5 each -> 1, 0, 0, 0; 2 left by remainder (all 0.5), larger value first:
        # line 1 takes 2, line 2 takes 1. (Splitting over the 2/3-fen unit too gave line 3 a fen.)
        rules = 'rule d {\n  priority 1\n  when item.sku = "S5"\n  then item discount 8折\n}\n'
        rules += "rule a {\n  then any 5 for 0.04\n}\n"
        units = (line(1, "0.03"), line(2, "0.01"), line(3, "0.01"), line(4, "0.01"), line(5, "0.01", "3"))
        e = run(rules, *units)
        assert taken(e) == [[("a", 2)], [("a", 1)], [], [], [("d", 1)]]


class TestGift:
    RULES = 'rule g {\n  when subtotal() >= 300.00\n  then gift "GIFT-01" qty 2\n}\n'

    def test_gift_present_is_free_and_absent_is_offered(self) -> None:
        # 290.00 + one gift of 12.00 = 302.00 >= 300.00: the gift line is 100% off, one more available
        e = run(self.RULES, line(1, "290.00"), line(2, "12.00", sku="GIFT-01"))
        assert taken(e) == [[], [("g", 1200)]]
        assert e.gifts == (GiftAvailable("g", "GIFT-01", 1),)
        # without the gift: 300.00 meets the threshold, both units available
        e = run(self.RULES, line(1, "300.00"))
        assert e.gifts == (GiftAvailable("g", "GIFT-01", 2),) and e.discount == 0
        # below the threshold: nothing given, nothing listed
        e = run(self.RULES, line(1, "200.00"), line(2, "12.00", sku="GIFT-01"))
        assert e.discount == 0 and e.gifts == ()

    def test_highest_value_gift_units_first(self) -> None:
        # the gift SKU on two lines, 15.00 x 2 and 20.00 x 1: the 20.00 and one 15.00 are given
        e = run(
            self.RULES,
            line(1, "300.00"),
            line(2, "15.00", "2", sku="GIFT-01"),
            line(3, "20.00", sku="GIFT-01"),
        )
        assert taken(e) == [[], [("g", 1500)], [("g", 2000)]] and e.gifts == ()


class TestInterplay:
    def test_locked_lines_take_no_part_and_an_exclusive_unit_rule_locks(self) -> None:
        # x locks line 1 (exclusive 10%); b21 sees line 2 only: 3 x 10.00 -> one free, line 2 locked
        # then the 5% rule finds every line locked
        rules = (
            'rule x {\n  priority 9\n  exclusive\n  when item.category = "X"\n  then item discount 10%\n}\n'
            + "rule b21 {\n  priority 5\n  exclusive\n  then buy 2 get 1 free\n}\n"
            + "rule late {\n  then item discount 5%\n}\n"
        )
        e = run(rules, line(1, "50.00", "3", category="X"), line(2, "10.00", "3"))
        assert taken(e) == [[("x", 1500)], [("b21", 1000)]]

    def test_best_of_group_prices_the_unit_rule_alone_then_each_line_takes_its_largest(self) -> None:
        # b21 alone: walk 40 30 30 -> one 30.00 free on line 2 (60.00 x 1/2 = 30.00), line 1 nothing
        # p (20% off): line 1 8.00, line 2 12.00 -> line 1 takes p (8.00), line 2 takes b21 (30.00)
        rules = (
            'rule b21 {\n  group "best"\n  then buy 2 get 1 free\n}\n'
            + 'rule p {\n  group "best"\n  then item discount 8折\n}\n'
        )
        e = run(rules, line(1, "40.00"), line(2, "30.00", "2"))
        assert taken(e) == [[("p", 800)], [("b21", 3000)]]


@pytest.mark.parametrize("qty", ["1", "2", "5", "7"])
def test_offers_and_discounts_never_exceed_the_line(qty: str) -> None:
    rules = BUY2GET1 + "rule h {\n  then every 2nd unit 0折\n}\n" + "rule a {\n  then any 2 for 0.01\n}\n"
    e = run(rules, line(1, "0.03", qty), line(2, "1.00", qty))
    for outcome in e.lines:
        assert 0 <= outcome.net <= outcome.amount
