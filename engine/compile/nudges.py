"""Nudge plans: what the compiled engine needs, decided once, to say what a little more would trigger.

A plan splits a basket rule's or coupon's condition into compiled parts that must hold and the
thresholds that may be unmet (``subtotal(...)/gross(...) >= M``, engine.thresholds), and keeps the
effect's own thresholds (ladder steps, 每满 multiples). engine.evaluate.nudges runs it. A rule
without any threshold has no plan and costs nothing. To nudge a new kind of basket-condition rule
(a 满赠 gift, say), add its effect type to ``NUDGING_EFFECTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine import rules as ir
from engine.compile.closures import Getter, Predicate, compile_predicate, compile_value
from engine.context import Context
from engine.thresholds import conjuncts, scope_text, threshold_of

__all__ = ["NUDGING_EFFECTS", "NudgePlan", "Threshold", "coupon_plan", "rule_plan"]

NUDGING_EFFECTS: tuple[type, ...] = (ir.BasketOff, ir.BasketSteps, ir.BasketEvery)
"""Effects whose rules nudge (their condition's thresholds, and their own for ladders and 每满)."""


@dataclass(frozen=True, slots=True)
class Threshold:
    test: Predicate  # the whole comparison
    measure: Getter  # the measure's value now
    fen: int
    kind: str  # "subtotal" or "gross"
    scope: str


@dataclass(frozen=True, slots=True)
class NudgePlan:
    source: str
    label: str
    valid: Callable[[Context], bool] | None  # the validity window; None: always
    others: tuple[Predicate, ...]  # the conjuncts that are not thresholds: all must hold
    thresholds: tuple[Threshold, ...]
    steps: tuple[int, ...] = ()  # a ladder's thresholds, lowest first
    every: tuple[int, int | None] | None = None  # 每满: (every, limit)
    over_scope: str = ""  # the lines the effect's own thresholds measure
    min_spend: int = 0  # a coupon's
    applies_scope: str = ""  # a coupon's applies_to, as a cashier says it


def _split(
    condition: ir.Expr | None, ranks: dict[str, int]
) -> tuple[tuple[Predicate, ...], tuple[Threshold, ...]]:
    others: list[Predicate] = []
    thresholds: list[Threshold] = []
    for part in conjuncts(condition):
        found = threshold_of(part)
        if found is None:
            others.append(compile_predicate(part, ranks))
        else:
            measure, fen = found
            getter = compile_value(measure, ranks)
            thresholds.append(
                Threshold(
                    compile_predicate(part, ranks), getter, fen, measure.kind, scope_text(measure.where)
                )
            )
    return tuple(others), tuple(thresholds)


def rule_plan(
    rule: ir.Rule, ranks: dict[str, int], valid: Callable[[Context], bool] | None
) -> NudgePlan | None:
    """The plan of a basket rule, or None when nothing about it can nudge."""
    effect = rule.effect
    if not isinstance(effect, NUDGING_EFFECTS):
        return None
    others, thresholds = _split(rule.condition, ranks)
    steps = tuple(sorted(t for t, _ in effect.steps)) if isinstance(effect, ir.BasketSteps) else ()
    every = (effect.every, effect.limit) if isinstance(effect, ir.BasketEvery) else None
    if not thresholds and not steps and every is None:
        return None
    over = scope_text(getattr(effect, "over", None))
    return NudgePlan(rule.id, rule.label or rule.id, valid, others, thresholds, steps, every, over)


def coupon_plan(coupon: ir.Coupon, ranks: dict[str, int]) -> NudgePlan | None:
    """The plan of a coupon, or None when it has neither a min spend nor a threshold condition."""
    others, thresholds = _split(coupon.condition, ranks)
    if not thresholds and coupon.min_spend <= 0:
        return None
    label = coupon.label or coupon.id
    return NudgePlan(
        f"coupon:{coupon.id}",
        label,
        None,
        others,
        thresholds,
        min_spend=coupon.min_spend,
        applies_scope=scope_text(coupon.applies_to),
    )
