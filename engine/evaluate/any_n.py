"""任选N件X元 in the compiled engine: groups cut from the walk, each priced and split over its units.

PRODUCT.md: consecutive groups of n units from the top of the walk; a complete group worth
more than X is discounted by round-half-up(value - X), apportioned over its units by value
(largest remainder), no unit giving more than its whole fen.

The walk comes from :mod:`engine.evaluate.units` as runs ``(key, line, q)`` where ``-key`` is a
unit's value times the walk's denominator ``scale``: a group across lines is priced and split
on those integers, with no fraction and no denominator of its own.
"""

from __future__ import annotations

from engine import rules as ir
from engine.apportion import split_by_remainder
from engine.money import round_half_up

__all__ = ["units_for"]

Member = tuple[int, int, int]
"""``(line, a unit's value x scale, units in the group)``."""

Carrier = tuple[int, int, int, int]
"""``(line, a unit's value x scale, units in the group, a unit's whole fen)``."""


def units_for(
    effect: ir.UnitsFor, walk: list[tuple[int, int, int]], units: int, scale: int, remaining: list[int]
) -> dict[int, int]:
    """Fen off per line: each complete group of n units worth more than X gives
    round-half-up(value - X), split over its units by value.

    Groups inside one line are alike: they are priced once and counted as often as they occur.
    """
    n, price = effect.n, effect.price
    groups = units // n
    if effect.limit is not None and groups > effect.limit:
        groups = effect.limit
    fen: dict[int, int] = {}
    k = used = 0  # the walk is at run k, of which `used` units are in earlier groups
    while groups:
        key, i, q = walk[k]
        alike = (q - used) // n
        if alike:  # n units of line i: worth n x remaining / q; a unit carries at most its whole fen
            if alike > groups:
                alike = groups
            left = remaining[i]
            over = n * left - price * q
            if over > 0:
                off, whole = round_half_up(over, q), n * (left // q)
                fen[i] = fen.get(i, 0) + alike * (off if off < whole else whole)
            used += alike * n
            groups -= alike
        else:  # a group across lines
            members, need = [], n
            while need:
                key, i, q = walk[k]
                took = q - used if q - used < need else need
                members.append((i, -key, took))
                need -= took
                used += took
                if used == q and need:
                    k, used = k + 1, 0
            _mixed_group(members, price, scale, fen)
            groups -= 1
        if used == q:
            k, used = k + 1, 0
    return fen


def _mixed_group(members: list[Member], price: int, scale: int, fen: dict[int, int]) -> None:
    """Add to ``fen`` the discount of a group of units from several lines."""
    value = worth = room = 0  # the group's value, and its carriers' value, x scale; fen they can carry
    carriers = []
    for i, weight, k in members:
        value += weight * k
        if weight >= scale:  # a unit worth under a fen carries none of the discount
            cap = weight // scale
            carriers.append((i, weight, k, cap))
            worth += weight * k
            room += cap * k
    over = value - price * scale
    if over <= 0:
        return
    total = round_half_up(over, scale)
    if total > room:
        total = room
    if total:
        for (i, _, _, _), share in zip(carriers, _split_over_units(total, carriers, worth), strict=True):
            if share:
                fen[i] = fen.get(i, 0) + share


def _split_over_units(total: int, carriers: list[Carrier], worth: int) -> list[int]:
    """Largest remainder over units by value, summed per line; ``worth`` is the carriers' value.

    Alike units get the same floor and remainder and stand side by side, so the fen left over
    go to whole lines in that order (ties: larger value, then walk order), as many as each line
    has units.
    """
    shares, order = [], []
    left = total
    for _, weight, k, _ in carriers:
        floor, remainder = divmod(total * weight, worth)
        order.append((-remainder, -weight, len(shares)))
        shares.append(floor * k)
        left -= floor * k
    if left:
        order.sort()
        for _, _, j in order:
            _, _, k, cap = carriers[j]
            if shares[j] >= cap * k:  # a unit would get more than its whole fen (units worth a few fen)
                return _split_capped_per_unit(total, carriers)
            more = k if k < left else left
            shares[j] += more
            left -= more
            if not left:
                break
    return shares


def _split_capped_per_unit(total: int, carriers: list[Carrier]) -> list[int]:
    """The same split unit by unit where a unit would get more than its whole fen: the excess is
    spread again over the units with room, until all of ``total`` is placed."""
    unit_weights = [weight for _, weight, k, _ in carriers for _ in range(k)]
    unit_caps = [cap for _, _, k, cap in carriers for _ in range(k)]
    shares = [0] * len(unit_weights)
    left = total
    while left > 0:
        live = [u for u in range(len(unit_weights)) if unit_caps[u] > shares[u]]
        part = split_by_remainder(left, [unit_weights[u] for u in live])
        left = 0
        for u, share in zip(live, part, strict=True):
            room = unit_caps[u] - shares[u]
            if share > room:
                left += share - room
                share = room
            shares[u] += share
    per_line, start = [], 0
    for _, _, k, _ in carriers:
        per_line.append(sum(shares[start : start + k]))
        start += k
    return per_line
