"""Money arithmetic: the one rounding rule and exact parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.apportion import apportion, split_by_remainder
from engine.money import format_fen, format_qty, line_amount, parse_fen, parse_qty, round_half_up


class TestRoundHalfUp:
    def test_half_rounds_away_from_zero(self) -> None:
        """0.065 -> 0.07 and -0.065 -> -0.07 (四舍五入), the VAT doc's vectors."""
        assert round_half_up(65, 10) == 7
        assert round_half_up(-65, 10) == -7
        assert round_half_up(64, 10) == 6
        assert round_half_up(-64, 10) == -6

    def test_negative_denominator(self) -> None:
        """The sign of the quotient, not of the numerator, decides the direction."""
        assert round_half_up(65, -10) == -7

    @given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
    def test_within_half_of_the_exact_value(self, n: int, d: int) -> None:
        """The result is never more than half a unit from n/d."""
        r = round_half_up(n, d)
        assert abs(2 * (r * d - n)) <= d

    def test_weighed_line(self) -> None:
        """1.255 kg at 6.40 is 8.032 yuan -> 8.03."""
        assert line_amount(640, 1255) == 803


class TestParsing:
    def test_yuan_and_quantities(self) -> None:
        """Yuan text becomes fen and quantities thousandths, exactly."""
        assert parse_fen("9.5") == 950
        assert parse_fen("100") == 10000
        assert parse_qty("1.25") == 1250

    @pytest.mark.parametrize("text", ["1.005", "abc", "1e3", "", "١٢"])
    def test_refuses_inexact_money(self, text: str) -> None:
        """Three decimals, exponents and non-ASCII digits are not money."""
        with pytest.raises(ValueError):
            parse_fen(text)

    def test_formatting(self) -> None:
        """Fen print as yuan with two decimals; quantities without trailing zeros."""
        assert format_fen(-5) == "-0.05"
        assert format_fen(123456) == "1234.56"
        assert format_qty(1250) == "1.25"
        assert format_qty(2000) == "2"


class TestApportion:
    def test_vat_worked_example(self) -> None:
        """12.00 over 7.00 / 59.90 / 8.00 gives 1.12 / 9.60 / 1.28 (VAT doc §12)."""
        assert apportion(1200, [700, 5990, 800]) == [112, 960, 128]

    def test_tie_goes_to_larger_then_earlier(self) -> None:
        """Equal remainders: the larger line wins the fen, then the earlier one."""
        assert split_by_remainder(1, [100, 200, 100]) == [0, 1, 0]
        assert split_by_remainder(1, [100, 100]) == [1, 0]

    def test_overflow_is_spread_again(self) -> None:
        """With caps below the proportional share, the excess moves to lines with room."""
        assert apportion(300, [100, 200]) == [100, 200]

    def test_refuses_more_than_the_lines_hold(self) -> None:
        """A discount larger than the lines is a caller bug, not a silent cap."""
        with pytest.raises(ValueError):
            apportion(301, [100, 200])

    @given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20), st.data())
    def test_parts_sum_exactly_and_respect_caps(self, weights: list[int], data: st.DataObject) -> None:
        """Every fen lands on a line, and no line gets more than it has."""
        total = data.draw(st.integers(0, sum(weights)))
        shares = apportion(total, weights)
        assert sum(shares) == total
        assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))
