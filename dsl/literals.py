"""Literal text -> exact value, or a sentence saying what to write instead.

Each function takes the token text exactly as written and raises
:class:`LiteralError` (a ``ValueError``) with a message and a hint; the transformer
turns that into a RuleError at the token's place and carries on, so one file
reports every bad literal at once.
"""

from __future__ import annotations

import re
from datetime import date, time
from fractions import Fraction

from engine.errors import did_you_mean
from engine.money import parse_fen, parse_qty

__all__ = [
    "WEEKDAYS",
    "LiteralError",
    "to_date",
    "to_factor",
    "to_fen",
    "to_percent",
    "to_qty",
    "to_text",
    "to_time",
    "to_weekday",
    "to_whole",
    "to_zhe",
]

WEEKDAYS: dict[str, int] = {}
for _n, _names in enumerate(
    (
        ("mon", "monday", "周一"),
        ("tue", "tuesday", "周二"),
        ("wed", "wednesday", "周三"),
        ("thu", "thursday", "周四"),
        ("fri", "friday", "周五"),
        ("sat", "saturday", "周六"),
        ("sun", "sunday", "周日", "周天"),
    )
):
    for _name in _names:
        WEEKDAYS[_name] = _n
"""Every way to write a weekday; Monday is 0 as in ``datetime.weekday()``."""


class LiteralError(ValueError):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def to_fen(text: str) -> int:
    """Money: yuan with at most two decimals -> fen."""
    try:
        return parse_fen(text)
    except ValueError:
        raise LiteralError(
            f"{text} has more than 2 decimals: money is exact to the fen",
            "write a money amount like 20.00",
        ) from None


def to_qty(text: str) -> int:
    """A quantity with at most three decimals -> thousandths."""
    try:
        return parse_qty(text)
    except ValueError:
        raise LiteralError(
            f"{text} has more than 3 decimals: a quantity is exact to the thousandth",
            "write a quantity like 2 or 1.250",
        ) from None


def to_whole(text: str, what: str = "this count") -> int:
    """A whole number (counts, points, priorities, days)."""
    if not text.isdigit():
        raise LiteralError(f"{what} must be a whole number, not {text}", f"write {text.split('.')[0]}")
    return int(text)


def to_percent(text: str) -> Fraction:
    """``5%`` -> 1/20; 0% to 100%."""
    value = Fraction(text.rstrip("%")) / 100
    if value > 1:
        raise LiteralError(f"{text} is more than 100%", "a percent is between 0% and 100%")
    return value


def to_zhe(text: str) -> Fraction:
    """``9.5折`` (the customer pays 95%) -> the rate off, 1/20."""
    paid = Fraction(text.rstrip("折"))
    if paid > 10:
        raise LiteralError(
            f"{text} is more than 10折", "折 is what the customer pays, from 0 to 10: 9.5折 is 5% off"
        )
    return (10 - paid) / 10


def to_factor(text: str) -> Fraction:
    """``x1.5`` -> 3/2 (also ``X1.5`` and ``×1.5``)."""
    return Fraction(text[1:])


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def to_date(text: str) -> date:
    """``2026-11-15`` -> a date; 2026-02-30 is refused."""
    match = _DATE.fullmatch(text)
    if not match:
        raise LiteralError(f"{text} is not a date", "write dates as YYYY-MM-DD, like 2026-11-15")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise LiteralError(f"{text} is not a date ({exc})", "write a real date, like 2026-11-15") from None


def to_time(text: str) -> time:
    """``10:00`` -> a time. ``24:00`` means the end of the day (for `valid hours 20:00 to 24:00`)."""
    match = _TIME.fullmatch(text)
    if not match:
        raise LiteralError(f"{text} is not a time", "write times as HH:MM, like 10:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return time.max
    if hour > 23 or minute > 59:
        raise LiteralError(f"{text} is not a time of day", "hours go from 00 to 23, minutes from 00 to 59")
    return time(hour, minute)


def to_weekday(text: str) -> int:
    """``sat`` / ``saturday`` / ``周六`` -> 5."""
    day = WEEKDAYS.get(text.lower())
    if day is None:
        hint = did_you_mean(text.lower(), WEEKDAYS) or "write mon..sun, monday..sunday or 周一..周日"
        raise LiteralError(f"unknown weekday '{text}'", hint)
    return day


_ESCAPE = re.compile(r"\\(.)")


def to_text(token_text: str) -> str:
    """A double-quoted string token -> its text (\\" and \\\\ unescaped)."""
    return _ESCAPE.sub(r"\1", token_text[1:-1])
