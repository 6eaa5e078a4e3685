"""Nudges for the reference interpreter (PRODUCT.md "Nudges"), read straight off the IR.

A basket rule (each step of a ladder) or a presented coupon nudges when its only unmet condition
is a ``>=`` threshold on a basket measure: the nudge says how much more of which lines would meet
it, measured on the state just before the rule or coupon. Member-history thresholds never nudge.
To nudge a new kind of rule, add its effect's own thresholds to ``_effect_thresholds``.
"""

from __future__ import annotations

from datetime import datetime

from engine.model import Nudge
from engine.reference.expr import Scene, holds, valid_now, value_of
from engine.rules import BasketEvery, BasketSteps, Coupon, Effect, Expr, Rule
from engine.thresholds import conjuncts, scope_text, threshold_of

__all__ = ["coupon_nudge", "rule_nudges"]


def _unmet(condition: Expr | None, scene: Scene) -> list[tuple[str, int, int, str]] | None:
    """The condition's unmet thresholds as (measure, threshold, value, scope); None when something
    that is not a threshold is unmet (then nothing nudges)."""
    out = []
    for part in conjuncts(condition):
        if holds(part, scene):
            continue
        found = threshold_of(part)
        if found is None:
            return None
        measure, fen = found
        out.append((measure.kind, fen, value_of(measure, scene, None), scope_text(measure.where)))
    return out


def _effect_thresholds(effect: Effect, total: int) -> list[int]:
    """The effect's own thresholds on its eligible subtotal that ``total`` has not reached, lowest
    first: each ladder step above it, or the next 每满 multiple while the limit allows one."""
    if isinstance(effect, BasketSteps):
        return sorted(t for t, _ in effect.steps if t > total)
    if isinstance(effect, BasketEvery):
        times = total // effect.every
        if effect.limit is None or times < effect.limit:
            return [effect.every * (times + 1)]
    return []


def _first_step_met(effect: Effect, total: int) -> bool:
    """Whether the effect gives something at ``total`` once its condition holds."""
    if isinstance(effect, BasketSteps):
        return any(t <= total for t, _ in effect.steps)
    if isinstance(effect, BasketEvery):
        return total >= effect.every
    return True


def rule_nudges(rule: Rule, scene: Scene, local: datetime, total: int) -> list[Nudge]:
    """``rule``'s nudges, ``total`` being its eligible lines' remaining amount just before it."""
    if not valid_now(rule.validity, local):
        return []
    unmet = _unmet(rule.condition, scene)
    label = rule.label or rule.id
    if unmet is None or len(unmet) > 1:
        return []
    if unmet:
        if not _first_step_met(rule.effect, total):
            return []  # two things unmet: the condition and the effect's own first step
        kind, fen, value, scope = unmet[0]
        return [Nudge(rule.id, label, fen - value, kind, fen, scope)]
    scope = scope_text(getattr(rule.effect, "over", None))
    return [
        Nudge(rule.id, label, t - total, "subtotal", t, scope) for t in _effect_thresholds(rule.effect, total)
    ]


def coupon_nudge(coupon: Coupon, scene: Scene, total: int) -> Nudge | None:
    """A presented coupon's nudge: its condition's one unmet threshold, or its min spend."""
    unmet = _unmet(coupon.condition, scene)
    if unmet is None:
        return None
    if total < coupon.min_spend:
        unmet.append(("min_spend", coupon.min_spend, total, scope_text(coupon.applies_to)))
    if len(unmet) != 1:
        return None
    kind, fen, value, scope = unmet[0]
    return Nudge(f"coupon:{coupon.id}", coupon.label or coupon.id, fen - value, kind, fen, scope)
