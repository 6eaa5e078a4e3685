"""Syntax errors: one sentence with a place, a caret and a hint; never Lark's own words."""

from __future__ import annotations

import pytest

import dsl
from dsl.errors import DslSyntaxError
from engine.errors import RuleError, RuleErrors

H = 'ruleset "t" {\n}\n'


def _errors(text: str) -> list[RuleError]:
    with pytest.raises(RuleErrors) as caught:
        dsl.load(text, "f.rules")
    return caught.value.errors


def _one(text: str) -> str:
    errors = _errors(text)
    assert len(errors) == 1, [str(e) for e in errors]
    assert isinstance(errors[0], DslSyntaxError)
    return str(errors[0])


class TestSyntaxMessages:
    def test_money_expected_after_value(self) -> None:
        """The expected thing is named in words ("a money amount"), with what came before and what came."""
        assert _one(H + 'coupon C20 "x" {\n  value abc\n}\n') == (
            "f.rules:4:9: expected a money amount like 20.00 or a percent like 5% "
            "after 'value', found 'abc'\n"
            "      value abc\n"
            "            ^^^"
        )

    def test_missing_value_at_end_of_line(self) -> None:
        """A statement cut short points just past its last word."""
        assert _one(H + 'coupon C20 "x" {\n  value\n}\n') == (
            "f.rules:4:8: expected a money amount like 20.00 or a percent like 5% "
            "after 'value', found the end of the line\n"
            "      value\n"
            "           ^"
        )

    def test_misspelt_keyword_gets_did_you_mean(self) -> None:
        """An unknown word where a statement starts lists the statements and guesses the intended one."""
        assert _one(H + 'rule a "x" {\n  priorty 5\n  then points x2\n}\n') == (
            "f.rules:4:3: expected 'exclusive', 'group', 'limit', 'priority', 'then', 'valid', 'when' or '}' "
            "at the start of this line, found 'priorty'\n"
            "      priorty 5\n"
            "      ^^^^^^^\n"
            "hint: did you mean 'priority'?"
        )

    def test_unclosed_block_is_reported_at_the_next_declaration(self) -> None:
        """A forgotten '}' is named as such where the next declaration begins."""
        assert _one(H + 'rule a "x" {\n  then points x2\n\nrule b "y" {\n  then points x2\n}\n') == (
            "f.rules:6:1: the block above is not closed: expected '}' before this declaration\n"
            '    rule b "y" {\n'
            "    ^^^^\n"
            "hint: end every block with '}' on its own line"
        )

    def test_file_ends_inside_a_block(self) -> None:
        """A file that stops before '}' says so."""
        assert _one(H + 'rule a "x" {\n  then points x2\n') == (
            "f.rules:4:17: the file ends inside a block: expected '}'\n"
            "      then points x2\n"
            "                    ^\n"
            "hint: end every block with '}' on its own line"
        )

    def test_full_width_punctuation(self) -> None:
        """A full-width comma from a Chinese input method gets the ASCII character to write."""
        assert _one(H + 'no_points when item.category in ["a"，"b"]\n') == (
            "f.rules:3:37: '，' is a full-width character\n"
            '    no_points when item.category in ["a"，"b"]\n'
            "                                        ^^\n"
            "hint: write ',' instead"
        )

    def test_unclosed_string(self) -> None:
        """A text missing its closing quote is reported at its opening quote."""
        assert _one(H + 'rule a "x" {\n  when item.category = "A\n  then points x2\n}\n') == (
            "f.rules:4:24: this text has no closing '\"' on its line\n"
            '      when item.category = "A\n'
            "                           ^\n"
            'hint: texts are written on one line, like "食品"'
        )

    def test_rate_without_unit(self) -> None:
        """`item discount 9.5` explains the two ways to write a discount."""
        assert _one(H + 'rule c "z" {\n  then item discount 9.5\n}\n') == (
            "f.rules:4:25: expected 'each' after '9.5', found the end of the line\n"
            "      then item discount 9.5\n"
            "                            ^\n"
            "hint: a rate is written 9.5折 or 5%; an amount off each unit is written 3.00 each"
        )

    def test_missing_comma_between_terms(self) -> None:
        """Two coupon terms without a comma: the hint offers the comma or a new line."""
        assert _one(H + 'coupon c "z" {\n  value 1.00 min_spend 2.00\n}\n') == (
            "f.rules:4:14: expected ',', '}' or the end of the line after '1.00', found 'min_spend'\n"
            "      value 1.00 min_spend 2.00\n"
            "                 ^^^^^^^^^\n"
            "hint: put a ',' before 'min_spend', or start it on a new line"
        )

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                H + 'rule a "x" {\n  valid on\n  then points x2\n}\n',
                "expected a weekday like sat or 周六 after 'on'",
            ),
            (H + 'tier gold "g" points 1.5\n', "expected a factor like x1.5 after 'points', found '1.5'"),
            (H + 'example "e" {\n  at 2026-11-15\n}\n', "expected a time like 10:00 after '2026-11-15'"),
            (
                H + 'rule a "x" {\n  when\n  then points x2\n}\n',
                'expected a condition like item.category = "food"',
            ),
            (
                H + "rule {\n  then points x2\n}\n",
                "expected a rule id like member_day after 'rule', found '{'",
            ),
            (H + 'rule a "a" {\n  priority 1.5\n  then points x2\n}\n', "must be a whole number"),
            (
                H + 'example "e" {\n  line "x" price 1 qty\n}\n',
                "expected a quantity like 1 or 1.250 after 'qty'",
            ),
            (
                H + 'example "e" {\n  expect line 1, points 10\n}\n',
                "expected 'discount', 'net' or 'points' after '1', found ','",
            ),
            (
                H + 'example "e" {\n  expect line net 1.00\n}\n',
                "expected a whole number after 'line', found 'net'",
            ),
            (H + "x", "expected a declaration (ruleset, tier, rule, table, no_points, coupon or example)"),
            (
                H + 'rule a "a" {\n  then points x2\n} rule',
                "expected the end of the line after '}', found 'rule'",
            ),
        ],
    )
    def test_expected_things_are_named_in_words(self, text: str, expected: str) -> None:
        """Each expected terminal becomes a phrase a merchandiser understands."""
        assert expected in str(_errors(text)[0])

    @pytest.mark.parametrize(
        "text",
        [
            H + 'rule a "x" {\n  when item.category @ "x"\n  then points x2\n}\n',
            H + 'rule a "x" {\n  then\n}\n',
            H + "rule",
            H + '{ } } "',
            'ruleset "t" { currency CNY points per_yuan 1 }\n',
            H + "table t {\n  by member.tier item.category\n}\n",
            H + "coupon c { value 1.00, applies_to }\n",
            H + "example",
            "\u3000\u3000}",
            H + 'rule a "x" {\n  then basket discount steps 100 20\n}\n',
        ],
    )
    def test_no_lark_internals_in_any_message(self, text: str) -> None:
        """Terminal names, tokens and Lark's phrases never reach the user."""
        for error in _errors(text):
            rendered = str(error)
            for jargon in (
                "Token(",
                "Expected one of",
                "__ANON",
                "$END",
                "_NL",
                "DECIMAL",
                "LBRACE",
                "Unexpected",
            ):
                assert jargon not in rendered, rendered
            assert error.span is not None and error.span.line >= 1


class TestSeveralErrors:
    def test_one_error_per_bad_declaration(self) -> None:
        """Three broken declarations give three errors, in file order."""
        text = (
            H
            + 'rule a "x" {\n  priorty 5\n  then points x2\n}\n'
            + 'rule b "y" {\n  then item discount 9.5\n}\n'
            + 'rule ok "fine" {\n  then points x2\n}\n'
            + 'coupon c "z" {\n  value abc\n}\n'
        )
        errors = _errors(text)
        assert [(e.span.line, e.span.column) for e in errors] == [(4, 3), (8, 25), (14, 9)]
        assert all(isinstance(e, DslSyntaxError) for e in errors)

    def test_unclosed_block_then_error_in_the_next_declaration(self) -> None:
        """After an unclosed block, the next declaration is still checked on its own."""
        text = H + 'rule a "x" {\n  then points x2\n\nrule b "y" {\n  then points @\n}\n'
        errors = _errors(text)
        assert [(e.span.line, e.span.column) for e in errors] == [(6, 1), (7, 15)]
        assert "expected a factor like x1.5 after 'points', found '@'" in str(errors[1])

    def test_syntax_errors_are_rule_errors_sorted_by_place(self) -> None:
        """RuleErrors holds RuleError instances sorted by line and column."""
        errors = _errors(H + "rule a {\n  then x\n}\nrule b {\n  then y\n}\n")
        assert all(isinstance(e, RuleError) for e in errors)
        assert errors == sorted(errors, key=RuleError.sort_key)
        assert len(errors) == 2
