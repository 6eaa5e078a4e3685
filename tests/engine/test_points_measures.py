"""Regression: a points rule's measures count the lines an exclusive rule discounted (PRODUCT.md,
"Exclusive": earning points is unaffected)."""

from __future__ import annotations

from forms_support import both, line

from engine.model import Member

RULESET = """\
ruleset "t" {
}
tier normal "n"
rule first "line 1 only" {
  exclusive
  when item.sku = "A"
  then item discount 10%
}
rule bonus "满100送100" {
  when MEASURE
  then bonus 100 points
}
"""


def test_subtotal_in_a_points_rule_counts_a_locked_line() -> None:
    """100.00 - 10% = 90.00 locked, plus 50.00: subtotal() = 140.00 >= 100.00, so the bonus is due.
    Points: floor(14000 fen x 1 / 100) = 140, + 100 bonus = 240 (the engine gave 140)."""
    got = both(
        RULESET.replace("MEASURE", "subtotal() >= 100.00"),
        [line("A", 10000), line("B", 5000)],
        Member("normal"),
    )
    assert got.points.earned == 240
    assert [b.rule for b in got.points.bonuses] == ["bonus"]


def test_count_in_a_points_rule_counts_a_locked_line() -> None:
    """count() sees both lines (the locked one too): 2 >= 2, bonus granted: 140 + 100."""
    got = both(
        RULESET.replace("MEASURE", "count() >= 2"), [line("A", 10000), line("B", 5000)], Member("normal")
    )
    assert got.points.earned == 240


def test_a_discount_rule_still_skips_the_locked_line() -> None:
    """The same measure in a basket rule leaves the locked line out: 50.00 < 100.00, no 满减."""
    text = RULESET.replace("MEASURE", "subtotal() >= 100.00").replace(
        "then bonus 100 points", "then basket discount 10.00"
    )
    got = both(text, [line("A", 10000), line("B", 5000)], Member("normal"))
    assert got.discount == 1000  # only the 10% on line 1
