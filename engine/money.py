"""Integer-fen money and the one rounding rule.

Money is an ``int`` number of fen everywhere. Quantities are ``int`` thousandths
(weighed goods: 1.250 kg is 1250). Rates are exact ``Fraction``s. The only place
that rounds money is :func:`round_half_up`, so 四舍五入 is decided once.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "QTY_SCALE",
    "format_fen",
    "format_qty",
    "line_amount",
    "parse_fen",
    "parse_qty",
    "round_fraction",
    "round_half_up",
]

QTY_SCALE = 1000
"""Quantities are carried as integer thousandths of a unit."""


def round_half_up(numerator: int, denominator: int) -> int:
    """Round ``numerator / denominator`` to an integer, half away from zero (四舍五入)."""
    if numerator >= 0 and denominator > 0:  # the common case, one integer division
        return (2 * numerator + denominator) // (2 * denominator)
    if denominator == 0:
        raise ZeroDivisionError("round_half_up with a zero denominator")
    q, r = divmod(abs(numerator), abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return q if (numerator >= 0) == (denominator > 0) else -q


def round_fraction(value: Fraction) -> int:
    """Round an exact rational half away from zero."""
    return round_half_up(value.numerator, value.denominator)


def line_amount(unit_price: int, quantity: int) -> int:
    """Fen for ``quantity`` thousandths at ``unit_price`` fen per unit, rounded half up."""
    return round_half_up(unit_price * quantity, QTY_SCALE)


def parse_fen(text: str) -> int:
    """Parse a yuan amount with at most two decimals ("100", "9.5", "0.05") into fen.

    Raises ``ValueError`` with a sentence a merchandiser can act on.
    """
    return _parse_scaled(text, 2, "a yuan amount", "fen")


def parse_qty(text: str) -> int:
    """Parse a quantity with at most three decimals ("2", "1.250") into thousandths."""
    return _parse_scaled(text, 3, "a quantity", "thousandths")


def _parse_scaled(text: str, places: int, what: str, unit: str) -> int:
    raw = text.strip()
    sign = 1
    if raw.startswith("-"):
        sign, raw = -1, raw[1:]
    whole, dot, frac = raw.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()) or not whole.isascii():
        raise ValueError(f"{text!r} is not {what}")
    if len(frac) > places:
        raise ValueError(f"{text!r} has more than {places} decimals; {what} is exact to the {unit}")
    return sign * (int(whole) * 10**places + int(frac.ljust(places, "0") or "0"))


def format_fen(fen: int) -> str:
    """Render fen as yuan with two decimals: 9500 -> "95.00", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_qty(quantity: int) -> str:
    """Render thousandths as a short decimal: 1000 -> "1", 1250 -> "1.25"."""
    sign = "-" if quantity < 0 else ""
    whole, frac = divmod(abs(quantity), QTY_SCALE)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:03d}".rstrip("0")
