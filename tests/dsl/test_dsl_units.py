"""The unit-level forms in the language: parsed to the IR, formatted canonically, pinned by examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

import dsl
from engine import rules as ir
from engine.check.run_examples import run_examples
from engine.compiled import compile_ruleset
from engine.errors import RuleErrors

HEAD = 'ruleset "t" {\n  currency CNY\n  timezone "Asia/Shanghai"\n}\n\n'


def _effect(then: str) -> ir.Effect:
    return dsl.load(HEAD + f"rule r {{\n  then {then}\n}}\n", "t.rules").rules[0].effect


@pytest.mark.parametrize(
    ("then", "effect"),
    [
        ("buy 2 get 1 free", ir.BuyGet(2, 1)),
        ("buy 3 get 2 free max 4 times", ir.BuyGet(3, 2, 4)),
        ("every 2nd unit 5折", ir.EveryNth(2, Fraction(1, 2))),
        ("every 3rd unit 20% max 1 times", ir.EveryNth(3, Fraction(1, 5), 1)),
        ("every 11th unit 9折", ir.EveryNth(11, Fraction(1, 10))),
        ("any 3 for 99.00", ir.UnitsFor(3, 9900)),
        ("any 2 for 9.9 max 5 times", ir.UnitsFor(2, 990, 5)),
        ('gift "GIFT-01" qty 2', ir.Gift("GIFT-01", 2)),
    ],
)
def test_each_form_reads_to_its_ir_in_the_item_stage(then: str, effect: ir.Effect) -> None:
    got = _effect(then)
    assert got == effect and ir.stage_of(got) == "item"


def test_formatter_prints_the_canonical_form() -> None:
    messy = (
        HEAD + 'rule r {\n  then  any 3   for 99  max 2   times\n}\nrule g {\n  then gift   "G" qty  1\n}\n'
    )
    text = dsl.format_text(messy, "t.rules")
    assert "  then any 3 for 99.00 max 2 times\n" in text and '  then gift "G" qty 1\n' in text
    assert dsl.format_text(text, "t.rules") == text


def test_a_wrong_ordinal_is_a_located_error() -> None:
    with pytest.raises(RuleErrors) as caught:
        dsl.load(HEAD + "rule r {\n  then every 2th unit 5折\n}\n", "t.rules")
    (error,) = caught.value.errors
    assert error.message == "2th is not an ordinal" and error.hint == "write 2nd"
    assert (error.span.line, error.span.column) == (7, 14)


RULES = HEAD + (
    "rule b31 {\n  then buy 3 get 1 free\n}\n"
    'rule g {\n  when subtotal() >= 100.00\n  then gift "G" qty 2\n}\n'
)


def _example(expect: str) -> str:
    return f'example "e" {{\n  at 2026-11-16 10:00\n  line "x" price 40.00 qty 3\n  expect {expect}\n}}\n'


def test_examples_pin_the_prompts() -> None:
    """3 units of 40.00 under 买三赠一: one more is free; 120.00 >= 100.00: 2 gifts available."""
    compiled = compile_ruleset(dsl.load(RULES + _example("free b31 1, gift g available 2"), "t.rules"))
    assert run_examples(compiled) == []


def test_a_wrong_prompt_expectation_fails_and_says_what_the_engine_listed() -> None:
    compiled = compile_ruleset(dsl.load(RULES + _example("free b31 0, gift g available 1"), "t.rules"))
    (error,) = run_examples(compiled)
    assert "rule b31 offers 1 free unit(s), expected 0" in error.message
    assert "rule g has 2 gift unit(s) available, expected 1" in error.message
    assert "gift G x2 available" in (error.hint or "")


def test_an_expectation_naming_an_unknown_rule_is_refused() -> None:
    with pytest.raises(RuleErrors) as caught:
        dsl.load(RULES + _example("free b32 1"), "t.rules")
    assert [e.message for e in caught.value.errors] == ["unknown rule 'b32'"]
