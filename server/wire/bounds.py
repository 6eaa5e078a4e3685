"""The limits every wire value is held to before it reaches the engine or the database.

The ledger keeps points and money in signed 64-bit columns and SQLite silently turns an
overflowing sum into a float; PostgreSQL refuses NUL bytes that SQLite stores; a
timezone conversion of year 1 or 9999 overflows. So each points or money field has a
bound far above any real sale and far below 2^63 even when summed, each id, code and
text has a length and may hold no control characters, each time has a sane year, and
an error text echoes at most a short prefix of the bad value (a 1 MB value must not
come back as a 1 MB error).
"""

from __future__ import annotations

import re

from engine.errors import InvalidRequest

__all__ = [
    "MAX_COUPON_CODES",
    "MAX_FEN",
    "MAX_ID",
    "MAX_LINES",
    "MAX_POINTS",
    "MAX_QTY",
    "MAX_TEXT",
    "MAX_YEAR",
    "MIN_YEAR",
    "check_coupon_code",
    "check_points",
    "check_redeem_points",
    "check_text",
    "check_year",
    "shown",
]

MAX_POINTS = 1_000_000_000  # points moved or held by one call: 10 million yuan of redemption
MAX_FEN = 10_000_000_000  # one amount in fen: 100 million yuan
MAX_QTY = 10_000_000  # thousandths: 10,000 units on one line
MAX_LINES = 1_000  # lines in one basket: with MAX_FEN and MAX_QTY a sale stays below 2^53 fen
MAX_COUPON_CODES = 20  # codes one customer presents at one till
MAX_ID = 64  # the ledger's id columns are String(64)
MAX_TEXT = 200  # names, reasons, segments, tags
MIN_YEAR, MAX_YEAR = 1900, 2999  # any offset converts without overflow
_SHOWN = 40  # characters of a bad value an error repeats

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(value: str) -> str:
    """``repr(value)`` cut to a short prefix, saying how long the whole value was."""
    if len(value) <= _SHOWN:
        return repr(value)
    return f"{value[:_SHOWN]!r}... ({len(value)} characters)"


def check_text(value: str, field: str, limit: int = MAX_ID) -> str:
    """``value`` when at most ``limit`` characters with no control character; InvalidRequest otherwise."""
    if len(value) > limit:
        raise InvalidRequest(field, f"must be at most {limit} characters (got {len(value)})")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise InvalidRequest(
            field,
            f"must not contain control characters (found U+{ord(bad[0]):04X} at offset {bad.start()})",
        )
    return value


def check_points(value: int, field: str, limit: int = MAX_POINTS) -> int:
    """``value`` when ``|value| <= limit``; InvalidRequest naming ``field`` otherwise."""
    if not -limit <= value <= limit:
        raise InvalidRequest(field, f"must be between -{limit:,} and {limit:,} (got {value})")
    return value


def check_year(year: int, field: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidRequest(field, f"the year must be between {MIN_YEAR} and {MAX_YEAR} (got {year})")


def check_redeem_points(points: int, field: str) -> int:
    """``points`` to redeem when within bounds; InvalidRequest naming ``field`` otherwise."""
    if points < 0:
        raise InvalidRequest(field, f"must not be negative (got {points})")
    if points > MAX_POINTS:
        raise InvalidRequest(field, f"must be at most {MAX_POINTS:,} (got {points})")
    return points


def check_coupon_code(code: str, field: str) -> str:
    """A presented code when it is usable text; InvalidRequest naming ``field`` otherwise."""
    if not code or code.isspace():
        raise InvalidRequest(field, "must not be empty")
    return check_text(code, field)
