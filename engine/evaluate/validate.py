"""Refuse bad requests before any rule runs, naming the field and what is wrong.

The till is a program: a clear ``lines[2].quantity: must be positive (got 0)``
is what its developer needs, and a wrong answer is never acceptable.
"""

from __future__ import annotations

from collections.abc import Container
from typing import NoReturn

from engine.errors import InvalidRequest, did_you_mean
from engine.model import Line, Request
from engine.money import format_fen, format_qty, line_amount
from engine.rules import Ruleset

__all__ = ["validate_request"]

MAX_LINES = 1000  # with a discount line each, an invoice stays within the 2,000-line channel limit
MAX_FEN = 10**12  # ten billion yuan per line, well inside the invoice's 12-digit amounts
MAX_QTY = 10**9  # a million units (thousandths)


def validate_request(ruleset: Ruleset, request: Request, tier_ids: Container[str] | None = None) -> list[int]:
    """Raise :class:`InvalidRequest` for the first thing wrong with ``request``.

    Returns the line amounts it had to compute anyway, so evaluation does not redo them.
    ``tier_ids`` are the ruleset's tier ids when the caller keeps them (a compiled
    ruleset does), so a request does not rebuild them.
    """
    lines = request.lines
    if not lines:
        raise InvalidRequest("lines", "a basket needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidRequest("lines", f"at most {MAX_LINES} lines per basket (got {len(lines)})")
    amounts = []
    for k, line in enumerate(lines):
        price, quantity = line.unit_price, line.quantity
        if price < 0 or quantity <= 0 or quantity > MAX_QTY:
            _refuse_line(k, line)
        amount = line_amount(price, quantity)
        if amount <= 0 or amount > MAX_FEN:
            _refuse_line(k, line)
        amounts.append(amount)
    ids = {line.id for line in lines}
    if len(ids) != len(lines) or "" in ids:
        _refuse_ids(request)
    if request.at.tzinfo is None or request.at.utcoffset() is None:
        raise InvalidRequest("time", "must carry a UTC offset, e.g. 2026-11-15T10:00:00+08:00")
    member = request.member
    if member is not None and ruleset.tiers:
        if tier_ids is None:
            tier_ids = {t.id for t in ruleset.tiers}
        if member.tier not in tier_ids:
            _refuse_tier(ruleset, member.tier)
    if request.redeem_points:
        _validate_redemption(ruleset, request)
    return amounts


def _refuse_tier(ruleset: Ruleset, tier: str) -> NoReturn:
    tiers = [t.id for t in ruleset.tiers]
    hint = did_you_mean(tier, tiers)
    known = ", ".join(tiers)
    raise InvalidRequest(
        "member.tier",
        f"unknown tier {tier!r}; ruleset {ruleset.name!r} has {known}" + (f" ({hint})" if hint else ""),
    )


def _refuse_line(k: int, line: Line) -> NoReturn:
    """Say exactly what is wrong with a line the fast check refused."""
    where = f"lines[{k}]"
    price, quantity = line.unit_price, line.quantity
    if price < 0:
        raise InvalidRequest(f"{where}.unit_price", f"must not be negative (got {format_fen(price)})")
    if quantity <= 0:
        raise InvalidRequest(f"{where}.quantity", f"must be positive (got {format_qty(quantity)})")
    if quantity > MAX_QTY:
        raise InvalidRequest(f"{where}.quantity", f"{format_qty(quantity)} units is not a quantity")
    amount = line_amount(price, quantity)
    if amount > MAX_FEN:
        raise InvalidRequest(
            where, f"amount {format_fen(amount)} yuan is beyond any sale; check price and quantity"
        )
    raise InvalidRequest(
        where,
        f"amount rounds to 0.00 ({format_fen(price)} x {format_qty(quantity)}); "
        "send free goods as a discount, not as a zero line",
    )


def _refuse_ids(request: Request) -> NoReturn:
    seen: set[str] = set()
    for k, line in enumerate(request.lines):
        if not line.id:
            raise InvalidRequest(f"lines[{k}].id", "must not be empty")
        if line.id in seen:
            raise InvalidRequest(f"lines[{k}].id", f"duplicate line id {line.id!r}")
        seen.add(line.id)
    raise AssertionError("unreachable: ids were found unique and non-empty")


def _validate_redemption(ruleset: Ruleset, request: Request) -> None:
    asked = request.redeem_points
    if asked < 0:
        raise InvalidRequest("redeem_points", f"must not be negative (got {asked})")
    if asked == 0:
        return
    if request.member is None:
        raise InvalidRequest("redeem_points", "only members can redeem points; this basket has no member")
    if ruleset.settings.redeem_points_per_yuan is None:
        raise InvalidRequest("redeem_points", f"ruleset {ruleset.name!r} does not allow points at checkout")
    balance = request.member.points_balance
    if balance is not None and asked > balance:
        raise InvalidRequest("redeem_points", f"asks for {asked} points but the member has {balance}")
