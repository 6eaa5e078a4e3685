"""Percent and targeted coupons, member history fields, gross(), item.quantity and redemption
`applies_to` (PRODUCT.md "More promotion forms" and "History fields"), each worked by hand and run
through both the compiled engine and the reference interpreter (forms_support.both)."""

from __future__ import annotations

from datetime import date

import pytest
from forms_support import both, line

import dsl
from engine.errors import RuleErrors
from engine.model import Member

HEAD = 'ruleset "t" {\n  redeem 100 points per_yuan, cap 50%REDEEM\n}\ntier normal "n"\n'


def _rs(body: str, redeem: str = "") -> str:
    return HEAD.replace("REDEEM", redeem) + body


PCT = _rs('coupon P "九折券" {\n  value 15%, max 12.00\n}\ncoupon Q "9折" {\n  value 10%\n}\n')


class TestPercentCoupons:
    def test_capped_and_apportioned_like_a_value_coupon(self) -> None:
        """15% of 100.00 = 15.00, capped at 12.00; split 60:40 -> 7.20 and 4.80."""
        ev = both(PCT, [line("A", 6000), line("B", 4000)], coupons=("P",))
        assert ev.coupons[0].discount == 1200
        assert [o.discount for o in ev.lines] == [720, 480]

    def test_under_the_cap_rounds_half_up(self) -> None:
        """15% of 33.30 = 4.995 -> 5.00 (under the 12.00 cap)."""
        ev = both(PCT, [line("A", 3330)], coupons=("P",))
        assert ev.coupons[0].discount == 500

    def test_measured_on_what_is_left_just_before_it(self) -> None:
        """P takes 12.00 of 200.00; Q then takes 10% of the 188.00 left = 18.80."""
        ev = both(PCT, [line("A", 20000)], coupons=("Q", "P"))
        assert [(c.code, c.discount) for c in ev.coupons] == [("P", 1200), ("Q", 1880)]

    def test_a_percent_of_a_few_fen_takes_nothing_and_is_refused(self) -> None:
        """10% of 0.04 rounds to 0 fen: nothing to take, refused as no_eligible_amount."""
        ev = both(PCT, [line("A", 4)], coupons=("Q",))
        assert (ev.coupons[0].accepted, ev.coupons[0].reason) == (False, "no_eligible_amount")


WINBACK = _rs(
    'coupon BACK "回归券" {\n  value 30.00, min_spend 100.00\n'
    "  when member.days_since_last_purchase >= 48\n}\n"
    'coupon VIP "会员券" {\n  value 5.00, members_only\n  when member.order_count >= 1\n}\n'
)
AWAY_48 = Member("normal", last_purchase=date(2026, 9, 28))  # 2026-09-28 -> 2026-11-15: 30 + 18 = 48 days


class TestTargetedCoupons:
    def test_a_member_away_48_days_gets_it(self) -> None:
        ev = both(WINBACK, [line("A", 12000)], AWAY_48, coupons=("BACK",))
        assert ev.coupons[0].discount == 3000

    def test_47_days_is_not_eligible(self) -> None:
        member = Member("normal", last_purchase=date(2026, 9, 29))
        ev = both(WINBACK, [line("A", 12000)], member, coupons=("BACK",))
        assert ev.coupons[0].reason == "not_eligible"

    def test_no_purchase_yet_and_guests_are_not_eligible(self) -> None:
        """A missing history field makes the condition false: never bought, or a guest."""
        for member in (Member("normal"), None):
            ev = both(WINBACK, [line("A", 12000)], member, coupons=("BACK",))
            assert ev.coupons[0].reason == "not_eligible"

    def test_not_eligible_comes_after_members_only_and_before_min_spend(self) -> None:
        """A guest with VIP: members_only (tested first). BACK below its min spend but not targeted:
        not_eligible (before min_spend)."""
        ev = both(WINBACK, [line("A", 5000)], None, coupons=("VIP", "BACK"))
        assert [c.reason for c in ev.coupons] == ["not_eligible", "members_only"]
        member = Member("normal", last_purchase=date(2026, 11, 14), order_count=3)
        ev = both(WINBACK, [line("A", 5000)], member, coupons=("BACK", "VIP"))
        assert [(c.reason, c.discount) for c in ev.coupons] == [("not_eligible", 0), ("accepted", 500)]

    def test_min_spend_then_eligible(self) -> None:
        ev = both(WINBACK, [line("A", 5000)], AWAY_48, coupons=("BACK",))
        assert ev.coupons[0].reason == "min_spend"


HISTORY = _rs(
    'rule first "首单9折" {\n  when member.first_purchase\n  then item discount 10%\n}\n'
    'rule loyal "老客" {\n  when member.order_count >= 10 and member.lifetime_spend >= 5000.00\n'
    "  then bonus 50 points\n}\n"
    'rule rich "积分多" {\n  when member.points_balance >= 1000\n  then points x2\n}\n'
)


class TestHistoryFields:
    def test_first_purchase(self) -> None:
        """order_count 0: first purchase, 10% off 100.00; 1: none; unknown: none."""
        for count, off in ((0, 1000), (1, 0), (None, 0)):
            ev = both(HISTORY, [line("A", 10000)], Member("normal", order_count=count))
            assert ev.discount == off

    def test_counts_spend_and_balance(self) -> None:
        """10 orders, 5000.00 spent, 1000 points: 100 points x2 + 50 bonus = 250."""
        member = Member("normal", order_count=10, lifetime_spend=500000, points_balance=1000)
        assert both(HISTORY, [line("A", 10000)], member).points.earned == 250
        member = Member("normal", order_count=10, lifetime_spend=499999, points_balance=999)
        assert both(HISTORY, [line("A", 10000)], member).points.earned == 100


GROSS = _rs(
    'rule half "食品8折" {\n  exclusive\n  when item.category = "食品"\n  then item discount 20%\n}\n'
    'rule gross_off "满100减10" {\n  when gross() >= 100.00\n  then basket discount 10.00\n}\n'
    'rule sub_off "满100减5" {\n  when subtotal() >= 100.00\n  then basket discount 5.00\n}\n'
    'rule big "数量" {\n  when item.quantity >= 2.5\n  then item discount 1.00 each\n}\n'
)


class TestGrossAndQuantity:
    def test_gross_reads_amounts_before_discount_and_skips_locked_lines(self) -> None:
        """食品 100.00 -> 80.00, locked; 日用 120.00 -> 2 units: no item.quantity discount (2 < 2.5).
        gross() counts only 日用 (unlocked): 120.00 >= 100 -> 10.00 off. Then subtotal() = 110.00 -> 5.00."""
        ev = both(GROSS, [line("F", 10000, category="食品"), line("D", 6000, 2000, category="日用")])
        assert [(d.source, d.fen) for o in ev.lines for d in o.discounts] == [
            ("half", 2000),
            ("gross_off", 1000),
            ("sub_off", 500),
        ]

    def test_gross_is_not_what_is_left(self) -> None:
        """日用 2.6 kg at 40.00 = 104.00, 1.00 x 2.6 = 2.60 off -> 101.40 left: gross 104.00 -> 10.00 off;
        subtotal 91.40 < 100 -> nothing."""
        ev = both(GROSS, [line("D", 4000, 2600, category="日用")])
        assert [(d.source, d.fen) for d in ev.lines[0].discounts] == [("big", 260), ("gross_off", 1000)]


class TestRedeemAppliesTo:
    def test_points_pay_only_for_the_chosen_lines(self) -> None:
        """Gift card 100.00 excluded: eligible 50.00, cap 50% = 25.00 = 2500 points at 100/yuan."""
        text = _rs("", ', applies_to item.category != "礼品卡"')
        member = Member("normal", points_balance=10000)
        lines = [line("G", 10000, category="礼品卡"), line("A", 5000)]
        ev = both(text, lines, member, redeem_points=10000)
        assert ev.redemption == (2500, 2500)
        assert [o.discount for o in ev.lines] == [0, 2500]


def _errors(text: str) -> list[str]:
    with pytest.raises(RuleErrors) as info:
        dsl.load(text, "t.rules")
    return [str(e) for e in info.value.errors]


class TestChecks:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ('coupon P "x" {\n  value 120%\n}\n', "t.rules:6:9: 120% is more than 100%"),
            ('coupon P "x" {\n  value 0%\n}\n', "coupon 'P' takes 0%: it does nothing"),
            ('coupon P "x" {\n  value 10.00, max 5.00\n}\n', "coupon 'P' has a max but a fixed value"),
            ('coupon P "x" {\n  value 10%, max 0.00\n}\n', "coupon 'P' has a max of 0.00"),
            (
                'coupon P "x" {\n  value 10%\n  when member.lifetime_spend >= "a lot"\n}\n',
                'cannot compare member.lifetime_spend (money) with "a lot" (text)',
            ),
            (
                'coupon P "x" {\n  value 10%\n  when member.days_since_last_purchase >= 48.5\n}\n',
                "t.rules:7:",
            ),
            (
                'coupon P "x" {\n  value 10%\n  when item.sku = "A"\n}\n',
                "a coupon's `when` looks at the member and the basket",
            ),
            (
                "rule r {\n  when member.order_count\n  then bonus 5 points\n}\n",
                "member.order_count is not a yes/no field",
            ),
            (
                "rule r {\n  when member.first_purchase = 3\n  then bonus 5 points\n}\n",
                "cannot compare member.first_purchase",
            ),
            (
                "rule r {\n  when member.last_purchase >= 3\n  then bonus 5 points\n}\n",
                "unknown field 'member.last_purchase'",
            ),
        ],
    )
    def test_bad_forms_are_refused_with_a_place(self, body: str, message: str) -> None:
        errors = _errors(_rs(body))
        assert any(message in e for e in errors), errors
        assert all(e.startswith("t.rules:") for e in errors)


NUDGES = _rs(
    'rule food "满100减20" {\n  when subtotal(item.category = "食品") >= 100.00\n'
    '  then basket discount 20.00 over item.category = "食品"\n}\n'
    'rule ladder "满200减30 满300减50" {\n  then basket discount steps 200.00 -> 30.00, 300.00 -> 50.00\n}\n'
    'rule vip "会员满减" {\n  when member.lifetime_spend >= 1000.00 and gross() >= 500.00\n'
    "  then basket discount 5.00\n}\n"
    'coupon C "满150减10" {\n  value 10.00, min_spend 150.00, applies_to item.category = "饮料"\n}\n'
    'coupon B "回归券" {\n  value 10.00\n  when member.days_since_last_purchase >= 48\n}\n'
)


class TestNudges:
    def test_each_unmet_threshold_says_how_much_more(self) -> None:
        """食品 87.70 + 日用 50.00 = 137.70: 食品 needs 12.30 more; the ladder, measured after nothing
        was taken, needs 62.30 and 162.30 more; vip's lifetime spend is unknown (a history field):
        no nudge; coupon C has no 饮料 at all: 150.00 more of 饮料; B is not_eligible on history only."""
        member = Member("normal", last_purchase=date(2026, 11, 1))
        ev = both(
            NUDGES, [line("F", 8770, category="食品"), line("D", 5000)], member, coupons=("C", "B", "X")
        )
        assert [(n.source, n.missing, n.measure, n.scope) for n in ev.nudges] == [
            ("food", 1230, "subtotal", "食品"),
            ("ladder", 6230, "subtotal", ""),
            ("ladder", 16230, "subtotal", ""),
            ("coupon:C", 15000, "min_spend", "饮料"),
        ]

    def test_a_met_step_leaves_only_the_next_and_gross_nudges(self) -> None:
        """食品 120.00 (-20.00 for food) + 日用 130.00: after food 230.00 left, ladder step 200 met
        (-30.00) and 300.00 needs 70.00 more. vip: lifetime 2000.00 met; gross() = 250.00 -> 250.00 more."""
        member = Member("normal", lifetime_spend=200000)
        ev = both(NUDGES, [line("F", 12000, category="食品"), line("D", 13000)], member)
        assert [(n.source, n.missing, n.measure, n.threshold) for n in ev.nudges] == [
            ("ladder", 7000, "subtotal", 30000),
            ("vip", 25000, "gross", 50000),
        ]


def test_nudges_of_rules_the_index_skips_match_the_reference() -> None:
    """14 keyed 满减 (the index is on from 12): a basket of cat0 alone meets one; the 13 others still
    nudge from their precomputed "none of my lines" answer (100.00 more of catN), ladders and 每满 too,
    and a rule gated on the weekday (Sunday here) nudges only when the gate holds."""
    body = "".join(
        f'rule r{c} "满100减10 {c}" {{\n  when subtotal(item.category = "cat{c}") >= 100.00\n'
        f'  then basket discount 10.00 over item.category = "cat{c}"\n}}\n'
        for c in range(12)
    )
    body += (
        'rule lad "阶梯" {\n'
        '  then basket discount steps 50.00 -> 5.00, 80.00 -> 9.00 over item.category = "x"\n}\n'
    )
    body += (
        'rule sat "周六" {\n  when weekday = sat and subtotal(item.category = "y") >= 20.00\n'
        '  then basket discount 2.00 over item.category = "y"\n}\n'
    )
    ev = both(_rs(body), [line("A", 4000, category="cat0")])
    got = [(n.source, n.missing) for n in ev.nudges]
    assert got == [("r0", 6000)] + [(f"r{c}", 10000) for c in range(1, 12)] + [("lad", 5000), ("lad", 8000)]
