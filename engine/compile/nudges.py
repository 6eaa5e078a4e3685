"""Nudge plans: what the compiled engine needs, decided once, to say what a little more would trigger.

A plan splits a basket rule's or coupon's condition into compiled parts that must hold and the
thresholds that may be unmet (``subtotal(...)/gross(...) >= M``, engine.thresholds), and keeps the
effect's own thresholds (ladder steps, 每满 multiples). engine.evaluate.nudges runs it. A rule
without any threshold has no plan and costs nothing. To nudge a new kind of basket-condition rule
(a 满赠 gift, say), add its effect type to ``NUDGING_EFFECTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from engine import rules as ir
from engine.compile.closures import Getter, Predicate, compile_predicate, compile_value
from engine.compile.index import Key, keys_of
from engine.compile.linefilter import LineFilter, compile_line_filter
from engine.context import Context
from engine.model import Nudge
from engine.thresholds import conjuncts, scope_text, threshold_of

__all__ = ["NUDGING_EFFECTS", "NudgePlan", "Threshold", "coupon_plan", "rule_plan", "with_absent"]

NUDGING_EFFECTS: tuple[type, ...] = (ir.BasketOff, ir.BasketSteps, ir.BasketEvery)
"""Effects whose rules nudge (their condition's thresholds, and their own for ladders and 每满)."""


@dataclass(frozen=True, slots=True)
class Threshold:
    """``measure >= fen`` (engine.thresholds.threshold_of): one call of ``measure`` tests it."""

    measure: Getter  # the measure's value now (an int: subtotal and gross are never None)
    fen: int
    kind: str  # "subtotal" or "gross"
    scope: str
    keys: frozenset[Key] | None = None  # one of which a line must carry to count (engine.compile.index)
    # The measure is the rule's own eligible total: subtotal() of the very lines it spreads over
    # (the same generated filter; unlocked lines, and a locked or used-up line adds 0 either way).
    # The basket stage measures that total once and the plan reads it instead of measuring again.
    own: bool = False


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
    # A basket rule's nudges when no line carries one of its step's index keys (so every measure
    # it reads is 0), given its validity and other conditions hold; None when that is not provable.
    absent: tuple[Nudge, ...] | None = None


def _split(
    condition: ir.Expr | None, ranks: dict[str, int], over: LineFilter | None = None
) -> tuple[tuple[Predicate, ...], tuple[Threshold, ...]]:
    """The condition's parts: predicates that must hold, and thresholds (``own`` when one measures
    ``subtotal()`` through ``over``, the generated filter of the lines the rule spreads over)."""
    others: list[Predicate] = []
    thresholds: list[Threshold] = []
    for part in conjuncts(condition):
        found = threshold_of(part)
        if found is None:
            others.append(compile_predicate(part, ranks))
        else:
            measure, fen = found
            getter = compile_value(measure, ranks)
            scope = scope_text(measure.where)
            own = (
                over is not None
                and measure.kind == "subtotal"
                and compile_line_filter(measure.where, "subtotal filter") is over
            )
            thresholds.append(Threshold(getter, fen, measure.kind, scope, keys_of(measure.where), own))
    return tuple(others), tuple(thresholds)


def rule_plan(
    rule: ir.Rule, ranks: dict[str, int], valid: Callable[[Context], bool] | None
) -> NudgePlan | None:
    """The plan of a basket rule, or None when nothing about it can nudge."""
    effect = rule.effect
    if not isinstance(effect, NUDGING_EFFECTS):
        return None
    over_filter = compile_line_filter(getattr(effect, "over", None), f"rule {rule.id}")
    others, thresholds = _split(rule.condition, ranks, over_filter)
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


def with_absent(plan: NudgePlan, step_keys: frozenset[Key] | None) -> NudgePlan:
    """``plan`` with its answer for a basket none of whose lines carries one of ``step_keys``.

    Provable only when every threshold counts lines with one of those keys (so it reads 0); the
    effect's own thresholds measure its `over` lines, whose keys are among the step's by
    construction. Mirrors engine.evaluate.nudges.rule_nudges at total 0.
    """
    if step_keys is None:
        return plan
    for t in plan.thresholds:
        if t.keys is None or not t.keys <= step_keys or t.fen <= 0:
            return plan

    def nudge(fen: int, kind: str, scope: str) -> Nudge:
        return Nudge(plan.source, plan.label, fen, kind, fen, scope)

    absent: tuple[Nudge, ...] = ()
    if len(plan.thresholds) == 1:
        t = plan.thresholds[0]
        if not plan.steps and plan.every is None:  # else a ladder's or 每满's first step is unmet too
            absent = (nudge(t.fen, t.kind, t.scope),)
    elif not plan.thresholds:
        if plan.steps:
            absent = tuple(nudge(s, "subtotal", plan.over_scope) for s in plan.steps if s > 0)
        elif plan.every is not None and (plan.every[1] is None or plan.every[1] > 0):
            absent = (nudge(plan.every[0], "subtotal", plan.over_scope),)
    return replace(plan, absent=absent)
