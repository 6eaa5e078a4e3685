"""Hand-computed checks of the reference interpreter on small rulesets built directly in IR.

Every expected number is worked out in a comment next to it, so a failure says
either the interpreter or our reading of PRODUCT.md is wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime, time, timedelta, timezone
from fractions import Fraction

import pytest

from engine.errors import InvalidRequest
from engine.model import (
    Bonus,
    CouponOutcome,
    Discount,
    Evaluation,
    Line,
    Member,
    Multiplier,
    Redemption,
    Request,
    TaxRate,
)
from engine.reference.interpreter import interpret
from engine.reference.share import apportion_fen, share_points
from engine.rules import (
    Aggregate,
    AmountOff,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BonusPoints,
    Compare,
    Const,
    Coupon,
    Field,
    In,
    IsBirthday,
    MemberPrice,
    NoPoints,
    Not,
    Or,
    PercentOff,
    PointsMultiplier,
    Rule,
    Ruleset,
    Settings,
    TableDiscount,
    Tier,
    Validity,
)

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI)  # a Sunday, the 15th
TIERS = (
    Tier("normal", "普通会员", Fraction(1), 0),
    Tier("gold", "金卡", Fraction(3, 2), 1),
    Tier("diamond", "钻石卡", Fraction(3), 2),
)
GOLD = Member(tier="gold", id="m1")


def ruleset(*rules: Rule, coupons: tuple[Coupon, ...] = (), no_points=(), **settings) -> Ruleset:
    """A ruleset whose rules and coupons take their file order from their position."""
    return Ruleset(
        name="t",
        settings=Settings(**settings),
        tiers=TIERS,
        rules=tuple(dataclasses.replace(r, order=i) for i, r in enumerate(rules)),
        no_points=tuple(no_points),
        coupons=tuple(dataclasses.replace(c, order=i) for i, c in enumerate(coupons)),
        source_text="ruleset t {}\n",
    )


def rule(rid: str, effect, when=None, **kw) -> Rule:
    return Rule(id=rid, label=rid, effect=effect, condition=when, **kw)


def line(lid: str, price: int, qty: int = 1000, category: str = "", **kw) -> Line:
    return Line(
        id=lid,
        name=lid,
        unit_price=price,
        quantity=qty,
        tax=TaxRate(Fraction(13, 100)),
        category=category,
        **kw,
    )


def request(*lines: Line, member: Member | None = None, at: datetime = AT, **kw) -> Request:
    return Request(lines=tuple(lines), at=at, member=member, **kw)


def cat_is(value: str) -> Compare:
    return Compare("=", Field("item.category"), Const(value, "text"))


def pct(n: int, d: int = 100) -> PercentOff:
    return PercentOff(Fraction(n, d))


def taken(ev: Evaluation) -> list[list[tuple[str, int]]]:
    """Each line's discounts as (source, fen), in the order applied."""
    return [[(d.source, d.fen) for d in lo.discounts] for lo in ev.lines]


class TestItemStacking:
    def test_discounts_apply_one_after_another_on_what_is_left(self):
        """A percent then a per-unit amount, each on the remaining amount, listed in order."""
        rs = ruleset(rule("ten", pct(10)), rule("three_each", AmountOff(300)))
        ev = interpret(rs, request(line("L1", 5000, 2000)))
        # amount 50.00 x 2 = 10000; 10% of 10000 = 1000; then 3.00 x 2 = 600; net 8400
        assert taken(ev) == [[("ten", 1000), ("three_each", 600)]]
        assert (ev.subtotal, ev.discount, ev.payable) == (10000, 1600, 8400)
        assert ev.lines[0].net == 8400

    def test_priority_runs_first_then_file_order(self):
        """A higher priority rule runs before an earlier-written one and changes its base."""
        rs = ruleset(rule("ten", pct(10)), rule("three_each", AmountOff(300), priority=1))
        ev = interpret(rs, request(line("L1", 5000, 2000)))
        # 600 first; then 10% of 9400 = 940
        assert taken(ev) == [[("three_each", 600), ("ten", 940)]]

    def test_percent_off_rounds_half_up(self):
        """9.5折 of 1.10 is 5.5 fen, rounded half up to 6."""
        ev = interpret(ruleset(rule("r", pct(5))), request(line("L1", 110)))
        assert taken(ev) == [[("r", 6)]]

    def test_member_price_lowers_the_line_only_when_lower(self):
        """Member price 80.00 on 1.5 units of 100.00 takes 150.00 - 120.00; a higher one takes nothing."""
        rs = ruleset(rule("mp", MemberPrice(8000)), rule("mp_high", MemberPrice(20000)))
        ev = interpret(rs, request(line("L1", 10000, 1500)))
        # amount 15000; target 8000 x 1.5 = 12000 -> 3000 off; then target 30000 > 12000 left -> nothing
        assert taken(ev) == [[("mp", 3000)]]

    def test_amount_off_is_capped_at_what_is_left(self):
        """200.00 off a 100.00 line takes the whole 100.00 and nothing is listed after it."""
        rs = ruleset(rule("big", AmountOff(20000)), rule("more", pct(10)))
        ev = interpret(rs, request(line("L1", 10000)))
        assert taken(ev) == [[("big", 10000)]]
        assert ev.payable == 0

    def test_condition_picks_lines(self):
        """An item rule with a condition discounts only the lines matching it."""
        rs = ruleset(rule("a5", pct(5), when=cat_is("A")))
        ev = interpret(rs, request(line("L1", 10000, category="A"), line("L2", 10000, category="B")))
        assert taken(ev) == [[("a5", 500)], []]

    def test_table_discount_looks_up_tier_and_category(self):
        """A tier x category grid: gold x 服装 is 9折, a missing cell is no discount, a guest gets none."""
        grid = TableDiscount(
            (Field("member.tier"), Field("item.category")),
            {("gold", "服装"): Fraction(1, 10), ("diamond", "服装"): Fraction(3, 20)},
        )
        rs = ruleset(rule("card", grid))
        lines = (line("L1", 9999, category="服装"), line("L2", 5000, category="家电"))
        ev = interpret(rs, request(*lines, member=GOLD))
        # 10% of 9999 = 999.9 -> 1000; 家电 has no gold cell
        assert taken(ev) == [[("card", 1000)], []]
        assert taken(interpret(rs, request(*lines))) == [[], []]

    def test_fixed_amount_on_weighed_goods_rounds_half_up(self):
        """1.00 off per kg on 0.505 kg is 50.5 fen -> 51, capped at the 50 fen line."""
        # amount: 0.99 x 0.505 = 49.995 -> 50 fen
        ev = interpret(ruleset(rule("kg", AmountOff(100))), request(line("L1", 99, 505)))
        assert ev.lines[0].amount == 50
        assert taken(ev) == [[("kg", 50)]]

    def test_member_price_on_weighed_goods(self):
        """Member price 0.89 on 0.505 kg is 44.945 -> 45 fen: 5 fen off a 50 fen line."""
        ev = interpret(ruleset(rule("mp", MemberPrice(89))), request(line("L1", 99, 505)))
        assert taken(ev) == [[("mp", 5)]]

    def test_weighed_line_amount(self):
        """12.80 x 1.250 kg = 16.00; 3.33 x 0.150 = 0.4995 -> 0.50."""
        ev = interpret(ruleset(), request(line("L1", 1280, 1250), line("L2", 333, 150)))
        assert [lo.amount for lo in ev.lines] == [1600, 50]
        assert ev.subtotal == 1650


class TestBestOf:
    def test_largest_discount_wins(self):
        """Of 20% and 10.00 off a 100.00 line, only the 20% is taken."""
        rs = ruleset(rule("p20", pct(20), group="g"), rule("a10", AmountOff(1000), group="g"))
        ev = interpret(rs, request(line("L1", 10000)))
        assert taken(ev) == [[("p20", 2000)]]

    def test_tie_goes_to_the_first_in_stage_order(self):
        """10% and 10.00 off 100.00 both take 1000; the one first in stage order wins."""
        first = ruleset(rule("p10", pct(10), group="g"), rule("a10", AmountOff(1000), group="g"))
        assert taken(interpret(first, request(line("L1", 10000)))) == [[("p10", 1000)]]
        by_priority = ruleset(
            rule("p10", pct(10), group="g"), rule("a10", AmountOff(1000), group="g", priority=3)
        )
        assert taken(interpret(by_priority, request(line("L1", 10000)))) == [[("a10", 1000)]]

    def test_group_acts_at_its_first_members_position(self):
        """Members are priced before a rule written between them, on the same remaining amount."""
        rs = ruleset(
            rule("a", pct(10), group="g"),
            rule("half", pct(50)),
            rule("b", AmountOff(1500), group="g"),
        )
        ev = interpret(rs, request(line("L1", 10000)))
        # group first: a = 1000, b = 1500 -> b; then half of 8500 = 4250
        assert taken(ev) == [[("b", 1500), ("half", 4250)]]

    def test_each_line_picks_its_own_winner(self):
        """The contest is per line: the category rule wins where it matches, the other elsewhere."""
        rs = ruleset(rule("all5", pct(5), group="g"), rule("a20", pct(20), group="g", when=cat_is("A")))
        ev = interpret(rs, request(line("L1", 1000, category="A"), line("L2", 1000, category="B")))
        assert taken(ev) == [[("a20", 200)], [("all5", 50)]]

    def test_basket_ladder_as_group_takes_the_largest_step(self):
        """满100减10 and 满200减30 in one group on 250.00: only the 30 applies."""
        rs = ruleset(
            rule(
                "s100",
                BasketOff(1000),
                when=Compare(">=", Aggregate("subtotal"), Const(10000, "money")),
                group="m",
            ),
            rule(
                "s200",
                BasketOff(3000),
                when=Compare(">=", Aggregate("subtotal"), Const(20000, "money")),
                group="m",
            ),
        )
        ev = interpret(rs, request(line("L1", 25000)))
        assert taken(ev) == [[("s200", 3000)]]

    def test_basket_group_tie_goes_to_the_first(self):
        """Two 满减 members both taking 10.00: the one first in stage order is applied, once."""
        rs = ruleset(rule("m1", BasketOff(1000), group="m"), rule("m2", BasketEvery(5000, 500), group="m"))
        # m2: 500 x (10000 // 5000) = 1000, a tie with m1
        assert taken(interpret(rs, request(line("L1", 10000)))) == [[("m1", 1000)]]

    def test_measure_reads_the_state_before_the_rule_for_every_line(self):
        """``subtotal() >= 160.00`` holds for both lines: discounting one does not change it mid-rule."""
        cond = Or((cat_is("A"), Compare(">=", Aggregate("subtotal"), Const(16000, "money"))))
        rs = ruleset(rule("half", pct(50), when=cond))
        ev = interpret(rs, request(line("L0", 10000, category="B"), line("L1", 10000, category="B")))
        # before the rule: 10000 + 10000 = 20000 >= 16000 for both lines
        assert taken(ev) == [[("half", 5000)], [("half", 5000)]]


class TestExclusive:
    def _ruleset(self, threshold: int) -> Ruleset:
        return ruleset(
            rule("ex", pct(10), when=cat_is("A"), exclusive=True),
            rule("all5", pct(5)),
            rule(
                "man",
                BasketOff(2000),
                when=Compare(">=", Aggregate("subtotal"), Const(threshold, "money")),
            ),
            coupons=(Coupon("C10", "c", 1000),),
            redeem_points_per_yuan=100,
        )

    def test_locked_line_takes_no_later_discount_of_any_stage(self):
        """The exclusive line keeps its 10% and gets no 5%, no 满减 share, no coupon, no points share."""
        rs = self._ruleset(threshold=9000)
        req = request(
            line("L1", 10000, category="A"),
            line("L2", 10000, category="B"),
            member=GOLD,
            coupons=("C10",),
            redeem_points=100,
        )
        ev = interpret(rs, req)
        # L1: 1000 (locked). L2: 500 -> 9500; subtotal() = 9500 >= 9000 -> 2000 all on L2 -> 7500;
        # coupon 1000 on L2 -> 6500; 100 points at 100/yuan = 100 fen on L2 -> 6400
        assert taken(ev) == [
            [("ex", 1000)],
            [("all5", 500), ("man", 2000), ("coupon:C10", 1000), ("points", 100)],
        ]
        assert ev.redemption == Redemption(100, 100)

    def test_locked_line_does_not_count_toward_thresholds(self):
        """满150 is not met: the unlocked subtotal is 95.00, although both lines left are 185.00."""
        ev = interpret(
            self._ruleset(threshold=15000),
            request(line("L1", 10000, category="A"), line("L2", 10000, category="B")),
        )
        assert taken(ev) == [[("ex", 1000)], [("all5", 500)]]

    def test_exclusive_rule_that_took_nothing_does_not_lock(self):
        """An exclusive member price above the line's price takes 0 fen and leaves the line open."""
        rs = ruleset(rule("mp", MemberPrice(20000), exclusive=True), rule("all5", pct(5)))
        assert taken(interpret(rs, request(line("L1", 10000)))) == [[("all5", 500)]]

    def test_exclusive_basket_rule_locks_the_lines_it_took_from(self):
        """An exclusive 满减 over category A locks the A line; a later coupon lands only on B."""
        rs = ruleset(
            rule("man", BasketOff(1000, over=cat_is("A")), exclusive=True),
            coupons=(Coupon("C", "c", 300),),
        )
        ev = interpret(
            rs, request(line("L1", 5000, category="A"), line("L2", 5000, category="B"), coupons=("C",))
        )
        assert taken(ev) == [[("man", 1000)], [("coupon:C", 300)]]


class TestApportion:
    def test_basket_discount_is_proportional(self):
        """20.00 over 60.00 / 30.00 / 10.00 gives 12.00 / 6.00 / 2.00."""
        ev = interpret(
            ruleset(rule("m", BasketOff(2000))), request(line("A", 6000), line("B", 3000), line("C", 1000))
        )
        assert taken(ev) == [[("m", 1200)], [("m", 600)], [("m", 200)]]

    def test_equal_remainders_go_to_the_earlier_line(self):
        """10 fen over three 10.00 lines: 3.33 each, floors 3+3+3, the spare fen to the first line."""
        ev = interpret(
            ruleset(rule("m", BasketOff(10))), request(line("A", 1000), line("B", 1000), line("C", 1000))
        )
        assert taken(ev) == [[("m", 4)], [("m", 3)], [("m", 3)]]

    def test_equal_fractions_go_to_the_larger_remaining_amount(self):
        """3 fen over 10.00 / 30.00 / 20.00: exact 0.5 / 1.5 / 1.0; the spare fen to the 30.00 line."""
        ev = interpret(
            ruleset(rule("m", BasketOff(3))), request(line("A", 1000), line("B", 3000), line("C", 2000))
        )
        # floors 0 + 1 + 1 = 2; tie on .5 between A (1000) and B (3000) -> B; A's 0 fen is not listed
        assert taken(ev) == [[], [("m", 2)], [("m", 1)]]

    def test_discount_is_capped_at_the_eligible_total(self):
        """满减 of 50.00 over a 30.00 category takes exactly 30.00 from it."""
        rs = ruleset(rule("m", BasketOff(5000, over=cat_is("A"))))
        ev = interpret(
            rs, request(line("A1", 1000, category="A"), line("A2", 2000, category="A"), line("B", 9000))
        )
        assert taken(ev) == [[("m", 1000)], [("m", 2000)], []]

    def test_steps_take_the_largest_threshold_met(self):
        """Steps 100->10, 200->30, 300->50 on 250.00 take 30.00."""
        steps = BasketSteps(((10000, 1000), (20000, 3000), (30000, 5000)))
        assert interpret(ruleset(rule("s", steps)), request(line("A", 25000))).discount == 3000

    def test_steps_pick_by_threshold_not_by_amount(self):
        """A ladder 100->30, 200->20 on 250.00 takes the 200 step (20.00): the largest threshold met."""
        steps = BasketSteps(((10000, 3000), (20000, 2000)))
        assert interpret(ruleset(rule("s", steps)), request(line("A", 25000))).discount == 2000

    def test_every_repeats_up_to_its_limit(self):
        """每满100减20 on 350.00 is 3 x 20 = 60; with max 2 times it is 40."""
        assert (
            interpret(ruleset(rule("e", BasketEvery(10000, 2000))), request(line("A", 35000))).discount
            == 6000
        )
        limited = ruleset(rule("e", BasketEvery(10000, 2000, limit=2)))
        assert interpret(limited, request(line("A", 35000))).discount == 4000

    def test_apportion_sums_exactly_and_never_exceeds_a_line(self):
        """Every fen is placed, and no line gets more than it has left, even for the whole amount."""
        remaining = {0: 1, 1: 7, 2: 13, 3: 2}
        assert apportion_fen(23, remaining) == remaining
        parts = apportion_fen(11, remaining)
        assert sum(parts.values()) == 11
        assert all(parts[i] <= remaining[i] for i in parts)

    def test_apportion_refuses_more_than_there_is(self):
        """Apportioning more than the lines hold is a bug, not a silent cap."""
        with pytest.raises(ValueError):
            apportion_fen(5, {0: 2, 1: 2})


class TestCoupons:
    def test_declaration_order_whatever_the_till_sends(self):
        """C1 (declared first) runs first and its discount makes C2 miss its minimum spend."""
        rs = ruleset(coupons=(Coupon("C1", "c1", 1000), Coupon("C2", "c2", 500, min_spend=10000)))
        ev = interpret(rs, request(line("A", 10500), coupons=("C2", "C1")))
        # C1: 10500 -> 9500; C2 needs 10000 on 9500 left -> min_spend
        assert ev.coupons == (
            CouponOutcome("C1", True, "accepted", 1000),
            CouponOutcome("C2", False, "min_spend"),
        )

    def test_every_reason_in_order(self):
        """Known codes in declaration order (duplicates after their first), unknown ones last."""
        rs = ruleset(
            coupons=(
                Coupon("C1", "ok", 1000),
                Coupon("OLD", "expired", 500, validity=Validity(date_to=date(2020, 1, 1))),
                Coupon("VIP", "members", 500, members_only=True),
                Coupon("TOB", "none eligible", 500, applies_to=cat_is("tobacco")),
                Coupon("BIG", "min spend", 500, min_spend=100000),
            )
        )
        codes = ("ZZZ", "BIG", "C1", "TOB", "C1", "VIP", "OLD", "ZZZ")
        ev = interpret(rs, request(line("A", 5000), coupons=codes))
        assert ev.coupons == (
            CouponOutcome("C1", True, "accepted", 1000),
            CouponOutcome("C1", False, "duplicate"),
            CouponOutcome("OLD", False, "not_valid_now"),
            CouponOutcome("VIP", False, "members_only"),
            CouponOutcome("TOB", False, "no_eligible_amount"),
            CouponOutcome("BIG", False, "min_spend"),
            CouponOutcome("ZZZ", False, "unknown"),
            CouponOutcome("ZZZ", False, "duplicate"),  # duplicate is tested before unknown
        )
        assert taken(ev) == [[("coupon:C1", 1000)]]

    def test_not_valid_now_is_checked_before_members_only(self):
        """An expired members-only coupon from a guest is refused as not valid now."""
        rs = ruleset(
            coupons=(Coupon("X", "x", 100, members_only=True, validity=Validity(date_to=date(2020, 1, 1))),)
        )
        assert interpret(rs, request(line("A", 5000), coupons=("X",))).coupons[0].reason == "not_valid_now"

    def test_min_spend_is_checked_before_no_eligible_amount(self):
        """PRODUCT.md (second wave) orders the reasons min_spend, then no_eligible_amount: a fully
        discounted basket refuses a min-spend coupon for its minimum spend; without one, for nothing left."""
        rs = ruleset(
            rule("free", pct(100)),
            coupons=(Coupon("X", "x", 100, min_spend=1000), Coupon("Y", "y", 100)),
        )
        reasons = [c.reason for c in interpret(rs, request(line("A", 5000), coupons=("X", "Y"))).coupons]
        assert reasons == ["min_spend", "no_eligible_amount"]

    def test_coupon_value_capped_at_eligible_total(self):
        """A 50.00 coupon on a 30.00 basket takes 30.00."""
        rs = ruleset(coupons=(Coupon("X", "x", 5000),))
        ev = interpret(rs, request(line("A", 1000), line("B", 2000), coupons=("X",)))
        assert ev.coupons[0].discount == 3000
        assert ev.payable == 0

    def test_members_only_accepted_for_a_member(self):
        """A member may use a members-only coupon."""
        rs = ruleset(coupons=(Coupon("VIP", "v", 100, members_only=True),))
        assert interpret(rs, request(line("A", 500), member=GOLD, coupons=("VIP",))).coupons[0].accepted


class TestRedemption:
    def _rs(self, rate: int = 50, cap: Fraction = Fraction(1, 2)) -> Ruleset:
        return ruleset(redeem_points_per_yuan=rate, redeem_cap=cap)

    def test_asked_points_capped_by_the_share(self):
        """100.00 at 50 points/yuan, cap 50%: cap 5000 fen -> at most 2500 points -> 50.00."""
        ev = interpret(self._rs(), request(line("A", 10000), member=GOLD, redeem_points=3000))
        assert ev.redemption == Redemption(2500, 5000)
        assert taken(ev) == [[("points", 5000)]]

    def test_value_is_floored(self):
        """101 points at 50/yuan pay floor(101 x 100 / 50) = 202 fen; at 30/yuan 100 points pay 333 fen."""
        assert interpret(
            self._rs(), request(line("A", 10000), member=GOLD, redeem_points=101)
        ).redemption == (Redemption(101, 202))
        ev = interpret(
            self._rs(rate=30, cap=Fraction(1)), request(line("A", 10000), member=GOLD, redeem_points=100)
        )
        assert ev.redemption == Redemption(100, 333)

    def test_cap_is_floored_before_converting(self):
        """Cap 50% of 3.33 is floor(166.5) = 166 fen -> floor(166 x 50 / 100) = 83 points -> 166 fen."""
        ev = interpret(self._rs(), request(line("A", 333), member=GOLD, redeem_points=1000))
        assert ev.redemption == Redemption(83, 166)

    def test_points_paid_part_earns_no_points(self):
        """Paying 50.00 of 100.00 with points leaves 50.00 earning: 50 x 1.5 = 75 points."""
        ev = interpret(self._rs(), request(line("A", 10000), member=GOLD, redeem_points=2500))
        assert ev.points.eligible_fen == 5000
        assert ev.points.earned == 75

    @pytest.mark.parametrize(
        ("rs_kwargs", "member"),
        [
            ({"redeem_points_per_yuan": 50}, None),  # a guest
            ({}, GOLD),  # no redemption in the ruleset
            ({"redeem_points_per_yuan": 50}, dataclasses.replace(GOLD, points_balance=10)),  # above balance
        ],
    )
    def test_bad_redemption_is_refused_naming_the_field(self, rs_kwargs, member):
        """Redeeming as a guest, without a rate, or beyond the balance is bad input on redeem_points."""
        with pytest.raises(InvalidRequest) as err:
            interpret(ruleset(**rs_kwargs), request(line("A", 10000), member=member, redeem_points=11))
        assert err.value.field == "redeem_points"


class TestPoints:
    def _rs(self, mode: str, **settings) -> Ruleset:
        return ruleset(
            rule(
                "day15",
                PointsMultiplier(Fraction(2)),
                when=Compare("=", Field("day_of_month"), Const(15, "number")),
            ),
            rule("bday", PointsMultiplier(Fraction(3)), when=IsBirthday("day")),
            multipliers=mode,
            **settings,
        )

    @pytest.mark.parametrize(
        ("mode", "factor", "points"), [("multiply", 6, 900), ("max", 3, 450), ("add", 4, 600)]
    )
    def test_multipliers_combine_by_setting(self, mode, factor, points):
        """x2 and x3 for gold (x1.5) on 100.00: multiply 6 -> 900, max 3 -> 450, add 1+1+2=4 -> 600."""
        member = dataclasses.replace(GOLD, birthday=date(1990, 11, 15))
        ev = interpret(self._rs(mode), request(line("A", 10000), member=member))
        # floor(10000 x 1 x 3/2 x factor / 100)
        assert ev.points.factor == factor
        assert ev.points.earned == points == ev.points.base
        assert ev.points.multipliers == (Multiplier("day15", Fraction(2)), Multiplier("bday", Fraction(3)))
        assert ev.points.tier_rate == Fraction(3, 2)

    def test_no_active_multiplier_is_x1(self):
        """On the 16th without a birthday nothing is active: factor 1."""
        ev = interpret(self._rs("max"), request(line("A", 10000), member=GOLD, at=AT + timedelta(days=1)))
        assert (ev.points.factor, ev.points.earned, ev.points.multipliers) == (1, 150, ())

    @pytest.mark.parametrize(
        ("mode", "net", "points"), [("floor", 199, 1), ("ceil", 101, 2), ("half_up", 150, 2)]
    )
    def test_rounding_of_the_basket_total(self, mode, net, points):
        """Normal tier: 1.99 floors to 1, 1.01 ceils to 2, 1.50 rounds half up to 2."""
        rs = ruleset(points_rounding=mode)
        assert interpret(rs, request(line("A", net), member=Member("normal"))).points.earned == points

    def test_per_line_shares_break_ties_by_net_then_line(self):
        """Nets 1.50 / 2.50: 1.5 + 2.5 = 4 points, floors 1 + 2, the spare point to the larger net."""
        ev = interpret(ruleset(), request(line("A", 150), line("B", 250), member=Member("normal")))
        assert [lo.points for lo in ev.lines] == [1, 3]
        ev = interpret(
            ruleset(), request(line("A", 150), line("B", 150), line("C", 100), member=Member("normal"))
        )
        # 1.5 + 1.5 + 1.0 = 4; floors 3; tie A/B on fraction and net -> earlier A
        assert [lo.points for lo in ev.lines] == [2, 1, 1]

    def test_bonus_spread_over_selected_lines_by_net(self):
        """10 bonus points over the A lines (3.00 and 6.00): 3.33 / 6.67 -> 3 / 7; not multiplied."""
        rs = ruleset(
            rule("bonus", BonusPoints(10, over=cat_is("A"))),
            rule("x2", PointsMultiplier(Fraction(2))),
        )
        req = request(
            line("A1", 300, category="A"),
            line("A2", 600, category="A"),
            line("B", 1000),
            member=Member("normal"),
        )
        ev = interpret(rs, req)
        # base floor(1900 x 2 / 100) = 38: shares 6 / 12 / 20; bonus 3 / 7 / 0
        assert ev.points.base == 38
        assert ev.points.earned == 48
        assert ev.points.bonuses == (Bonus("bonus", 10),)
        assert [lo.points for lo in ev.lines] == [9, 19, 20]

    def test_bonus_without_a_line_is_not_granted(self):
        """A bonus over category Z, which no line has, is neither granted nor listed."""
        rs = ruleset(rule("bonus", BonusPoints(10, over=cat_is("Z"))))
        ev = interpret(rs, request(line("A", 1000), member=Member("normal")))
        assert (ev.points.earned, ev.points.bonuses) == (10, ())

    def test_no_points_lines_do_not_earn(self):
        """A tobacco line earns nothing and does not count in the eligible fen."""
        rs = ruleset(no_points=(NoPoints(In(Field("item.category"), (Const("tobacco", "text"),))),))
        ev = interpret(
            rs, request(line("T", 5000, category="tobacco"), line("A", 1000), member=Member("normal"))
        )
        assert [(lo.earns_points, lo.points) for lo in ev.lines] == [(False, 0), (True, 10)]
        assert ev.points.eligible_fen == 1000

    def test_guest_earns_nothing(self):
        """A guest gets zero points and no multipliers listed, even with active rules."""
        ev = interpret(self._rs("multiply"), request(line("A", 10000)))
        assert (ev.points.earned, ev.points.base, ev.points.factor, ev.points.multipliers) == (0, 0, 1, ())
        assert [lo.points for lo in ev.lines] == [0]

    def test_points_group_keeps_the_largest_factor(self):
        """Two multipliers in one group: only the x3 counts."""
        rs = ruleset(
            rule("x2", PointsMultiplier(Fraction(2)), group="p"),
            rule("x3", PointsMultiplier(Fraction(3)), group="p"),
        )
        ev = interpret(rs, request(line("A", 1000), member=Member("normal")))
        assert ev.points.multipliers == (Multiplier("x3", Fraction(3)),)
        assert ev.points.earned == 30

    def test_bonus_group_largest_wins_even_when_it_cannot_land(self):
        """A bonus group picks its largest member; if that one has no line to land on nothing is granted."""
        rs = ruleset(
            rule("small", BonusPoints(5), group="b"),
            rule("big", BonusPoints(50, over=cat_is("Z")), group="b"),
        )
        ev = interpret(rs, request(line("A", 1000), member=Member("normal")))
        assert (ev.points.earned, ev.points.bonuses) == (10, ())
        landing = ruleset(rule("small", BonusPoints(5), group="b"), rule("big", BonusPoints(50), group="b"))
        ev = interpret(landing, request(line("A", 1000), member=Member("normal")))
        assert (ev.points.earned, ev.points.bonuses) == (60, (Bonus("big", 50),))

    def test_guest_lines_do_not_earn(self):
        """A guest's lines all say earns_points False."""
        ev = interpret(ruleset(), request(line("A", 1000), line("B", 1000)))
        assert [lo.earns_points for lo in ev.lines] == [False, False]


class TestConditions:
    def _bday_rs(self) -> Ruleset:
        return ruleset(rule("bday", PointsMultiplier(Fraction(2)), when=IsBirthday("day")))

    @pytest.mark.parametrize(
        ("day", "active"),
        [
            (date(2026, 2, 28), True),  # 2026 is not leap: celebrated on 28 Feb
            (date(2026, 3, 1), False),
            (date(2028, 2, 29), True),  # leap year: on the day itself
            (date(2028, 2, 28), False),
        ],
    )
    def test_29_february_birthday(self, day, active):
        """A 29 Feb birthday is the 28th in other years and the 29th in leap years."""
        member = Member("normal", birthday=date(2000, 2, 29))
        at = datetime(day.year, day.month, day.day, 12, 0, tzinfo=SHANGHAI)
        ev = interpret(self._bday_rs(), request(line("A", 1000), member=member, at=at))
        assert ev.points.earned == (20 if active else 10)

    def test_birthday_month(self):
        """Month scope matches any day of the birthday month."""
        rs = ruleset(rule("bm", PointsMultiplier(Fraction(2)), when=IsBirthday("month")))
        member = Member("normal", birthday=date(1990, 11, 30))
        assert interpret(rs, request(line("A", 1000), member=member)).points.earned == 20

    def test_guest_member_comparison_is_false_and_not_of_it_is_true(self):
        """For a guest ``member.tier >= gold`` is false, so ``not (member.tier >= gold)`` is true."""
        gold_up = Compare(">=", Field("member.tier"), Const("gold", "tier"))
        rs = ruleset(rule("vip", pct(10), when=gold_up), rule("others", AmountOff(100), when=Not(gold_up)))
        assert taken(interpret(rs, request(line("A", 1000)))) == [[("others", 100)]]
        assert taken(interpret(rs, request(line("A", 1000), member=GOLD))) == [[("vip", 100)]]

    def test_tier_order_by_rank(self):
        """Diamond >= gold holds; normal >= gold does not; ``=`` compares the id."""
        gold_up = Compare(">=", Field("member.tier"), Const("gold", "tier"))
        rs = ruleset(rule("vip", pct(10), when=gold_up))
        assert taken(interpret(rs, request(line("A", 1000), member=Member("diamond")))) == [[("vip", 100)]]
        assert taken(interpret(rs, request(line("A", 1000), member=Member("normal")))) == [[]]

    def test_missing_member_date_compares_false(self):
        """A member without a join date matches neither ``join_date < X`` nor ``join_date >= X``."""
        before = Compare("<", Field("member.join_date"), Const(date(2020, 1, 1), "date"))
        after = Compare(">=", Field("member.join_date"), Const(date(2020, 1, 1), "date"))
        rs = ruleset(rule("old", pct(10), when=before), rule("new", pct(20), when=after))
        assert taken(interpret(rs, request(line("A", 1000), member=GOLD))) == [[]]

    def test_quantity_measure_floors_whole_units(self):
        """quantity() of 1.5 kg + 0.6 kg is floor(2.1) = 2 units."""
        two = Compare(">=", Aggregate("quantity"), Const(2, "number"))
        three = Compare(">=", Aggregate("quantity"), Const(3, "number"))
        rs = ruleset(rule("two", BasketOff(100), when=two), rule("three", BasketOff(100), when=three))
        ev = interpret(rs, request(line("A", 1000, 1500), line("B", 1000, 600)))
        assert [s for lo in taken(ev) for s, _ in lo] == ["two", "two"]


class TestTime:
    def _rs(self, tz: str) -> Ruleset:
        return ruleset(
            rule(
                "day15",
                PointsMultiplier(Fraction(2)),
                when=Compare("=", Field("day_of_month"), Const(15, "number")),
            ),
            timezone=tz,
        )

    def test_read_in_the_ruleset_timezone_across_midnight(self):
        """20:30 UTC on the 14th is 04:30 on the 15th in Shanghai: member day there, not in a UTC ruleset."""
        at = datetime(2026, 11, 14, 20, 30, tzinfo=UTC)
        req = request(line("A", 1000), member=Member("normal"), at=at)
        assert interpret(self._rs("Asia/Shanghai"), req).points.earned == 20
        assert interpret(self._rs("UTC"), req).points.earned == 10

    @pytest.mark.parametrize(
        ("local", "active"),
        [
            (datetime(2026, 11, 1, 0, 0), True),  # first day, inclusive
            (datetime(2026, 11, 30, 23, 59), True),  # last day, inclusive
            (datetime(2026, 12, 1, 0, 0), False),
            (datetime(2026, 10, 31, 23, 59), False),
        ],
    )
    def test_validity_dates_are_inclusive_local_dates(self, local, active):
        """valid 2026-11-01 to 2026-11-30 includes both ends, in local time."""
        rs = ruleset(rule("nov", pct(10), validity=Validity(date(2026, 11, 1), date(2026, 11, 30))))
        ev = interpret(rs, request(line("A", 1000), at=local.replace(tzinfo=SHANGHAI)))
        assert (ev.discount == 100) is active

    @pytest.mark.parametrize(
        ("clock", "active"),
        [(time(9, 59, 59), False), (time(10, 0), True), (time(13, 59), True), (time(14, 0), False)],
    )
    def test_validity_hours_are_half_open(self, clock, active):
        """hours 10:00 to 14:00 include 10:00 and exclude 14:00."""
        rs = ruleset(rule("lunch", pct(10), validity=Validity(hours=(time(10), time(14)))))
        at = datetime.combine(date(2026, 11, 15), clock, tzinfo=SHANGHAI)
        assert (interpret(rs, request(line("A", 1000), at=at)).discount == 100) is active

    def test_weekdays(self):
        """valid on sun matches 2026-11-15 (a Sunday) and not the Monday after."""
        rs = ruleset(rule("sun", pct(10), validity=Validity(weekdays=frozenset({6}))))
        assert interpret(rs, request(line("A", 1000))).discount == 100
        assert interpret(rs, request(line("A", 1000), at=AT + timedelta(days=1))).discount == 0

    def test_naive_time_is_refused(self):
        """A transaction time without an offset is bad input on ``at``."""
        with pytest.raises(InvalidRequest) as err:
            interpret(ruleset(), request(line("A", 1000), at=datetime(2026, 11, 15, 10, 0)))
        assert err.value.field == "at"


class TestEvaluationShape:
    def test_names_the_ruleset_and_its_content_hash(self):
        """version is the first 12 hex digits of sha256 of the source text."""
        ev = interpret(ruleset(), request(line("A", 1000)))
        assert ev.ruleset == "t"
        assert ev.version == hashlib.sha256(b"ruleset t {}\n").hexdigest()[:12]

    def test_totals_and_kinds(self):
        """Subtotal, discount and payable add up, and each discount names its kind."""
        rs = ruleset(rule("r", pct(10)), coupons=(Coupon("C", "c", 100),), redeem_points_per_yuan=100)
        ev = interpret(rs, request(line("A", 1000), member=GOLD, coupons=("C",), redeem_points=50))
        # 1000 - 100 (rule) - 100 (coupon) - 50 (points) = 750
        assert ev.lines[0].discounts == (
            Discount("r", "rule", 100),
            Discount("coupon:C", "coupon", 100),
            Discount("points", "points", 50),
        )
        assert (ev.subtotal, ev.discount, ev.payable) == (1000, 250, 750)

    def test_share_points_refuses_an_impossible_total(self):
        """Asking for more points than the fractions allow is a bug, not silently absorbed."""
        with pytest.raises(ValueError):
            share_points({0: Fraction(1, 2)}, 3, {0: 50})
