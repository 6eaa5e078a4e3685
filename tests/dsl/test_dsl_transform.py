"""Text -> IR: every construct builds the expected engine.rules nodes, with exact values and spans."""

from __future__ import annotations

from datetime import date, datetime, time
from fractions import Fraction

import pytest
from dsl_samples import HEADER, RICH, ruleset

import dsl
from engine import rules as ir
from engine.errors import RuleError, RuleErrors


def _rule(body: str, *, tiers: bool = True) -> ir.Rule:
    return dsl.load(ruleset(f'rule r "label" {{\n{body}\n}}\n', tiers), "t.rules").rules[0]


def _when(cond: str) -> ir.Expr | None:
    return _rule(f"  when {cond}\n  then item discount 5%").condition


def _errors(text: str) -> list[RuleError]:
    with pytest.raises(RuleErrors) as caught:
        dsl.load(text, "t.rules")
    return caught.value.errors


F, C = ir.Field, ir.Const
BY = "  by member.tier, item.category\n"


class TestLiterals:
    @pytest.mark.parametrize(
        ("written", "rate"),
        [("9.5折", Fraction(1, 20)), ("8折", Fraction(1, 5)), ("0折", Fraction(1)),
         ("9.85折", Fraction(3, 200)),
         ("5%", Fraction(1, 20)), ("12.5%", Fraction(1, 8)), ("100%", Fraction(1))],
    )  # fmt: skip
    def test_rates_are_exact_fractions_off(self, written: str, rate: Fraction) -> None:
        """9.5折 means 5% off; percents are the share off; both are exact."""
        assert _rule(f"  then item discount {written}").effect == ir.PercentOff(rate)

    @pytest.mark.parametrize(
        ("written", "factor"), [("x2", Fraction(2)), ("x1.5", Fraction(3, 2)), ("X1.25", Fraction(5, 4))]
    )
    def test_factors(self, written: str, factor: Fraction) -> None:
        """x1.5 is the fraction 3/2, never a float."""
        assert _rule(f"  then points {written}").effect == ir.PointsMultiplier(factor)

    @pytest.mark.parametrize(("written", "fen"), [("20", 2000), ("9.5", 950), ("0.05", 5), ("100.00", 10000)])
    def test_money_is_integer_fen(self, written: str, fen: int) -> None:
        """Money literals become integer fen, whatever the number of decimals up to two."""
        assert _rule(f"  then item price {written}").effect == ir.MemberPrice(fen)

    def test_dates_times_and_weekdays(self) -> None:
        """Dates, times (24:00 = end of day) and weekdays in English and Chinese."""
        rule = _rule(
            "  valid 2026-11-01 to 2026-12-31\n  valid on mon, tuesday, 周三, 周天\n"
            "  valid hours 09:30 to 24:00\n"
            "  then points x2"
        )
        assert rule.validity == ir.Validity(
            date(2026, 11, 1), date(2026, 12, 31), frozenset({0, 1, 2, 6}), (time(9, 30), time.max)
        )

    def test_strings_unescape(self) -> None:
        """\\" and \\\\ inside a label are a quote and a backslash."""
        assert _rule("  then points x2".replace("", "")).label == "label"
        text = ruleset('rule r "a \\"b\\" c\\\\" {\n  then points x2\n}\n')
        assert dsl.load(text, "t").rules[0].label == 'a "b" c\\'


class TestHeaderAndTiers:
    def test_header_settings(self) -> None:
        """Every header statement lands in Settings."""
        loaded = dsl.load(RICH, "t")
        assert loaded.name == "ruyi-health"
        assert loaded.settings == ir.Settings(
            currency="CNY",
            timezone="Asia/Shanghai",
            points_per_yuan=Fraction(1),
            points_rounding="floor",
            multipliers="multiply",
            redeem_points_per_yuan=50,
            redeem_cap=Fraction(1, 2),
            inactivity_days=730,
            inactivity_action="downgrade",
            points_expire_days=730,
            redeem_applies_to=ir.Compare("!=", ir.Field("item.category"), ir.Const("gift_card", "text")),
        )

    def test_header_defaults(self) -> None:
        """An empty header block gives the documented defaults."""
        assert dsl.load(HEADER, "t").settings == ir.Settings()

    def test_tiers_rank_in_declaration_order(self) -> None:
        """Tiers get rank 0, 1, 2 as written, with rates and upgrade thresholds in fen."""
        tiers = dsl.load(RICH, "t").tiers
        assert tiers == (
            ir.Tier("normal", "普通会员", Fraction(1), 0),
            ir.Tier("gold", "金卡", Fraction(3, 2), 1, upgrade_lifetime=700000, upgrade_single_day=500000),
            ir.Tier("diamond", "钻石卡", Fraction(3), 2, upgrade_lifetime=1600000),
        )

    def test_tier_label_and_rate_are_optional(self) -> None:
        """`tier basic` alone is a tier earning x1 with no label."""
        assert dsl.load(HEADER + "tier basic\n", "t").tiers == (ir.Tier("basic", "", Fraction(1), 0),)


class TestRules:
    def test_rule_options(self) -> None:
        """priority (also negative), group and exclusive are read; the label is kept."""
        rule = _rule('  priority -5\n  group "g"\n  exclusive\n  then item discount 5%')
        assert (rule.id, rule.label, rule.priority, rule.group, rule.exclusive) == (
            "r",
            "label",
            -5,
            "g",
            True,
        )
        assert rule.condition is None and rule.validity == ir.ALWAYS

    @pytest.mark.parametrize(
        ("effect", "expected"),
        [
            ("item discount 9.5折", ir.PercentOff(Fraction(1, 20))),
            ("item discount 3.00 each", ir.AmountOff(300)),
            ("item price 59.00", ir.MemberPrice(5900)),
            ("basket discount 20.00", ir.BasketOff(2000)),
            ('basket discount 20.00 over item.category = "food"',
             ir.BasketOff(2000, ir.Compare("=", F("item.category"), C("food", "text")))),
            ("basket discount steps 100.00 -> 20.00, 200 -> 50",
             ir.BasketSteps(((10000, 2000), (20000, 5000)))),
            ("basket discount 20.00 every 100.00", ir.BasketEvery(every=10000, amount=2000)),
            ('basket discount 20.00 every 100.00 over item.brand = "b" max 3 times',
             ir.BasketEvery(10000, 2000, ir.Compare("=", F("item.brand"), C("b", "text")), 3)),
            ("points x2", ir.PointsMultiplier(Fraction(2))),
            ("bonus 100 points", ir.BonusPoints(100)),
            ('bonus 100 points over item.tags has "new"',
             ir.BonusPoints(100, ir.Has(F("item.tags"), C("new", "text")))),
        ],
    )  # fmt: skip
    def test_every_effect(self, effect: str, expected: ir.Effect) -> None:
        """Each `then` form builds its effect node."""
        assert _rule(f"  then {effect}").effect == expected

    def test_rule_order_counts_tables_and_coupons_separately(self) -> None:
        """Rules and tables share file order; coupons have their own order."""
        loaded = dsl.load(RICH, "t")
        assert [(r.id, r.order) for r in loaded.rules][-3:] == [
            ("first_big", 8),
            ("bonus", 9),
            ("card_rates", 10),
        ]
        assert [r.order for r in loaded.rules] == list(range(11))
        assert [(c.id, c.order) for c in loaded.coupons] == [("C20", 0), ("C30", 1), ("BACK", 2)]

    def test_spans_point_at_the_declaration(self) -> None:
        """A rule's span is its header line; its effect's span is the effect."""
        rule = dsl.load(RICH, "rich.rules").rules[2]
        assert rule.id == "a_class"
        assert (rule.span.location, rule.span.end_column) == ("rich.rules:33:1", 33)
        assert rule.effect.span.location == "rich.rules:38:8"
        assert rule.condition.span.location == "rich.rules:36:8"
        assert rule.condition.span.end_line == 37


class TestConditions:
    def test_bare_word_next_to_member_tier_is_a_tier(self) -> None:
        """`member.tier >= gold` compares with the tier gold (either side)."""
        assert _when("member.tier >= gold") == ir.Compare(">=", F("member.tier"), C("gold", "tier"))
        assert _when("gold <= member.tier") == ir.Compare("<=", C("gold", "tier"), F("member.tier"))

    def test_bare_words_next_to_weekday_are_weekdays(self) -> None:
        """`weekday in [sat, 周日]` holds weekday numbers."""
        assert _when("weekday in [sat, 周日]") == ir.In(F("weekday"), (C(5, "weekday"), C(6, "weekday")))

    def test_numbers_take_the_type_of_the_other_side(self) -> None:
        """100 next to subtotal or item.price is money; next to a count it is a number."""
        assert _when("subtotal() >= 100") == ir.Compare(">=", ir.Aggregate("subtotal"), C(10000, "money"))
        assert _when("item.price < 9.9") == ir.Compare("<", F("item.price"), C(990, "money"))
        assert _when('count(item.category = "a") >= 2') == ir.Compare(
            ">=", ir.Aggregate("count", ir.Compare("=", F("item.category"), C("a", "text"))), C(2, "number")
        )
        assert _when("quantity() >= 3") == ir.Compare(">=", ir.Aggregate("quantity"), C(3, "number"))

    def test_and_binds_tighter_than_or(self) -> None:
        """`a or b and c` is a or (b and c); parentheses regroup; not applies to one term."""
        a = ir.Compare("=", F("item.sku"), C("a", "text"))
        b = ir.Compare("=", F("item.sku"), C("b", "text"))
        c = ir.Compare("=", F("item.sku"), C("c", "text"))
        assert _when('item.sku = "a" or item.sku = "b" and item.sku = "c"') == ir.Or((a, ir.And((b, c))))
        assert _when('(item.sku = "a" or item.sku = "b") and item.sku = "c"') == ir.And((ir.Or((a, b)), c))
        assert _when('not item.sku = "a" and item.sku = "b"') == ir.And((ir.Not(a), b))

    def test_in_not_in_has_and_dates(self) -> None:
        """`not in`, `has`, date and time comparisons."""
        assert _when('item.category not in ["a"]') == ir.In(
            F("item.category"), (C("a", "text"),), negated=True
        )
        assert _when('member.tags has "vip"') == ir.Has(F("member.tags"), C("vip", "text"))
        assert _when("date >= 2026-11-11") == ir.Compare(">=", F("date"), C(date(2026, 11, 11), "date"))
        assert _when("time < 10:30") == ir.Compare("<", F("time"), C(time(10, 30), "time"))

    def test_birthday(self) -> None:
        """`today is member.birthday` and `month is member.birthday`."""
        assert _rule("  when today is member.birthday\n  then points x2").condition == ir.IsBirthday("day")
        assert _rule("  when month is member.birthday\n  then points x2").condition == ir.IsBirthday("month")


class TestTables:
    def test_table_grid(self) -> None:
        """Columns are the first key's values, rows the second's; '-' leaves the cell out."""
        rule = dsl.load(RICH, "t").rules[-1]
        assert (rule.id, rule.label, rule.priority, rule.condition) == ("card_rates", "卡种品类折扣", 5, None)
        assert rule.effect == ir.TableDiscount(
            (F("member.tier"), F("item.category")),
            {
                ("normal", "化妆品"): Fraction(1, 50),
                ("gold", "化妆品"): Fraction(1, 20),
                ("diamond", "化妆品"): Fraction(1, 10),
                ("normal", "服装"): Fraction(1, 20),
                ("gold", "服装"): Fraction(9, 100),
                ("diamond", "服装"): Fraction(3, 20),
                ("gold", "家电"): Fraction(1, 50),
                ("diamond", "家电"): Fraction(1, 20),
            },
        )

    @pytest.mark.parametrize(
        ("body", "message", "line"),
        [
            (f"{BY}  columns gold\n  \"a\" 9折 8折", "this row has 2 rates but the table has 1 columns", 9),
            (f"{BY}  columns gold gold\n  \"a\" 9折 8折", "column 'gold' appears twice", 8),
            (f"{BY}  columns gold\n  \"a\" 9折\n  \"a\" 8折", "row 'a' appears twice", 10),
            ("  by member.tier\n  columns gold\n  \"a\" 9折",
             "a table has two keys: the columns' and the rows'",
             7),
            ("  columns gold\n  \"a\" 9折", "table 't' has no `by` line", 6),
            ("  by member.tier, item.category\n  \"a\" 9折", "table 't' has no `columns` line", 6),
        ],
    )  # fmt: skip
    def test_malformed_tables(self, body: str, message: str, line: int) -> None:
        """Grid mistakes are reported at the row or line concerned."""
        errors = _errors(ruleset(f"table t {{\n{body}\n}}\n"))
        assert [(e.message, e.span.line) for e in errors] == [(message, line)]


class TestCouponsAndNoPoints:
    def test_coupon(self) -> None:
        """A coupon's terms, validity, members_only and points price."""
        coupon = dsl.load(RICH, "t").coupons[0]
        assert coupon == ir.Coupon(
            "C20",
            "积分兑换 20元折扣券",
            2000,
            min_spend=10000,
            applies_to=ir.Compare("!=", F("item.category"), C("tobacco", "text")),
            validity=ir.Validity(date(2026, 11, 1), date(2026, 12, 31)),
            members_only=True,
            points_price=199,
        )

    def test_no_points(self) -> None:
        """`no_points when ...` keeps its condition."""
        assert dsl.load(RICH, "t").no_points == (
            ir.NoPoints(ir.In(F("item.category"), (C("tobacco", "text"), C("gift_card", "text")))),
        )


class TestExamples:
    def test_full_example(self) -> None:
        """Member, time (naive local), store, lines with defaults, coupons, redemption and expectations."""
        example = dsl.load(RICH, "t").examples[0]
        assert example == ir.Example(
            label="金卡会员 会员日 买A类商品",
            at=datetime(2026, 11, 15, 10, 0),
            lines=(
                ir.ExampleLine("洗发水", 10000, 1000, "13%", category="A"),
                ir.ExampleLine("苹果", 1280, 1250, "9%", "P1", "fruit", "x", frozenset({"fresh"})),
            ),
            expect=ir.Expectation(
                payable=9500,
                points=285,
                discount=500,
                rules=(("a_class", 500),),
                coupons=(("C20", "accepted"), ("C30", "min_spend")),
                redeemed_points=500,
                lines=(
                    ir.LineExpectation(2, net=1600, points=24),
                    ir.LineExpectation(1, net=9500, discount=500),
                ),
            ),
            member=ir.ExampleMember(
                "gold",
                date(1990, 3, 2),
                frozenset({"vip"}),
                "important",
                date(2020, 1, 1),
                500,
                last_purchase=date(2026, 9, 1),
                order_count=3,
                lifetime_spend=120000,
            ),
            coupons=("C20",),
            redeem_points=500,
            store="S001",
            channel="pos",
        )
        assert example.at.tzinfo is None

    def test_guest_and_defaults(self) -> None:
        """`member guest` is no member; qty defaults to 1 and tax to 13%."""
        guest = dsl.load(RICH, "t").examples[1]
        assert guest.member is None
        assert guest.lines == (ir.ExampleLine("可乐", 350, 2000, "exempt"),)
        text = ruleset('example "e" {\n  at 2026-01-01 00:00\n  line "x" price 1\n  expect payable 1\n}\n')
        example = dsl.load(text, "t").examples[0]
        assert example.member is None
        assert example.lines[0] == ir.ExampleLine("x", 100, 1000, "13%")

    def test_member_without_tier_is_the_lowest_tier(self) -> None:
        """A member line without `tier` means the first tier declared."""
        text = ruleset('example "e" {\n  member birthday 2000-01-01\n  at 2026-01-01 00:00\n'
                       '  line "x" price 1\n'
                       "  expect payable 1\n}\n")  # fmt: skip
        assert dsl.load(text, "t").examples[0].member.tier == "normal"

    def test_line_expectations(self) -> None:
        """`line N` terms: fields in any order, several per `expect`, mixed with totals, kept as written."""
        text = ruleset(
            'example "e" {\n  at 2026-01-01 00:00\n  line "a" price 400\n  line "b" price 75.50\n'
            "  expect payable 344.70, line 1 net 273.34 discount 122.66 points 410, points 517,"
            " line 2 points 107 net 71.36\n"
            "  expect line 2 discount 4.14\n}\n"
        )  # the example starts on line 6; the `expect` lines are 10 and 11
        expect = dsl.load(text, "t.rules").examples[0].expect
        assert (expect.payable, expect.points) == (34470, 517)
        assert expect.lines == (
            ir.LineExpectation(1, net=27334, discount=12266, points=410),
            ir.LineExpectation(2, net=7136, points=107),
            ir.LineExpectation(2, discount=414),
        )
        assert [(t.span.line, t.span.column, t.span.end_column) for t in expect.lines] == [
            (10, 26, 70),
            (10, 84, 111),
            (11, 10, 30),
        ]

    def test_a_line_field_expected_twice(self) -> None:
        """The same field of the same line, in one term or across terms, is refused at the second one."""
        text = ruleset(
            'example "e" {\n  at 2026-01-01 00:00\n  line "a" price 1\n  line "b" price 2\n'
            "  expect line 1 net 1.00 points 1 net 1.00, line 2 net 2.00\n"
            "  expect line 2 points 2, line 2 net 2.00\n}\n"
        )
        got = [(e.span.line, e.span.column, e.span.end_column, e.message, e.hint) for e in _errors(text)]
        hint = "each line's net, discount and points is expected at most once"
        assert got == [
            (10, 35, 43, "'net' of line 1 is expected twice", f"keep one `net` for line 1: {hint}"),
            (11, 34, 42, "'net' of line 2 is expected twice", f"keep one `net` for line 2: {hint}"),
        ]

    def test_line_expectation_literals_are_checked(self) -> None:
        """Money with three decimals or fractional points in a line term are refused at the token."""
        text = ruleset(
            'example "e" {\n  at 2026-01-01 00:00\n  line "a" price 1\n'
            "  expect line 1 net 1.005 points 1.5\n}\n"
        )
        assert [(e.span.line, e.span.column) for e in _errors(text)] == [(9, 21), (9, 34)]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ('  line "x" price 1\n  expect payable 1', "this example has no time"),
            ("  at 2026-01-01 00:00\n  expect payable 1", "this example has no basket line"),
            ('  at 2026-01-01 00:00\n  line "x" price 1', "this example expects nothing"),
            ('  at 2026-01-01 00:00\n  line "x" qty 2\n  expect payable 1', "line 'x' has no price"),
        ],
    )
    def test_incomplete_examples(self, body: str, message: str) -> None:
        """An example missing a time, a line, an expectation or a price is refused."""
        assert message in [e.message for e in _errors(ruleset(f'example "e" {{\n{body}\n}}\n'))]


class TestBuildErrors:
    def test_literal_errors_are_all_collected(self) -> None:
        """Bad literals across the file are reported together, each at its token."""
        text = ruleset(
            'rule a "x" {\n  valid 2026-02-30 to 2026-13-01\n  then item discount 11折\n}\n'
            'rule b "y" {\n  when weekday = thr\n  then item discount 120%\n}\n'
            'rule c "z" {\n  when hour = 25:00\n  then basket discount 20.005\n}\n'
            'example "e" {\n  at 2026-01-01 00:00\n  line "x" price 1 qty 0.0005\n  expect payable 1\n}\n'
        )
        got = [(e.span.line, e.span.column, e.message) for e in _errors(text)]
        assert got == [
            (7, 9, "2026-02-30 is not a date (day is out of range for month)"),
            (7, 23, "2026-13-01 is not a date (month must be in 1..12)"),
            (8, 22, "11折 is more than 10折"),
            (11, 18, "unknown weekday 'thr'"),
            (12, 22, "120% is more than 100%"),
            (15, 15, "25:00 is not a time of day"),
            (16, 24, "20.005 has more than 2 decimals: money is exact to the fen"),
            (20, 24, "0.0005 has more than 3 decimals: a quantity is exact to the thousandth"),
        ]

    def test_rendered_literal_error(self) -> None:
        """A literal error renders with its place, the line, carets under the token and a hint."""
        errors = _errors(ruleset('rule b "y" {\n  when weekday = thr\n  then points x2\n}\n'))
        assert str(errors[0]) == (
            "t.rules:7:18: unknown weekday 'thr'\n      when weekday = thr\n                     ^^^\n"
            "hint: did you mean 'thu'?"
        )

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("  when day_of_month = 1", "rule 'r' has no effect"),
            ("  then points x2\n  then points x3", "a rule has exactly one `then`"),
            ("  when day_of_month = 1\n  when hour = 1\n  then points x2", "a rule has one `when`"),
            ("  priority 1\n  priority 2\n  then points x2", "'priority' is written twice in this rule"),
            (
                "  valid on mon\n  valid on tue\n  then points x2",
                "this rule already has a `valid` line of this kind",
            ),
            ("  when yesterday is member.birthday\n  then points x2", "'is' only checks a birthday"),
        ],
    )
    def test_statement_errors(self, body: str, message: str) -> None:
        """Missing, doubled or misused statements are reported with a sentence."""
        assert message in [e.message for e in _errors(ruleset(f'rule r "x" {{\n{body}\n}}\n'))]

    def test_missing_and_doubled_header(self) -> None:
        """A file needs exactly one ruleset header."""
        assert [e.message for e in _errors('rule a "x" {\n  then points x2\n}\n')] == [
            "missing ruleset header"
        ]
        assert [e.message for e in _errors(HEADER + HEADER)] == [
            "a file has one ruleset header; this is a second one"
        ]

    @pytest.mark.parametrize(
        ("setting", "message"),
        [
            ("points rounding flor", "unknown setting 'flor'"),
            ("points multipliers sum", "unknown setting 'sum'"),
            ("inactivity 10 days sleep", "unknown setting 'sleep'"),
            ("currency CNY\n  currency USD", "'currency' is set twice in the header"),
        ],
    )
    def test_header_errors(self, setting: str, message: str) -> None:
        """Header choices are checked against the documented words."""
        assert message in [e.message for e in _errors(f'ruleset "t" {{\n  {setting}\n}}\n')]

    def test_upgrade_errors(self) -> None:
        """Only lifetime_spend / day_spend with >= make an upgrade rule."""
        errors = _errors(HEADER + "tier g points x1 upgrade when lifetime_spnd >= 1 or day_spend > 2\n")
        assert [e.message for e in errors] == [
            "unknown upgrade measure 'lifetime_spnd'",
            "an upgrade threshold is written with >=, not >",
        ]
        assert errors[0].hint == "did you mean 'lifetime_spend'?"
