"""dsl.load / load_path: all errors or a sound ruleset, and nothing but RuleErrors for any text."""

from __future__ import annotations

from pathlib import Path

import pytest
from dsl_samples import HEADER, RICH, ruleset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from engine.errors import RuleError, RuleErrors

RULESETS = sorted(p.parent for p in (Path(__file__).parents[2] / "rulesets").glob("*/programme.rules"))


def _errors(text: str) -> list[RuleError]:
    with pytest.raises(RuleErrors) as caught:
        dsl.load(text, "t.rules")
    return caught.value.errors


def _only_rule_errors(text: str) -> None:
    """load either returns a Ruleset or raises RuleErrors of real, placed, non-internal errors."""
    try:
        dsl.load(text, "fuzz.rules")
    except RuleErrors as exc:
        assert exc.errors
        for error in exc.errors:
            assert isinstance(error, RuleError)
            assert "internal error" not in error.message, str(error)
            str(error)  # renders without raising


class TestLoad:
    def test_load_keeps_the_source_text(self) -> None:
        """The ruleset carries its text (the version hash is computed from it)."""
        assert dsl.load(RICH, "rich.rules").source_text == RICH

    def test_load_path_names_errors_by_the_path_given(self, tmp_path: Path) -> None:
        """load_path reads UTF-8 and errors start with the path as it was passed."""
        good = tmp_path / "good.rules"
        good.write_text(RICH, encoding="utf-8")
        assert dsl.load_path(good) == dsl.load(RICH, "x")
        bad = tmp_path / "bad.rules"
        bad.write_text(HEADER + "tier gold points 1\n", encoding="utf-8")
        with pytest.raises(RuleErrors) as caught:
            dsl.load_path(str(bad))
        assert str(caught.value).startswith(f"{bad}:3:18: expected a factor like x1.5 after 'points'")

    def test_errors_of_build_and_check_come_together_sorted(self) -> None:
        """A literal error and a checker error in one file are both reported, in file order."""
        text = ruleset(
            'rule a "x" {\n  when member.tier >= glod\n  then points x2\n}\n'
            'rule b "y" {\n  then item discount 11折\n}\n'
        )
        assert [(e.span.line, e.message) for e in _errors(text)] == [
            (7, "unknown tier 'glod'"),
            (11, "11折 is more than 10折"),
        ]

    def test_a_stand_in_value_does_not_cause_a_second_error(self) -> None:
        """11折 is reported once, not again as "a rate of 0" by the checker."""
        assert len(_errors(ruleset('rule a "x" {\n  then item discount 11折\n}\n'))) == 1

    def test_reversed_window_is_reported_on_its_own_line(self) -> None:
        """The dates and the hours each get their own line, and the checker's copy is dropped."""
        text = ruleset('rule a "x" {\n  valid on mon\n  valid 2026-12-31 to 2026-11-01\n'
                       "  valid hours 14:00 to 10:00\n"
                       "  then points x2\n}\n")  # fmt: skip
        assert [(e.span.line, e.message) for e in _errors(text)] == [
            (8, "this window ends before it starts"),
            (9, "these hours are empty: the end must be after the start"),
        ]

    def test_syntax_errors_stop_before_building(self) -> None:
        """With a syntax error, only syntax errors are reported (the rest cannot be trusted)."""
        errors = _errors(ruleset('rule a "x" {\n  when member.tier >= glod\n  then points 2\n}\n'))
        assert [e.message for e in errors] == ["expected a factor like x1.5 after 'points', found '2'"]


class TestShippedRulesets:
    def test_the_shipped_rulesets_are_found(self) -> None:
        """The round-trip test below has files to run on (an empty glob would pass vacuously)."""
        assert len(RULESETS) >= 3

    @pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.name)
    def test_every_shipped_ruleset_loads_and_round_trips(self, path: Path) -> None:
        """Each programme folder in rulesets/ loads clean; its formatted files load to the same ruleset."""
        loaded = dsl.load_path(path)
        assert loaded.campaigns, "a shipped programme has its campaigns in their own files"
        files = sorted(path.glob("*.rules"))
        formatted = {p.name: dsl.format_text(p.read_text(encoding="utf-8"), str(p)) for p in files}
        assert dsl.load_files(formatted, str(path)) == loaded


_WORDS = [
    "ruleset", "tier", "rule", "table", "coupon", "example", "no_points", "when", "then", "item", "basket",
    "discount", "points", "bonus", "over", "steps", "every", "max", "times", "valid", "on", "hours", "to",
    "priority", "group", "exclusive", "by", "columns", "value", "min_spend", "applies_to", "members_only",
    "redeem_for", "member", "tier", "guest", "at", "line", "price", "qty", "tax", "expect", "payable", "rule",
    "and", "or", "not", "in", "has", "is", "today", "month", "subtotal", "count", "quantity", "item.category",
    "member.tier", "member.birthday", "weekday", "gold", "sat", "周六", "{", "}", "(", ")", "[", "]", ",",
    "=",
    ">=", "<", "!=", "->", "-", "20.00", "1.005", "15", "9.5折", "11折", "5%", "x1.5", "x0", "2026-11-15",
    "2026-02-30", "10:00", "25:99", '"食品"', '"', "#", "\n", "\n", "\n", " ", "  ", "@", "，", "\u3000",
]  # fmt: skip


class TestAnyTextOnlyRaisesRuleErrors:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(_WORDS), max_size=60).map(" ".join))
    def test_token_soup(self, text: str) -> None:
        """Random sequences of real words and symbols never crash the front end."""
        _only_rule_errors(text)
        _only_rule_errors(HEADER + text)

    @settings(max_examples=300, deadline=None)
    @given(st.integers(0, len(RICH)), st.integers(0, 40))
    def test_truncated_and_spliced_rich_sample(self, cut: int, drop: int) -> None:
        """The rich sample cut short, or with a piece cut out, gives RuleErrors (or loads)."""
        _only_rule_errors(RICH[:cut])
        _only_rule_errors(RICH[:cut] + RICH[cut + drop :])

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_arbitrary_unicode(self, text: str) -> None:
        """Any Unicode text at all gives RuleErrors, never another exception."""
        _only_rule_errors(text)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.sampled_from(_WORDS), max_size=30).map(" ".join))
    def test_format_only_raises_rule_errors(self, text: str) -> None:
        """fmt on garbage raises RuleErrors; on what parses, it is idempotent."""
        try:
            once = dsl.format_text(HEADER + text, "f")
        except RuleErrors:
            return
        assert dsl.format_text(once, "f") == once
