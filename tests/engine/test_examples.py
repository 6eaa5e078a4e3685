"""engine.check.run_examples: an example's per-line expectations are held to the line outcomes."""

from __future__ import annotations

import dsl
from engine.check.run_examples import run_examples
from engine.compiled import compile_ruleset
from engine.errors import RuleError

# Three lines of 10.00 and 1 fen off over all of them: each line's exact share is 1/3 fen, the
# floors give 0, and the fen left goes to the largest fraction; all three tie on fraction and on
# remaining amount, so the earlier line wins: line 1 takes it. Nets 999, 1000, 1000.
# Gold x1.5: 2999 x 1.5 / 100 = 44.985 -> 44 points; shares 14.985, 15, 15 -> floors 14 + 15 + 15 = 44.
RULESET = """\
ruleset "t" {
}
tier normal "n" points x1
tier gold "g" points x1.5
rule cent "一分" {
  then basket discount 0.01
}
example "e" {
  member tier gold
  at 2026-01-01 10:00
  line "a" price 10.00
  line "b" price 10.00
  line "c" price 10.00
  expect payable 29.99, points 44
EXPECT
}
"""  # the first `expect` is on line 14


def _run(expect: str) -> list[RuleError]:
    return run_examples(compile_ruleset(dsl.load(RULESET.replace("EXPECT", expect), "t.rules")))


class TestLineExpectations:
    def test_the_right_figures_pass(self) -> None:
        """Net, discount and points of every line as worked out above: no error."""
        errors = _run(
            "  expect line 1 net 9.99 discount 0.01 points 14, line 2 net 10.00 discount 0.00 points 15\n"
            "  expect line 3 points 15 net 10.00"
        )
        assert errors == []

    def test_each_wrong_field_is_named_with_its_line(self) -> None:
        """A wrong per-line figure fails the example, naming line and field, in the order written."""
        (error,) = _run("  expect line 2 net 9.99 discount 0.01, line 1 points 15, line 3 points 15")
        assert error.message == (
            "example 'e' failed: line 2 net 10.00, expected 9.99; line 2 discount 0.00, expected 0.01; "
            "line 1 points 14, expected 15"
        )
        assert (error.span.line, error.span.column) == (14, 3)
        assert "line 1: 10.00 - (cent 0.01) = 9.99, 14 points" in (error.hint or "")

    def test_a_per_line_mismatch_joins_the_total_mismatches(self) -> None:
        """Totals and lines are reported together, in one error for the example."""
        text = RULESET.replace("payable 29.99", "payable 30.00").replace("EXPECT", "  expect line 3 net 9.99")
        (error,) = run_examples(compile_ruleset(dsl.load(text, "t.rules")))
        assert error.message == (
            "example 'e' failed: payable 29.99, expected 30.00; line 3 net 10.00, expected 9.99"
        )
