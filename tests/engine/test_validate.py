"""The compiled engine's request checks name the first bad line and what is wrong with it.

validate_request checks all lines at once (their smallest and largest amounts and quantities)
and goes line by line only to name the culprit; these cases hold it to the per-line rules.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from engine.errors import InvalidRequest
from engine.evaluate.validate import MAX_FEN, MAX_QTY, validate_request
from engine.model import Line, Request, TaxRate
from engine.rules import Ruleset, Settings

RULESET = Ruleset(name="t", settings=Settings(), source_text="t\n")
GOOD = Line("ok", "good", 1000, 2000, TaxRate(Fraction(13, 100)))


def _refusal(*lines: Line) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as err:
        validate_request(RULESET, Request(lines, datetime(2026, 11, 14, tzinfo=UTC)))
    return err.value


@pytest.mark.parametrize(
    ("price", "quantity", "field", "words"),
    [
        (-100, 1000, "lines[1].unit_price", "must not be negative"),
        (-100, -1000, "lines[1].unit_price", "must not be negative"),  # a positive product all the same
        (100, 0, "lines[1].quantity", "must be positive"),
        (100, -5, "lines[1].quantity", "must be positive"),
        (1, MAX_QTY + 1, "lines[1].quantity", "is not a quantity"),
        (MAX_FEN, 2000, "lines[1]", "beyond any sale"),
        (1, 499, "lines[1]", "rounds to 0.00"),
        (0, 1000, "lines[1]", "rounds to 0.00"),
    ],
)
def test_a_bad_line_is_named_with_what_is_wrong(price, quantity, field, words):
    bad = Line("bad", "bad", price, quantity, GOOD.tax)
    err = _refusal(GOOD, bad, Line("also-bad", "x", -1, 1000, GOOD.tax))
    assert (err.field, words in str(err)) == (field, True)


def test_amounts_are_the_rounded_line_amounts_of_good_lines():
    lines = (GOOD, Line("w", "weighed", 1390, 455, GOOD.tax), Line("h", "half", 1, 500, GOOD.tax))
    assert validate_request(RULESET, Request(lines, datetime(2026, 11, 14, tzinfo=UTC))) == [2000, 632, 1]


def test_duplicate_and_empty_ids_are_refused():
    assert _refusal(GOOD, GOOD).field == "lines[1].id"
    assert _refusal(Line("", "x", 100, 1000, GOOD.tax)).field == "lines[0].id"


def test_amounts_are_line_amount_of_each_line():
    """The amounts validate_request returns (evaluation reuses them) are engine.money.line_amount's."""
    from engine.money import line_amount

    prices = (1, 2, 499, 500, 501, 8990, 12345, MAX_FEN // 1000)
    quantities = (1, 455, 499, 500, 501, 999, 1000, 1500, 2001, MAX_QTY)
    lines = []
    for p in prices:
        for q in quantities:
            if 0 < line_amount(p, q) <= MAX_FEN:
                lines.append(Line(f"{p}x{q}", "x", p, q, GOOD.tax))
    request = Request(tuple(lines), datetime(2026, 11, 14, tzinfo=UTC))
    assert validate_request(RULESET, request) == [line_amount(ln.unit_price, ln.quantity) for ln in lines]
    assert len(lines) > 40
