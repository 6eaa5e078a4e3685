"""The invoice builder's shortcuts change nothing a caller can see.

build_invoice vets each line as it makes it, makes its frozen objects through a twin
class, reads unit prices through an exact decimal context and merges per-rate totals by
a cheap key. These tests pin each shortcut to what the plain way gives: the same
objects, the same first error, the same digits.
"""

from __future__ import annotations

import dataclasses
import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_invoice import (
    R9,
    R13,
    evaluation,
    line,
    outcome,
    worked_example,
)  # tests/engine is on sys.path

from engine.errors import InvalidRequest
from engine.invoice.build import (
    InvoiceError,
    build_invoice,
)
from engine.invoice.tax import PRICE_PLACES, unit_price_excl
from engine.model import Discount, Request, TaxRate


class TestFirstErrorWins:
    """Lines are vetted as they are made, but the error is the one a check of every line first gives."""

    def test_bad_code_later_beats_a_mismatch_earlier(self):
        """A bad line anywhere is reported before an evaluation line of another basket."""
        request, ev = worked_example()
        bad = dataclasses.replace(
            request, lines=(*request.lines[:2], dataclasses.replace(request.lines[2], tax_code="1"))
        )
        swapped = ev._replace(lines=(ev.lines[1], ev.lines[0], ev.lines[2]))
        with pytest.raises(InvalidRequest) as info:
            build_invoice(bad, swapped)
        assert info.value.field == "lines[2].tax_code"

    def test_bad_line_beats_a_short_evaluation(self):
        request, ev = worked_example()
        bad = dataclasses.replace(
            request, lines=(dataclasses.replace(request.lines[0], name=" "), *request.lines[1:])
        )
        with pytest.raises(InvalidRequest) as info:
            build_invoice(bad, ev._replace(lines=ev.lines[:2]))
        assert info.value.field == "lines[0].name"

    def test_bad_line_in_a_basket_that_nets_to_zero(self):
        """Nothing to invoice still refuses a line no invoice could carry."""
        bad = Request(lines=(line("a", "水", 200, 1000, R13, tax_code=""),), at=worked_example()[0].at)
        with pytest.raises(InvalidRequest):
            build_invoice(bad, evaluation(outcome("a", 200, Discount("r", "rule", 200))))

    def test_first_of_two_bad_lines(self):
        """Of two bad lines the first is named, whichever rate objects they hold."""
        request, ev = worked_example()
        lines = (
            request.lines[0],
            dataclasses.replace(request.lines[1], quantity=0, tax=TaxRate(Fraction(9, 100))),
            dataclasses.replace(request.lines[2], tax=TaxRate(Fraction(7, 100))),
        )
        with pytest.raises(InvalidRequest) as info:
            build_invoice(dataclasses.replace(request, lines=lines), ev)
        assert info.value.field == "lines[1].quantity"

    def test_mismatch_without_bad_lines(self):
        request, ev = worked_example()
        with pytest.raises(InvoiceError, match="evaluation line 1 is 'c'"):
            build_invoice(request, ev._replace(lines=(ev.lines[0], ev.lines[2], ev.lines[1])))


class TestRateTotals:
    def test_equal_rates_held_by_different_objects_are_one_row(self):
        """Rows merge by value, highest rate first, whichever object each line holds."""
        r13b = TaxRate(Fraction(13, 100))
        request = Request(
            lines=(
                line("a", "油", 900, 1000, R9),
                line("b", "水", 200, 1000, R13),
                line("c", "茶", 500, 1000, r13b),
            ),
            at=worked_example()[0].at,
        )
        ev = evaluation(outcome("a", 900), outcome("b", 200), outcome("c", 500))
        invoice = build_invoice(request, ev)
        assert [(str(r.rate), r.gross) for r in invoice.by_rate] == [("13%", 700), ("9%", 900)]
        assert invoice.by_rate[0].rate is R13


class TestExactPrice:
    @settings(max_examples=300, deadline=None)
    @given(st.integers(-(10**20), 10**20), st.integers(1, 10**7))
    def test_same_digits_as_reading_text(self, amount, quantity):
        """The price has the digits and exponent the decimal text gives, in any decimal context."""
        scaled = (2 * amount * 10 * 10**PRICE_PLACES + quantity) // (2 * quantity)
        if amount < 0:  # half away from zero
            scaled = -((2 * -amount * 10 * 10**PRICE_PLACES + quantity) // (2 * quantity))
        want = Decimal(f"{scaled}E-{PRICE_PLACES}")
        with decimal.localcontext(decimal.Context(prec=3, traps=[decimal.Inexact])):
            got = unit_price_excl(amount, quantity)
        assert got.as_tuple() == want.as_tuple() and repr(got) == repr(want)
