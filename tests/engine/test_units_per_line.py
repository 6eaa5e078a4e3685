"""The compiled engine prices unit rules per line, not per unit (engine/evaluate/units.py).

Units of one line are alike and stand side by side in the walk, so 任选N件's groups inside one
line are priced once, and its largest-remainder split hands the fen left over to whole lines.
These properties hold that to the reference interpreter's unit-by-unit reading
(engine/reference/units.py), including the rare groups of units worth a few fen, where a unit
would get more than its whole fen; and check that a huge quantity is priced line by line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

import dsl
from engine.compiled import compile_ruleset
from engine.evaluate.any_n import units_for
from engine.evaluate.units import _walk
from engine.model import Line, Request, TaxRate
from engine.money import round_half_up
from engine.reference.units import _largest_remainder, _Unit
from engine.rules import UnitsFor

# (remaining fen, q units) per line: small amounts reach units worth a fen or less often
runs = st.lists(
    st.tuples(st.one_of(st.integers(1, 40), st.integers(1, 200000)), st.integers(1, 7)),
    min_size=1,
    max_size=6,
)
effects = st.builds(
    UnitsFor,
    st.integers(1, 5),
    st.one_of(st.integers(1, 20), st.integers(1, 300000)),
    st.none() | st.integers(1, 3),
)


def _by_unit(effect: UnitsFor, walk: list[_Unit]) -> dict[int, int]:
    """PRODUCT.md read literally: groups of n units from the top of the walk, each split unit by unit."""
    groups = [walk[k : k + effect.n] for k in range(0, len(walk) - effect.n + 1, effect.n)]
    fen: dict[int, int] = {}
    for group in groups if effect.limit is None else groups[: effect.limit]:
        over = sum((u.value for u in group), Fraction(0)) - effect.price
        if over <= 0:
            continue
        for u, share in zip(
            group, _largest_remainder(round_half_up(over.numerator, over.denominator), group), strict=True
        ):
            if share:
                fen[u.line] = fen.get(u.line, 0) + share
    return fen


@settings(max_examples=500, deadline=None)
@given(runs, effects)
def test_any_n_per_line_equals_any_n_unit_by_unit(lines, effect):
    remaining = [r for r, _ in lines]
    walk = sorted(
        (_Unit(i, u, Fraction(r, q)) for i, (r, q) in enumerate(lines) for u in range(q)),
        key=lambda u: (-u.value, u.line, u.index),
    )
    order = list(dict.fromkeys(u.line for u in walk))  # the lines in walk order, each once
    runs, scale = _walk([(r, i, q) for i, (r, q) in enumerate(lines)])  # the engine's integer keys
    assert [i for _, i, _ in runs] == order  # the same walk: by exact value, a tie to the earlier line
    got = units_for(effect, runs, len(walk), scale, remaining)
    assert {i: fen for i, fen in got.items() if fen} == _by_unit(effect, walk)


def test_a_million_units_are_priced_line_by_line() -> None:
    """任选2件 and 第2件半价 over a million units of one line, without a million steps."""
    ruleset = dsl.load(
        'ruleset "t" {\n  currency CNY\n  timezone "Asia/Shanghai"\n}\n'
        "rule a {\n  then any 2 for 1.00\n}\nrule b {\n  then every 2nd unit 5折\n}\n",
        "t.rules",
    )
    line = Line("1", "screw", 100, 1_000_000 * 1000, TaxRate(Fraction(13, 100)))
    evaluation = compile_ruleset(ruleset).evaluate(Request((line,), datetime(2026, 11, 14, tzinfo=UTC)))
    # a million units at 1.00, pairs for 1.00: 500,000 x 1.00 off; then every 2nd of what is
    # left (0.50 a unit) at half price: 500,000 x 0.25
    assert [(d.source, d.fen) for d in evaluation.lines[0].discounts] == [
        ("a", 50_000_000),
        ("b", 12_500_000),
    ]
