"""Unit-level item effects in the compiled engine: 买N赠M, 第N件X折, 任选N件X元 and 满赠.

PRODUCT.md "More promotion forms": a line of q whole units holds q identical units worth
remaining / q each (a weighed line with a fraction of a unit holds none; 2.000 kg holds 2).
A rule sorts its eligible units by value, highest first (ties: earlier line, then unit
order), walks them, and takes a fraction of some units; a line's discount is
round-half-up(remaining x the fractions taken from its units / q).

Units of one line are identical and stand side by side in the walk, so the walk is kept as
runs ``(line, q)`` and every form works per line, never per unit: how many of a run's units a
form takes is a difference of a count over the walk's first positions (:func:`_per_line`), and
任选N件's groups are cut from the runs, the groups inside one line priced once (:func:`_groups`).
The work grows with the lines, not with the quantities.

A step holding a unit rule runs here whole (a best-of group prices each member as if it
ran alone, then each line takes its largest discount, as for other item rules).
"""

from __future__ import annotations

from collections.abc import Collection
from math import lcm
from operator import mul

from engine import rules as ir
from engine.apportion import split_by_remainder
from engine.compile.compiler import CompiledRule, Step
from engine.context import Context
from engine.evaluate.budget_caps import cap
from engine.model import Discount, FreeUnits, GiftAvailable
from engine.money import QTY_SCALE, round_half_up

__all__ = ["Offers", "unit_step"]

Run = tuple[int, int]
"""``(line, q)``: the q whole units of a line, side by side in the walk."""


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


def _price(m: CompiledRule, ctx: Context, offers: Offers) -> tuple[dict[int, int], Collection[int]]:
    """One member alone: fen off per line, and the lines it gave a gift unit on.

    A line a unit was taken from is listed even when its discount rounds to 0 fen.
    """
    effect = m.unit
    if effect is None:  # a plain item rule in a group with unit rules
        return _plain(m, ctx), ()
    runs, units = _walk(m, ctx)
    remaining = ctx.remaining
    if isinstance(effect, ir.UnitsFor):
        return _units_for(effect, runs, units, remaining), ()
    if isinstance(effect, ir.Gift):  # the compiler put the gift's SKU in the rule's line test
        given = min(units, effect.qty)
        if given < effect.qty:
            offers.gifts.append(GiftAvailable(m.id, effect.sku, effect.qty - given))
        fen = _per_line(runs, given, 1, 0, remaining)  # the first `given` units, whole
        return fen, fen.keys()
    if not runs:
        return _NOTHING
    if isinstance(effect, ir.BuyGet):  # in each group of buy + get units the last `get`, whole
        size = effect.buy + effect.get
        full, rest = divmod(units, size)
        room = effect.limit is None or full < effect.limit
        if rest >= effect.buy and room:
            offers.free_units.append(FreeUnits(m.id, size - rest))
        groups = full if room else effect.limit
        return _per_line(runs, groups * size, size, effect.buy, remaining), ()
    n, rate = effect.n, effect.rate  # 第N件: positions n, 2n, 3n... at the rate
    times = units // n if effect.limit is None else min(units // n, effect.limit)
    return _per_line(runs, times * n, n, n - 1, remaining, rate.numerator, rate.denominator), ()


_NOTHING: tuple[dict[int, int], tuple[int, ...]] = ({}, ())


def _walk(m: CompiledRule, ctx: Context) -> tuple[list[Run], int]:
    """The rule's eligible units as runs, highest unit value first (ties: earlier line), and
    how many units they hold."""
    remaining, locked, lines = ctx.remaining, ctx.locked, ctx.lines
    runs = []
    units = 0
    scale = 1  # a common denominator of the unit values remaining / q
    for i in ctx.select(m.line_filter, m.on_line):
        if locked[i] or remaining[i] <= 0:
            continue
        q, part = divmod(lines[i].quantity, QTY_SCALE)
        if q and not part:
            runs.append((i, q))
            units += q
            if q != scale:
                scale = lcm(scale, q)
    if len(runs) > 1:  # unit values compared as integers; the sort is stable: on a tie the earlier line
        runs.sort(key=lambda run: -remaining[run[0]] * (scale // run[1]))
    return runs, units


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
    for i, q in runs:
        if start >= end:
            break
        start += q
        blocks, into = divmod(start if start < end else end, size)
        after = blocks * (size - skip) + (into - skip if into > skip else 0)
        if after > before:
            fen[i] = round_half_up(remaining[i] * (after - before) * num, q * den)
            before = after
    return fen


def _units_for(effect: ir.UnitsFor, runs: list[Run], units: int, remaining: list[int]) -> dict[int, int]:
    """任选N件X元: each complete group of n units worth more than X gives round-half-up(value - X),
    split over its units by value (largest remainder), no unit more than its whole fen.

    Groups inside one line are alike: they are priced once and counted as often as they occur.
    """
    n, price = effect.n, effect.price
    groups = units // n if effect.limit is None else min(units // n, effect.limit)
    fen: dict[int, int] = {}
    k = used = 0  # the walk is at run k, of which `used` units are in earlier groups
    while groups:
        i, q = runs[k]
        alike = (q - used) // n
        if alike:  # n units of line i: worth n x remaining / q; a unit carries at most its whole fen
            alike = min(alike, groups)
            over = n * remaining[i] - price * q
            if over > 0:
                fen[i] = fen.get(i, 0) + alike * min(round_half_up(over, q), n * (remaining[i] // q))
            used += alike * n
            groups -= alike
        else:  # a group across lines
            members, need = [], n
            while need:
                i, q = runs[k]
                took = min(q - used, need)
                members.append((i, q, took))
                need -= took
                used += took
                if used == q and need:
                    k, used = k + 1, 0
            for i, share in _mixed_group(members, price, remaining):
                fen[i] = fen.get(i, 0) + share
            groups -= 1
        if used == q:
            k, used = k + 1, 0
    return fen


def _mixed_group(
    members: list[tuple[int, int, int]], price: int, remaining: list[int]
) -> list[tuple[int, int]]:
    """(line, fen) for a group of units from several lines, given as (line, q, units in the group)."""
    scale = lcm(*[q for _, q, _ in members])
    value = 0  # the group's value x scale
    lines, weights, counts, caps = [], [], [], []  # of the lines whose units can carry a fen
    for i, q, k in members:
        weight = remaining[i] * (scale // q)  # a unit's value x scale
        value += weight * k
        if remaining[i] >= q:  # a unit worth under a fen carries none of the discount
            lines.append(i)
            weights.append(weight)
            counts.append(k)
            caps.append(remaining[i] // q)
    over = value - price * scale
    if over <= 0:
        return []
    total = min(round_half_up(over, scale), sum(map(mul, caps, counts)))
    if not total:
        return []
    shares = _split_over_units(total, weights, counts, caps)
    return [(i, share) for i, share in zip(lines, shares, strict=True) if share]


def _split_over_units(total: int, weights: list[int], counts: list[int], caps: list[int]) -> list[int]:
    """Largest remainder over units by value, summed per line, where line k holds counts[k] alike
    units (weight, cap). Alike units get the same floor and remainder and stand side by side, so
    the fen left over go to whole lines in that order, as many as each line has units."""
    value = sum(map(mul, weights, counts))
    floors, remainders = [], []
    left = total
    for weight, k in zip(weights, counts, strict=True):
        floor, remainder = divmod(total * weight, value)
        floors.append(floor)
        remainders.append(remainder)
        left -= floor * k
    shares = list(map(mul, floors, counts))
    if left:
        for _, _, j in sorted([(-remainders[j], -weights[j], j) for j in range(len(weights))]):
            more = min(counts[j], left)
            if floors[j] >= caps[j]:  # a unit would get more than its whole fen (units worth a few fen)
                return _split_capped_per_unit(total, weights, counts, caps)
            shares[j] += more
            left -= more
            if not left:
                break
    return shares


def _split_capped_per_unit(total: int, weights: list[int], counts: list[int], caps: list[int]) -> list[int]:
    """The same split unit by unit where a unit would get more than its whole fen: the excess is
    spread again over the units with room, until all of ``total`` is placed."""
    unit_weights = [w for w, k in zip(weights, counts, strict=True) for _ in range(k)]
    unit_caps = [c for c, k in zip(caps, counts, strict=True) for _ in range(k)]
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
    for k in counts:
        per_line.append(sum(shares[start : start + k]))
        start += k
    return per_line


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
