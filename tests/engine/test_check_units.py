"""engine.check.units: unit-level effects that make no sense are refused with place and hint."""

from __future__ import annotations

import pytest

from dsl.parser import parse
from dsl.transform import build_ruleset
from engine.check.ruleset import check_ruleset
from engine.errors import RuleError
from engine.spans import Source

HEAD = 'ruleset "t" {\n}\n'  # rules start on line 3


def _errors(body: str) -> list[RuleError]:
    text = HEAD + body
    source = Source("t.rules", text)
    ruleset, errors = build_ruleset(parse(text, source).tree, source)
    assert ruleset is not None
    return errors + check_ruleset(ruleset)


def _rule(then: str, when: str = "") -> str:
    condition = f"  when {when}\n" if when else ""
    return f"rule r {{\n{condition}  then {then}\n}}\n"


@pytest.mark.parametrize(
    "then",
    [
        "buy 2 get 1 free",
        "buy 3 get 2 free max 4 times",
        "every 2nd unit 5折",
        "every 3rd unit 50% max 1 times",
        "any 3 for 99.00",
        'gift "GIFT-01" qty 2',
    ],
)
def test_sound_unit_effects_pass(then: str) -> None:
    assert _errors(_rule(then)) == []


@pytest.mark.parametrize(
    ("then", "message", "column"),
    [
        ("buy 0 get 1 free", "`buy 0 get 1 free` needs N and M of at least 1", 8),
        ("buy 2 get 0 free", "`buy 2 get 0 free` needs N and M of at least 1", 8),
        ("every 0th unit 5折", "`every Nth unit` needs N of at least 1", 8),
        ("every 2nd unit 10折", "a discount rate must be above 0% and at most 100%", 8),
        ("every 2nd unit 0%", "a discount rate must be above 0% and at most 100%", 8),
        ("every 2nd unit 11折", "11折 is more than 10折", 23),  # then `promo check` drops the echo
        ("every 2rd unit 5折", "2rd is not an ordinal", 14),
        ("any 0 for 9.90", "`any 0 for ...` needs at least 1 unit", 8),
        ("any 3 for 0.00", "a bundle price of 0.00 gives the units away", 8),
        ("buy 2 get 1 free max 0 times", "`max 0 times` lets the rule act no time at all", 8),
        ("any 2 for 9.90 max 0 times", "`max 0 times` lets the rule act no time at all", 8),
        ('gift "G" qty 0', "a gift of 0 units gives nothing", 8),
    ],
)
def test_each_mistake_is_named_at_its_place(then: str, message: str, column: int) -> None:
    errors = _errors(_rule(then))
    assert errors[0].message == message
    assert all(e.span is not None and e.span.line == 4 for e in errors)
    assert errors[0].span is not None and (errors[0].span.line, errors[0].span.column) == (4, column)
    assert errors[0].hint


@pytest.mark.parametrize(
    "when",
    [
        'item.sku != "GIFT-01" and subtotal() >= 300.00',
        'item.sku = "OTHER" and subtotal() >= 300.00',
        'subtotal() >= 300.00 and item.sku in ["A", "B"]',
        'item.sku not in ["GIFT-01"]',
    ],
)
def test_a_gift_its_own_condition_rules_out(when: str) -> None:
    errors = _errors(_rule('gift "GIFT-01" qty 1', when))
    assert len(errors) == 1
    assert errors[0].message.startswith("rule 'r' can never give its gift \"GIFT-01\"")
    assert 'subtotal(item.sku != "GIFT-01")' in (errors[0].hint or "")
    assert errors[0].span is not None and errors[0].span.line == 4


@pytest.mark.parametrize(
    "when",
    [
        'subtotal(item.sku != "GIFT-01") >= 300.00',
        'item.sku in ["GIFT-01", "GIFT-02"] and subtotal() >= 100.00',
        'item.category = "gift"',
        'not item.sku = "GIFT-01" or subtotal() > 1.00',
    ],
)
def test_gift_conditions_that_can_see_the_gift_pass(when: str) -> None:
    assert _errors(_rule('gift "GIFT-01" qty 1', when)) == []
