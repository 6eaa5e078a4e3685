"""Unit-level item effects for the reference interpreter, written straight from PRODUCT.md.

Every unit is listed one by one with its exact value (a Fraction), the walk is the sorted
list, and each rule's fractions per unit are summed per line before the one rounding:
round-half-up(line remaining x sum of fractions / q). Slow and literal on purpose; the
compiled engine (engine/evaluate/units.py) is held to it.

Choices where PRODUCT.md is silent (the compiled engine agrees; docs/LANGUAGE.md says them):

- A unit rule's condition is read like any item rule's: the parts that read the line choose
  which lines' units take part, the rest must hold for the rule to act at all. A gift is
  listed as available when the rule is valid now and the parts that need no line hold.
- In a best-of group, the offers (free units, gifts available) of every live member are
  listed as that member alone would list them.
- 任选N件X元: a unit gives at most its whole fen (floor of its value); when a group of
  sub-fen units cannot carry the rounded discount, the discount is what they can carry.
- A gift unit worth under half a fen rounds to 0 fen: it is still given (and locks its line
  for an exclusive rule), though no discount is listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from engine.model import FreeUnits, GiftAvailable
from engine.money import QTY_SCALE, round_half_up
from engine.reference.expr import Scene, holds, valid_now
from engine.rules import (
    UNIT_EFFECTS,
    Aggregate,
    And,
    BuyGet,
    Compare,
    Const,
    EveryNth,
    Expr,
    Field,
    Gift,
    Has,
    In,
    Not,
    Or,
    Rule,
    UnitsFor,
)

__all__ = ["has_unit_rule", "run_unit_group"]


@dataclass(frozen=True, slots=True)
class _Unit:
    line: int
    index: int  # the unit's place within its line
    value: Fraction


def has_unit_rule(unit: list[Rule]) -> bool:
    return any(isinstance(r.effect, UNIT_EFFECTS) for r in unit)


def run_unit_group(
    basket: Any,
    unit: list[Rule],
    plain: Callable[[Rule, Scene, int, int], int],
    free_units: list[FreeUnits],
    gifts: list[GiftAvailable],
) -> None:
    """A step (one rule or a best-of group) with a unit rule: each member priced alone on the
    same state, then per line the largest discount wins (tie: first member)."""
    scene = basket.scene()
    live = [r for r in unit if valid_now(r.validity, basket.local) and holds_without_line(r.condition, scene)]
    priced: list[tuple[Rule, dict[int, int], set[int]]] = []
    for rule in live:
        if isinstance(rule.effect, UNIT_EFFECTS):
            fen, given = _price(rule, scene, free_units, gifts)
        else:
            fen = {}
            for i in range(len(scene.request.lines)):
                if scene.locked[i] or scene.remaining[i] <= 0:
                    continue
                if rule.condition is None or holds(rule.condition, scene, i):
                    fen[i] = plain(rule, scene, i, scene.remaining[i])
            given = set()
        priced.append((rule, fen, given))
    for i in range(len(scene.request.lines)):
        best: tuple[int, Rule] | None = None
        for rule, fen, _ in priced:
            if fen.get(i, 0) > 0 and (best is None or fen[i] > best[0]):
                best = (fen[i], rule)
        if best is not None:
            basket.take(i, best[1].id, "rule", best[0])
            winner: Rule | None = best[1]
        else:
            winner = next((rule for rule, _, given in priced if i in given), None)
        if winner is not None and winner.exclusive:
            basket.locked[i] = True


def _price(
    rule: Rule, scene: Scene, free_units: list[FreeUnits], gifts: list[GiftAvailable]
) -> tuple[dict[int, int], set[int]]:
    """One unit rule alone: the fen off each line, and the lines a gift unit went to."""
    effect = rule.effect
    units: list[_Unit] = []
    for i, line in enumerate(scene.request.lines):
        if scene.locked[i] or scene.remaining[i] <= 0 or line.quantity % QTY_SCALE:
            continue
        if rule.condition is not None and not holds(rule.condition, scene, i):
            continue
        if isinstance(effect, Gift) and line.sku != effect.sku:
            continue
        q = line.quantity // QTY_SCALE
        units.extend(_Unit(i, k, Fraction(scene.remaining[i], q)) for k in range(q))
    walk = sorted(units, key=lambda u: (-u.value, u.line, u.index))
    taken: dict[int, Fraction] = {}  # line -> sum of the fractions taken from its units

    def take(u: _Unit, fraction: Fraction) -> None:
        taken[u.line] = taken.get(u.line, Fraction(0)) + fraction

    if isinstance(effect, BuyGet):
        size = effect.buy + effect.get
        groups = [walk[k : k + size] for k in range(0, len(walk), size)]
        complete = [g for g in groups if len(g) == size]
        kept = complete if effect.limit is None else complete[: effect.limit]
        for group in kept:
            for u in group[effect.buy :]:
                take(u, Fraction(1))
        last = groups[-1] if groups else []
        room = effect.limit is None or len(complete) < effect.limit
        if len(last) < size and len(last) >= effect.buy and room:
            free_units.append(FreeUnits(rule.id, size - len(last)))
    elif isinstance(effect, EveryNth):
        positions = [u for p, u in enumerate(walk, start=1) if p % effect.n == 0]
        for u in positions if effect.limit is None else positions[: effect.limit]:
            take(u, effect.rate)
    elif isinstance(effect, UnitsFor):
        groups = [walk[k : k + effect.n] for k in range(0, len(walk) - effect.n + 1, effect.n)]
        for group in groups if effect.limit is None else groups[: effect.limit]:
            value = sum((u.value for u in group), Fraction(0))
            if value <= effect.price:
                continue
            shares = _largest_remainder(
                round_half_up((value - effect.price).numerator, (value - effect.price).denominator), group
            )
            for u, share in zip(group, shares, strict=True):
                take(u, share / u.value)
    elif isinstance(effect, Gift):
        for u in walk[: effect.qty]:
            take(u, Fraction(1))
        if len(walk) < effect.qty:
            gifts.append(GiftAvailable(rule.id, effect.sku, effect.qty - len(walk)))
    fen = {}
    for i, fraction in taken.items():
        q = scene.request.lines[i].quantity // QTY_SCALE
        exact = scene.remaining[i] * fraction / q
        fen[i] = round_half_up(exact.numerator, exact.denominator)
    given = set(taken) if isinstance(effect, Gift) else set()
    return fen, given


def _largest_remainder(total: int, group: list[_Unit]) -> list[int]:
    """``total`` fen over the group's units in proportion to value, largest remainder first
    (ties: larger value, then walk order); no unit takes more than its whole fen, the excess
    is spread again over the units with room; at most what the units can carry is spread."""
    caps = [u.value.numerator // u.value.denominator for u in group]
    total = min(total, sum(caps))
    shares = [0] * len(group)
    left = total
    while left > 0:
        live = [k for k in range(len(group)) if shares[k] < caps[k]]
        weight = sum((group[k].value for k in live), Fraction(0))
        exact = {k: left * group[k].value / weight for k in live}
        part = {k: exact[k].numerator // exact[k].denominator for k in live}
        spare = left - sum(part.values())
        order = sorted(live, key=lambda k: (-(exact[k] - part[k]), -group[k].value, k))
        for k in order[:spare]:
            part[k] += 1
        left = 0
        for k in live:
            room = caps[k] - shares[k]
            give = min(part[k], room)
            shares[k] += give
            left += part[k] - give
    return shares


def holds_without_line(condition: Expr | None, scene: Scene) -> bool:
    """The parts of a top-level `and` that read no line (all of it when none does) hold."""
    if condition is None:
        return True
    parts = condition.items if isinstance(condition, And) else (condition,)
    return all(holds(p, scene) for p in parts if not _reads_line(p))


def _reads_line(expr: Expr) -> bool:
    """Whether ``expr`` reads ``item.*`` outside a measure (subtotal, count, quantity)."""
    if isinstance(expr, (Aggregate, Const)):
        return False
    if isinstance(expr, Field):
        return expr.name.startswith("item.")
    if isinstance(expr, Compare):
        return _reads_line(expr.left) or _reads_line(expr.right)
    if isinstance(expr, (In, Has)):
        return _reads_line(expr.subject)
    if isinstance(expr, (And, Or)):
        return any(_reads_line(e) for e in expr.items)
    if isinstance(expr, Not):
        return _reads_line(expr.item)
    return False
