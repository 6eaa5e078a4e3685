"""engine.check.ruleset: rulesets that parse but make no sense are refused with a sentence, place and hint."""

from __future__ import annotations

from datetime import date, datetime, time
from fractions import Fraction

import pytest

from dsl.parser import parse
from dsl.transform import build_ruleset
from engine import rules as ir
from engine.check.ruleset import check_ruleset
from engine.errors import RuleError, RuleTypeError
from engine.spans import Source

HEAD = """\
ruleset "t" {
}
tier normal "n" points x1
tier gold "g" points x1.5
"""  # rules start on line 5


def _check(body: str, head: str = HEAD) -> list[RuleError]:
    """Parse and build (no check), then run the checker alone."""
    text = head + body
    source = Source("t.rules", text)
    ruleset, errors = build_ruleset(parse(text, source).tree, source)
    assert errors == [] and ruleset is not None, [str(e) for e in errors]
    return check_ruleset(ruleset)


def _messages(body: str, head: str = HEAD) -> list[str]:
    return [e.message for e in _check(body, head)]


def _rule(when: str = "", then: str = "item discount 5%", extra: str = "") -> str:
    lines = [extra] if extra else []
    if when:
        lines.append(f"  when {when}")
    lines.append(f"  then {then}")
    return 'rule r "x" {\n' + "\n".join(lines) + "\n}\n"


def _ruleset(**kw: object) -> ir.Ruleset:
    return ir.Ruleset(name="t", settings=kw.pop("settings", ir.Settings()), **kw)  # type: ignore[arg-type]


class TestSoundRulesets:
    def test_a_sound_ruleset_has_no_errors(self) -> None:
        """Every legal form together gives an empty list."""
        body = (
            _rule('member.tier >= gold and item.category in ["a"] and weekday = sat and item.price > 1')
            + 'rule b "y" {\n  when subtotal(item.tags has "x") >= 10 and count() > 1 and\n'
            + "    today is member.birthday\n"
            '  then basket discount 5.00 over item.brand != "z"\n}\n'
            + 'no_points when item.category = "tobacco"\n'
        )
        assert _check(body) == []


class TestUnknownNames:
    def test_unknown_field_with_did_you_mean(self) -> None:
        """A misspelt field is named, at its place, with the closest real field."""
        (error,) = _check(_rule("member.teir = gold"))
        assert str(error) == (
            "t.rules:6:8: unknown field 'member.teir'\n"
            "      when member.teir = gold\n"
            "           ^^^^^^^^^^^\n"
            "hint: did you mean 'member.tier'?"
        )

    def test_unknown_tier_with_did_you_mean(self) -> None:
        """`member.tier >= glod` suggests gold."""
        (error,) = _check(_rule("member.tier >= glod"))
        assert str(error) == (
            "t.rules:6:23: unknown tier 'glod'\n"
            "      when member.tier >= glod\n"
            "                          ^^^^\n"
            "hint: did you mean 'gold'?"
        )

    def test_unknown_tier_without_a_close_match_lists_the_tiers(self) -> None:
        """With nothing close, the hint lists the declared tiers."""
        (error,) = _check(_rule("member.tier = vip"))
        assert error.hint == "the tiers are: normal, gold"

    def test_unquoted_text_is_an_unknown_field_with_a_quoting_hint(self) -> None:
        """`item.category = food` says to write "food"."""
        (error,) = _check(_rule("item.category = food"))
        assert (error.message, error.hint) == (
            "unknown field 'food'",
            'text is written in double quotes: "food"',
        )

    def test_tier_compared_with_another_field(self) -> None:
        """A tier id next to anything but member.tier is pointed out."""
        (error,) = _check(_rule("basket.line_count = gold"))
        assert error.message == "'gold' is a tier; only member.tier is compared with tiers"

    def test_unknown_tier_in_table_and_example(self) -> None:
        """Table columns and example members must name declared tiers."""
        table = 'table t {\n  by member.tier, item.category\n  columns normal glod\n  "a" 9折 9折\n}\n'
        example = (
            'example "e" {\n  member tier diamnd\n  at 2026-01-01 10:00\n  line "x" price 1\n'
            "  expect payable 1\n}\n"
        )
        errors = _check(table + example)
        assert [(e.message, e.span.line) for e in errors] == [
            ("unknown tier 'glod'", 7),
            ("unknown tier 'diamnd'", 11),
        ]

    def test_example_names_unknown_coupons_rules_and_reasons(self) -> None:
        """An example may only name coupons and rules the ruleset has, and real rejection reasons."""
        body = (
            _rule()
            + 'coupon C20 "c" {\n  value 20\n}\n'
            + 'example "e" {\n  at 2026-01-01 10:00\n  line "x" price 1\n  coupon C2\n'
            + "  expect rule rr 1.00, coupon C21 accepted, coupon C20 rejected min_spnd\n}\n"
        )
        got = [(e.message, e.hint) for e in _check(body)]
        assert got == [
            ("unknown coupon 'C2'", "did you mean 'C20'?"),
            ("unknown rule 'rr'", "did you mean 'r'?"),
            ("unknown coupon 'C21'", "did you mean 'C20'?"),
            ("unknown rejection reason 'min_spnd'", "did you mean 'min_spend'?"),
        ]

    def test_unknown_timezone(self) -> None:
        """A misspelt timezone is refused with the closest zone."""
        (error,) = _check("", head='ruleset "t" {\n  timezone "Asia/Shangai"\n}\n')
        assert (error.message, error.hint) == (
            "unknown timezone 'Asia/Shangai'",
            "did you mean 'Asia/Shanghai'?",
        )


class TestTypes:
    @pytest.mark.parametrize(
        ("when", "message", "hint"),
        [
            ('subtotal() >= "100"', 'cannot compare subtotal(...) (money) with "100" (text)',
             "write a money amount like 100.00"),
            ("subtotal() > count()", "cannot compare subtotal(...) (money) with count(...) (a count)", None),
            ('member.tier = "gold"', 'cannot compare member.tier (a tier) with "gold" (text)',
             "write a tier id without quotes, like member.tier >= gold"),
            ("item.category = 15", "cannot compare item.category (text) with 15 (a count)",
             'write text in double quotes, like "food"'),
            ('day_of_month = "15"', 'cannot compare day_of_month (a count) with "15" (text)',
             "write a whole number like 3"),
            ("date >= 10:00", "cannot compare date (a date) with 10:00 (a time)",
             "write a date like 2026-11-15"),
            ('item.tags = "x"', "tags are not compared with =", 'use has, like item.tags has "organic"'),
            ('item.category > "a"', "text has no order: use = or !=", None),
            ("1 = 1", "this compares two values", "compare a field with a value, like day_of_month = 15"),
        ],
    )  # fmt: skip
    def test_comparison_types(self, when: str, message: str, hint: str | None) -> None:
        """Comparisons across types are refused, saying what to write instead."""
        (error,) = _check(_rule(when))
        assert isinstance(error, RuleTypeError)
        assert (error.message, error.hint) == (message, hint)

    def test_has_on_a_text_field(self) -> None:
        """`has` needs a tags field; on a text field the hint is `=`."""
        (error,) = _check(_rule('item.category has "x"'))
        assert str(error) == (
            "t.rules:6:8: 'has' needs a tags field, and item.category is text\n"
            '      when item.category has "x"\n'
            "           ^^^^^^^^^^^^^^^^^^^^^\n"
            'hint: write item.category = "..."'
        )

    def test_in_list_types(self) -> None:
        """Each list value must have the subject's type; tags use has."""
        assert _messages(_rule('day_of_month in [1, "2"]')) == [
            'cannot compare day_of_month (a count) with "2" (text)'
        ]
        assert _messages(_rule('item.tags in ["a"]')) == ["a tags field is tested with has, not in"]


class TestScope:
    def test_item_field_in_a_basket_rules_when(self) -> None:
        """item.* in a basket rule's `when` (outside a measure) has no line to read."""
        (error,) = _check(_rule('item.category = "food"', "basket discount 5.00"))
        assert str(error) == (
            "t.rules:6:8: item.category needs a basket line, but the `when` of a basket rule looks at"
            " the whole basket\n"
            '      when item.category = "food"\n'
            "           ^^^^^^^^^^^^^\n"
            'hint: measure the lines, like subtotal(item.category = "x") >= 100.00, or pick them with `over`'
        )

    def test_item_field_in_a_points_rules_when(self) -> None:
        """The same holds for points rules."""
        assert _messages(_rule('item.brand = "x"', "points x2")) == [
            "item.brand needs a basket line, but the `when` of a points rule looks at the whole basket"
        ]

    @pytest.mark.parametrize(
        "body",
        [
            _rule('item.category = "a"', "item discount 5%"),
            _rule('subtotal(item.category = "a") >= 1', 'basket discount 1.00 over item.brand = "b"'),
            _rule("", 'bonus 5 points over item.tags has "x"'),
            'no_points when item.category = "a"\n',
            'coupon c {\n  value 1, applies_to item.category = "a"\n}\n',
        ],
    )
    def test_item_fields_where_a_line_is_in_scope(self, body: str) -> None:
        """item.* is fine in item rules, measures, over, applies_to and no_points."""
        assert _check(body) == []

    def test_nested_measure(self) -> None:
        """A measure inside a measure is refused."""
        assert _messages(_rule("subtotal(count() > 1) > 1", "basket discount 1")) == [
            "count(...) cannot be nested in another measure"
        ]


class TestDeclarations:
    def test_duplicate_ids(self) -> None:
        """Rule and table ids share one namespace; coupons and tiers have their own."""
        body = (
            _rule() + _rule() + 'table r {\n  by member.tier, item.category\n  columns gold\n  "a" 9折\n}\n'
        )
        body += "coupon c {\n  value 1\n}\ncoupon c {\n  value 2\n}\ntier gold\n"
        got = [(e.message, e.span.line) for e in _check(body)]
        assert got == [
            ("rule id 'r' is already used on line 5", 8),
            ("rule id 'r' is already used on line 5", 11),
            ("coupon id 'c' is already used on line 16", 19),
            ("tier id 'gold' is already used on line 4", 22),
        ]

    def test_group_across_stages(self) -> None:
        """A best-of group mixing an item rule and a basket rule is refused at the odd one out."""
        body = _rule(extra='  group "g"') + 'rule b "y" {\n  group "g"\n  then basket discount 5\n}\n'
        (error,) = _check(body)
        assert error.message == "rule 'b' is a basket rule but group \"g\" starts with an item rule 'r'"
        assert error.span.line == 9

    def test_group_mixing_exclusive_is_fine(self) -> None:
        """Exclusive and non-exclusive rules of one stage may share a group."""
        body = (
            _rule(extra='  group "g"\n  exclusive')
            + 'rule b "y" {\n  group "g"\n  then item discount 9折\n}\n'
        )
        assert _check(body) == []

    def test_exclusive_points_rule(self) -> None:
        """`exclusive` on a points rule is refused: it only affects discounts."""
        assert _messages(_rule(then="points x2", extra="  exclusive")) == [
            "rule 'r' gives points, and `exclusive` only affects discounts"
        ]

    @pytest.mark.parametrize(
        ("then", "message"),
        [
            ("item discount 0%", "a discount rate must be above 0% and at most 100%"),
            ("item discount 10折", "a discount rate must be above 0% and at most 100%"),
            ("item discount 0.00 each", "an amount of 0.00 does nothing"),
            ("item price 0", "an amount of 0.00 does nothing"),
            ("basket discount 0", "a basket discount of 0.00 does nothing"),
            ("basket discount steps 100 -> 20, 100 -> 30", "step 100.00 must be above the step before it"),
            ("basket discount steps 100 -> 0", "the step at 100.00 takes 0.00 off"),
            ("basket discount 0 every 100", "the amount off of 0.00 does nothing"),
            ("basket discount 1 every 100 max 0 times", "`max N times` needs N of at least 1"),
            ("points x0", "a points factor must be above 0, not x0"),
            ("bonus 0 points", "a bonus must be at least 1 point"),
        ],
    )
    def test_effect_amounts(self, then: str, message: str) -> None:
        """Rates outside (0, 100%], zero amounts, unordered steps and zero factors are refused."""
        assert _messages(_rule(then=then)) == [message]

    def test_step_amount_above_threshold_is_fine(self) -> None:
        """A step may take more than its threshold (the discount is capped when applied)."""
        assert _check(_rule(then="basket discount steps 10 -> 20")) == []

    def test_table_cell_of_ten_zhe(self) -> None:
        """10折 in a table is no discount: write '-'."""
        (error,) = _check('table t {\n  by member.tier, item.category\n  columns gold\n  "a" 10折\n}\n')
        assert error.message == "a discount rate must be above 0% and at most 100% (row a, column gold)"
        assert error.hint == "write a rate above 0, like 9.5折 or 5% (or '-' for no discount)"

    def test_table_key_that_cannot_key(self) -> None:
        """A tags field cannot be a table key."""
        assert _messages('table t {\n  by member.tier, item.tags\n  columns gold\n  "a" 9折\n}\n') == [
            "item.tags cannot be a table key"
        ]

    def test_settings(self) -> None:
        """Redemption rate, cap, currency and day counts are checked."""
        settings = ir.Settings(
            currency="yuan", redeem_points_per_yuan=0, redeem_cap=Fraction(3, 2), inactivity_days=0
        )
        got = [e.message for e in check_ruleset(_ruleset(settings=settings))]
        assert got == [
            "unknown currency 'yuan'",
            "redemption needs a positive number of points per yuan",
            "the redemption cap must be above 0% and at most 100%",
            "inactivity must be a positive number of days",
        ]

    def test_tier_rates(self) -> None:
        """A tier earning x0 or with a zero upgrade threshold is refused."""
        tiers = (ir.Tier("a", "", Fraction(0), 0), ir.Tier("b", "", Fraction(1), 1, upgrade_lifetime=0))
        assert [e.message for e in check_ruleset(_ruleset(tiers=tiers))] == [
            "tier 'a' earns points x0: a tier rate must be above 0",
            "tier 'b' has an upgrade threshold of 0.00",
        ]

    def test_coupon_terms(self) -> None:
        """A coupon needs a value above 0 and a points price of at least 1."""
        coupon = ir.Coupon("c", "", 0, min_spend=-1, points_price=0)
        assert [e.message for e in check_ruleset(_ruleset(coupons=(coupon,)))] == [
            "a coupon value of 0.00 does nothing",
            "a minimum spend cannot be negative",
            "a coupon's points price must be at least 1 point",
        ]


class TestValidity:
    def test_reversed_dates_and_empty_hours_on_a_hand_built_rule(self) -> None:
        """The checker refuses windows that end before they start (dsl reports them itself too)."""
        validity = ir.Validity(date(2026, 12, 31), date(2026, 11, 1), hours=(time(14), time(10)))
        rule = ir.Rule("r", "", ir.PointsMultiplier(Fraction(2)), validity=validity)
        assert [e.message for e in check_ruleset(_ruleset(rules=(rule,)))] == [
            "this window ends (2026-11-01) before it starts (2026-12-31)",
            "the hours 14:00 to 10:00 are empty: the end must be after the start",
        ]

    def test_one_day_window_and_hours_to_midnight_are_fine(self) -> None:
        """A window of one day, and hours ending at 24:00, are legal."""
        validity = ir.Validity(date(2026, 1, 1), date(2026, 1, 1), frozenset({0}), (time(20), time.max))
        rule = ir.Rule("r", "", ir.PointsMultiplier(Fraction(2)), validity=validity)
        assert check_ruleset(_ruleset(rules=(rule,))) == []

    def test_hand_built_percent_above_one(self) -> None:
        """A rate above 1 (only possible in a hand-built IR) is refused."""
        rule = ir.Rule("r", "", ir.PercentOff(Fraction(3, 2)))
        assert [e.message for e in check_ruleset(_ruleset(rules=(rule,)))] == [
            "a discount rate must be above 0% and at most 100%"
        ]


class TestExamples:
    def _example(self, body: str, head: str = HEAD) -> list[str]:
        return _messages(f'example "e" {{\n  at 2026-01-01 10:00\n{body}\n  expect payable 1\n}}\n', head)

    def test_line_that_costs_nothing(self) -> None:
        """A line whose amount rounds to 0 fen is refused (it would be bad input at the till)."""
        assert self._example('  line "x" price 0.01 qty 0.001') == ["line 'x' costs nothing"]

    def test_unknown_tax_rate(self) -> None:
        """Tax rates are the ones finance knows."""
        (message,) = self._example('  line "x" price 1 tax 7%')
        assert message.startswith("unknown tax rate '7%'")

    def test_redeeming_needs_a_redeem_setting_and_a_member(self) -> None:
        """Redemption in an example needs the header's `redeem` and a member."""
        assert self._example('  line "x" price 1\n  redeem 10 points') == [
            "this example redeems points but the ruleset has no `redeem` setting",
            "a guest cannot redeem points",
        ]

    def test_errors_are_sorted_by_place(self) -> None:
        """check_ruleset returns errors in file order."""
        errors = _check(_rule("member.tier >= x") + _rule("item.sku = y"))
        assert errors == sorted(errors, key=RuleError.sort_key)
        assert [e.span.line for e in errors] == [6, 9, 10]

    def test_example_at_is_not_checked_against_validity(self) -> None:
        """An example outside every rule's window is legal (it checks that nothing applies)."""
        example = ir.Example(
            "e", datetime(2020, 1, 1), (ir.ExampleLine("x", 100, 1000),), ir.Expectation(payable=100)
        )
        assert check_ruleset(_ruleset(examples=(example,))) == []

    def test_line_expectation_names_a_line_the_example_does_not_have(self) -> None:
        """`line 0` and `line 3` of a two-line example are refused at the term, with the range to use."""
        body = (
            'example "e" {\n  at 2026-01-01 10:00\n  line "a" price 1\n  line "b" price 2\n'
            "  expect payable 3, line 2 net 2.00, line 3 net 1.00\n"
            "  expect line 0 points 1, line 1 discount 0\n}\n"
        )  # the example starts on line 5: its `expect` lines are 9 and 10
        got = [(e.message, e.span.line, e.span.column, e.span.end_column, e.hint) for e in _check(body)]
        hint = "write `line 1` to `line 2`: the example's lines, counted from the top"
        assert got == [
            ("this example has 2 lines; `line 3` names none", 9, 38, 53, hint),
            ("this example has 2 lines; `line 0` names none", 10, 10, 25, hint),
        ]
        rendered = str(_check(body)[0])
        assert rendered.startswith("t.rules:9:38: this example has 2 lines; `line 3` names none\n")
        assert "\n    " + " " * 37 + "^" * 15 + "\n" in rendered

    def test_line_expectation_of_a_one_line_example(self) -> None:
        """With one line the hint names it; `line 1` itself is fine."""
        assert self._example('  line "x" price 1\n  expect line 1 net 1.00, line 2 net 1.00') == [
            "this example has 1 line; `line 2` names none"
        ]
        ex = ir.Example(
            "e",
            datetime(2026, 1, 1),
            (ir.ExampleLine("x", 100, 1000),),
            ir.Expectation(lines=(ir.LineExpectation(1, net=100), ir.LineExpectation(2, points=1))),
        )
        (error,) = check_ruleset(_ruleset(examples=(ex,)))  # hand-built IR is checked the same way
        assert (error.message, error.hint) == (
            "this example has 1 line; `line 2` names none",
            "write `line 1`, the example's only line",
        )


class TestLeadReview:
    """Checks added when the compiled engine met the reference interpreter."""

    def test_ladder_amounts_must_rise(self) -> None:
        """A ladder whose higher step gives less is refused: 'the largest step met' would look like a bug."""
        from engine.check.ruleset import check_ruleset
        from engine.rules import BasketSteps, Rule, Ruleset, Settings

        rs = Ruleset("t", Settings(), rules=(Rule("l", "l", BasketSteps(((10000, 3000), (20000, 2000)))),))
        messages = [e.message for e in check_ruleset(rs)]
        assert any("no more than the step before it" in m for m in messages), messages

    def test_points_group_mixing_multiplier_and_bonus(self) -> None:
        """A best-of group cannot compare a multiplier with a bonus."""
        from fractions import Fraction

        from engine.check.ruleset import check_ruleset
        from engine.rules import BonusPoints, PointsMultiplier, Rule, Ruleset, Settings

        rs = Ruleset(
            "t",
            Settings(),
            rules=(
                Rule("m", "m", PointsMultiplier(Fraction(2)), group="g"),
                Rule("b", "b", BonusPoints(50), group="g", order=1),
            ),
        )
        messages = [e.message for e in check_ruleset(rs)]
        assert any("multiplies points and the other adds a bonus" in m for m in messages), messages
