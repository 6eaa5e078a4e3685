"""Unit-level item effects in the compiled engine: 买N赠M, 第N件X折, 任选N件X元 and 满赠.

PRODUCT.md "More promotion forms": a line of q whole units holds q identical units worth
remaining / q each (a weighed line with a fraction of a unit holds none; 2.000 kg holds 2).
A rule sorts its eligible units by value, highest first (ties: earlier line, then unit
order), walks them, and takes a fraction of some units; a line's discount is
round-half-up(remaining x the fractions taken from its units / q). Units of one line are
identical, so the walk only needs to know which line each position belongs to.

A step holding a unit rule runs here whole (a best-of group prices each member as if it
ran alone, then each line takes its largest discount, as for other item rules).
"""

from __future__ import annotations

from collections.abc import Collection
from math import lcm

from engine import rules as ir
from engine.apportion import split_by_remainder
from engine.compile.compiler import CompiledRule, Step
from engine.context import Context
from engine.evaluate.budget_caps import cap
from engine.model import Discount, FreeUnits, GiftAvailable
from engine.money import QTY_SCALE, round_half_up

__all__ = ["Offers", "unit_step"]


class Offers:
    """What the till may prompt for: free units not yet taken, gifts not yet in the basket."""

    __slots__ = ("free_units", "gifts")

    def __init__(self) -> None:
        self.free_units: list[FreeUnits] = []
        self.gifts: list[GiftAvailable] = []


def unit_step(step: Step, ctx: Context, taken: list[list[Discount]], offers: Offers) -> None:
    """Run an item step of which at least one member is a unit rule."""
    remaining, locked = ctx.remaining, ctx.locked
    m = step.single
    if m is not None:  # one rule: write its discounts straight away
        if not m.live(ctx, -1):
            return
        fen, given = _price(m, ctx, offers)
        for i, d in fen.items():
            d = _within_budget(ctx, m, d)
            if d > 0:
                remaining[i] -= d
                taken[i].append(Discount(m.id, "rule", d))
                if m.exclusive:
                    locked[i] = True
        if m.exclusive:
            for i in given:  # a gift unit worth under half a fen: given, nothing to list
                locked[i] = True
        return
    members = [m for m in step.members if m.live(ctx, -1)]
    priced = [_price(m, ctx, offers) for m in members]  # every member on the same state
    lines = sorted({i for fen, given in priced for i in (*fen, *given)})
    for i in lines:
        best, winner, giver = 0, None, None
        for m, (fen, given) in zip(members, priced, strict=True):
            d = fen.get(i, 0)
            if d > best:
                best, winner = d, m
            if giver is None and i in given:
                giver = m
        if winner is not None:
            best = _within_budget(ctx, winner, best)
        if winner is not None and best > 0:
            remaining[i] -= best
            taken[i].append(Discount(winner.id, "rule", best))
        else:
            winner = giver
        if winner is not None and winner.exclusive:
            locked[i] = True


def _within_budget(ctx: Context, m: CompiledRule, fen: int) -> int:
    """``fen`` capped by what is left of the rule's campaign money budget (engine.evaluate.budget_caps)."""
    if fen > 0 and ctx.budget is not None and m.campaign in ctx.budget:
        return cap(ctx, m.id, m.campaign, fen)  # type: ignore[arg-type]
    return fen


_NOTHING: tuple[dict[int, int], frozenset[int]] = ({}, frozenset())


def _price(m: CompiledRule, ctx: Context, offers: Offers) -> tuple[dict[int, int], Collection[int]]:
    """One member alone: fen off per line, and the lines it gave a gift unit on."""
    effect = m.unit
    if effect is None:  # a plain item rule in a group with unit rules
        return _plain(m, ctx), ()
    remaining, locked, lines = ctx.remaining, ctx.locked, ctx.lines
    sku = effect.sku if isinstance(effect, ir.Gift) else None
    units: dict[int, int] = {}  # line -> whole units it holds, in line order
    for i in ctx.select(m.line_filter, m.on_line):
        if locked[i] or remaining[i] <= 0 or (sku is not None and lines[i].sku != sku):
            continue
        q, part = divmod(lines[i].quantity, QTY_SCALE)
        if q and not part:
            units[i] = q
    if not units:
        if sku is not None:
            offers.gifts.append(GiftAvailable(m.id, sku, effect.qty))  # type: ignore[union-attr]
        return _NOTHING
    if len(units) == 1:
        order = list(units)
    else:
        # Unit values remaining / q compared as integers over a common denominator; the sort is
        # stable, so ties keep line order (earlier line first).
        scale = lcm(*units.values())
        order = sorted(units, key=lambda i: -remaining[i] * (scale // units[i]))
    walk = [i for i in order for _ in range(units[i])]
    if isinstance(effect, ir.UnitsFor):
        return _units_for(effect, walk, remaining, units), ()
    counts: dict[int, int] = {}  # line -> units taken whole (or at the rate, for every_nth)
    num = den = 1
    if isinstance(effect, ir.BuyGet):
        size = effect.buy + effect.get
        full, rest = divmod(len(walk), size)
        groups = full if effect.limit is None else min(full, effect.limit)
        for g in range(groups):
            for p in range(g * size + effect.buy, (g + 1) * size):
                counts[walk[p]] = counts.get(walk[p], 0) + 1
        if rest >= effect.buy and (effect.limit is None or full < effect.limit):
            offers.free_units.append(FreeUnits(m.id, size - rest))
    elif isinstance(effect, ir.EveryNth):
        times = len(walk) // effect.n
        if effect.limit is not None:
            times = min(times, effect.limit)
        for k in range(1, times + 1):
            i = walk[k * effect.n - 1]
            counts[i] = counts.get(i, 0) + 1
        num, den = effect.rate.numerator, effect.rate.denominator
    else:  # Gift
        given = min(len(walk), effect.qty)
        for p in range(given):
            counts[walk[p]] = counts.get(walk[p], 0) + 1
        if given < effect.qty:
            offers.gifts.append(GiftAvailable(m.id, effect.sku, effect.qty - given))
    fen = {i: round_half_up(remaining[i] * c * num, units[i] * den) for i, c in counts.items()}
    return fen, (counts.keys() if sku is not None else ())


def _units_for(
    effect: ir.UnitsFor, walk: list[int], remaining: list[int], units: dict[int, int]
) -> dict[int, int]:
    """任选N件X元: each complete group worth more than X gives round-half-up(value - X),
    split over its units by value (largest remainder), no unit more than its whole fen."""
    n = effect.n
    groups = len(walk) // n
    if effect.limit is not None:
        groups = min(groups, effect.limit)
    fen: dict[int, int] = {}
    for g in range(groups):
        members = walk[g * n : (g + 1) * n]
        scale = lcm(*[units[i] for i in members])
        if scale == 1:  # single-unit lines, the usual case: the values are the remaining amounts
            weights = [remaining[i] for i in members]
        else:
            weights = [remaining[i] * (scale // units[i]) for i in members]  # values x scale: integers
        over = sum(weights) - effect.price * scale  # (value - X) x scale
        if over <= 0:
            continue
        total = round_half_up(over, scale)
        caps = [remaining[i] // units[i] for i in members]
        for i, share in zip(members, _split_capped(min(total, sum(caps)), weights, caps), strict=True):
            if share:
                fen[i] = fen.get(i, 0) + share
    return fen


def _split_capped(total: int, weights: list[int], caps: list[int]) -> list[int]:
    """Largest remainder by ``weights``; a share over its cap gives the excess back, spread again."""
    shares = split_by_remainder(total, weights)
    if all(share <= cap for share, cap in zip(shares, caps, strict=True)):
        return shares  # the usual exit: no unit was given more than its whole fen
    shares = [0] * len(weights)
    left = total
    while left > 0:
        live = [k for k in range(len(weights)) if caps[k] > shares[k]]
        part = split_by_remainder(left, [weights[k] for k in live])
        left = 0
        for k, share in zip(live, part, strict=True):
            room = caps[k] - shares[k]
            if share > room:
                left += share - room
                share = room
            shares[k] += share
    return shares


def _plain(m: CompiledRule, ctx: Context) -> dict[int, int]:
    """A per-line item rule priced on the same state as its group's unit rules."""
    remaining, locked = ctx.remaining, ctx.locked
    effect = m.item_effect
    assert effect is not None
    fen = {}
    for i in ctx.select(m.line_filter, m.on_line):
        left = remaining[i]
        if locked[i] or left <= 0:
            continue
        d = min(effect(ctx, i, left), left)
        if d > 0:
            fen[i] = d
    return fen
