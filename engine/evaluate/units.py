"""Unit-level item effects in the compiled engine: 买N赠M, 第N件X折, 任选N件X元 and 满赠.

PRODUCT.md "More promotion forms": a line of q whole units holds q identical units worth
remaining / q each (a weighed line with a fraction of a unit holds none; 2.000 kg holds 2).
A rule sorts its eligible units by value, highest first (ties: earlier line, then unit
order), walks them, and takes a fraction of some units; a line's discount is
round-half-up(remaining x the fractions taken from its units / q).

Units of one line are identical and stand side by side in the walk, so the walk is kept as
runs ``(value, line, q)`` and every form works per line, never per unit: how many of a run's
units a form takes is a difference of a count over the walk's first positions
(:func:`_per_line`), and 任选N件's groups are cut from the runs, the groups inside one line
priced once (:mod:`engine.evaluate.any_n`). The work grows with the lines, not with the
quantities. A form that can take nothing (fewer units than one group) leaves the walk unsorted.

A step holding a unit rule runs here whole (a best-of group prices each member as if it
ran alone, then each line takes its largest discount, as for other item rules).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from math import lcm
from typing import Any

from engine import rules as ir
from engine.compile.compiler import CompiledRule, Step
from engine.context import Context
from engine.evaluate.any_n import units_for
from engine.evaluate.budget_caps import cap
from engine.model import Discount, FreeUnits, GiftAvailable
from engine.money import QTY_SCALE, round_half_up

__all__ = ["Offers", "unit_step"]

Run = tuple[int, int, int]
"""``(value, line, q)``: the q whole units of a line, side by side in the walk. As the rule finds
them ``value`` is the line's remaining amount; in the walk (:func:`_walk`) it is minus a unit's
value remaining / q times a common denominator, so that sorting the runs orders the walk."""


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
        if fen:
            budgeted = ctx.budget is not None and m.campaign in ctx.budget
            for i, d in fen.items():
                if budgeted:
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


Priced = tuple[dict[int, int], Collection[int]]
"""Fen off per line, and the lines the rule gave a gift unit on."""


def _price(m: CompiledRule, ctx: Context, offers: Offers) -> Priced:
    """One rule alone (a step of one rule, or one member of a best-of group).

    A line a unit was taken from is listed even when its discount rounds to 0 fen.
    """
    effect = m.unit
    if effect is None:  # a plain item rule in a group with unit rules
        return _plain(m, ctx), ()
    return _FORMS[type(effect)](effect, m, ctx, offers)


_NOTHING: Priced = ({}, ())


def _eligible(m: CompiledRule, ctx: Context) -> tuple[list[Run], int]:
    """The rule's eligible units as runs in line order, and how many units they hold."""
    remaining, locked, lines = ctx.remaining, ctx.locked, ctx.lines
    runs = []
    units = 0
    for i in ctx.select(m.line_filter, m.on_line):
        left = remaining[i]
        if locked[i] or left <= 0:
            continue
        quantity = lines[i].quantity
        if quantity >= QTY_SCALE and not quantity % QTY_SCALE:
            q = quantity // QTY_SCALE
            runs.append((left, i, q))
            units += q
    return runs, units


def _walk(runs: list[Run]) -> tuple[list[Run], int]:
    """The walk: the runs by unit value, highest first (ties: the earlier line), each keyed by
    minus its unit value times ``scale``, the least common denominator of the unit values.

    Called only when a form takes something: one that cannot (fewer units than one group)
    needs only the count of units.
    """
    if len(runs) == 1:
        left, i, q = runs[0]
        return [(-left, i, q)], q
    scale = 1
    for _, _, q in runs:
        if scale % q:
            scale = lcm(scale, q)
    walk = []
    for left, i, q in runs:
        walk.append((-left * (scale // q), i, q))
    walk.sort()  # by key, then by line: a tie in value goes to the earlier line
    return walk, scale


def _buy_get(effect: ir.BuyGet, m: CompiledRule, ctx: Context, offers: Offers) -> Priced:
    """买N赠M: in each complete group of buy + get units the last ``get``, whole."""
    runs, units = _eligible(m, ctx)
    size = effect.buy + effect.get
    full, rest = divmod(units, size)
    room = effect.limit is None or full < effect.limit
    if rest >= effect.buy and room:
        offers.free_units.append(FreeUnits(m.id, size - rest))
    groups = full if room else effect.limit
    if not groups:
        return _NOTHING
    if len(runs) > 1:
        runs = _walk(runs)[0]
    return _per_line(runs, groups * size, size, effect.buy, ctx.remaining), ()


def _every_nth(effect: ir.EveryNth, m: CompiledRule, ctx: Context, offers: Offers) -> Priced:
    """第N件X折: walk positions n, 2n, 3n... at the rate."""
    runs, units = _eligible(m, ctx)
    n, limit = effect.n, effect.limit
    times = units // n
    if limit is not None and times > limit:
        times = limit
    if not times:
        return _NOTHING
    if len(runs) > 1:
        runs = _walk(runs)[0]
    num, den = effect.rate.as_integer_ratio()
    return _per_line(runs, times * n, n, n - 1, ctx.remaining, num, den), ()


def _any_n(effect: ir.UnitsFor, m: CompiledRule, ctx: Context, offers: Offers) -> Priced:
    """任选N件X元 (:func:`engine.evaluate.any_n.units_for`)."""
    runs, units = _eligible(m, ctx)
    if units < effect.n:
        return _NOTHING
    walk, scale = _walk(runs)
    return units_for(effect, walk, units, scale, ctx.remaining), ()


def _gift(effect: ir.Gift, m: CompiledRule, ctx: Context, offers: Offers) -> Priced:
    """满赠: the first ``qty`` units of the walk, whole (the compiler put the gift's SKU in the
    rule's line test); what the basket lacks is offered."""
    runs, units = _eligible(m, ctx)
    qty = effect.qty
    if units < qty:
        offers.gifts.append(GiftAvailable(m.id, effect.sku, qty - units))
        if not units:
            return _NOTHING
        qty = units
    elif qty < units and len(runs) > 1:  # which units are given depends on the order
        runs = _walk(runs)[0]
    fen = _per_line(runs, qty, 1, 0, ctx.remaining)
    return fen, fen.keys()


_FORMS: dict[type, Callable[[Any, CompiledRule, Context, Offers], Priced]] = {
    ir.BuyGet: _buy_get,
    ir.EveryNth: _every_nth,
    ir.UnitsFor: _any_n,
    ir.Gift: _gift,
}


def _per_line(
    runs: list[Run], end: int, size: int, skip: int, remaining: list[int], num: int = 1, den: int = 1
) -> dict[int, int]:
    """Fen off each line for a form that, in every block of ``size`` positions of the walk, takes
    num/den of the value of the units after the block's first ``skip``, up to position ``end``.

    How many units of a run it takes is the difference of that count just after and just
    before the run, so the work is per line, whatever the quantities.
    """
    fen = {}
    start = before = 0
    for _, i, q in runs:
        if start >= end:
            break
        start += q
        blocks, into = divmod(start if start < end else end, size)
        after = blocks * (size - skip) + (into - skip if into > skip else 0)
        if after > before:
            fen[i] = round_half_up(remaining[i] * (after - before) * num, q * den)
            before = after
    return fen


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
