"""Running nudge plans (engine.compile.nudges) on the state just before a rule or coupon."""

from __future__ import annotations

from engine.compile.nudges import NudgePlan
from engine.context import Context
from engine.model import Nudge

__all__ = ["absent_nudges", "coupon_nudge", "rule_nudges"]


def _unmet(plan: NudgePlan, ctx: Context, total: int) -> list[Nudge] | None:
    """The condition's unmet thresholds as nudges; None when a part that is not a threshold fails.

    ``[]`` means the whole condition holds. Each measure is read once (a threshold is ``>=``), and
    not at all when it is the rule's own eligible ``total`` (``Threshold.own``).
    """
    for other in plan.others:
        if not other(ctx, -1):
            return None
    out = []
    for t in plan.thresholds:
        value = total if t.own else t.measure(ctx, -1)
        if value < t.fen:
            out.append(Nudge(plan.source, plan.label, t.fen - value, t.kind, t.fen, t.scope))
    return out


def rule_nudges(plan: NudgePlan, ctx: Context, total: int) -> tuple[bool, list[Nudge]]:
    """Whether a basket rule's condition (validity included) holds now, and its nudges.

    The stage uses the first answer instead of testing the rule's condition again: the plan holds
    every part of it. ``total`` is the rule's eligible lines' remaining amount just before it.
    """
    if plan.valid is not None and not plan.valid(ctx):
        return False, []
    unmet = _unmet(plan, ctx, total)
    if unmet is None or len(unmet) > 1:
        return False, []
    steps, every = plan.steps, plan.every
    if unmet:
        if (steps and steps[0] > total) or (every is not None and total < every[0]):
            return False, []  # the effect's own first threshold is unmet too
        return False, unmet
    if steps:
        return True, [
            Nudge(plan.source, plan.label, t - total, "subtotal", t, plan.over_scope)
            for t in steps
            if t > total
        ]
    if every is not None:
        size, limit = every
        times = total // size
        if limit is None or times < limit:
            target = size * (times + 1)
            return True, [Nudge(plan.source, plan.label, target - total, "subtotal", target, plan.over_scope)]
    return True, []


def absent_nudges(plan: NudgePlan, ctx: Context) -> tuple[Nudge, ...]:
    """A rule's nudges when none of the lines it measures is in the basket: the plan's precomputed
    answer, once its validity and its other conditions hold."""
    if plan.valid is not None and not plan.valid(ctx):
        return ()
    for other in plan.others:
        if not other(ctx, -1):
            return ()
    return plan.absent  # type: ignore[return-value]


def coupon_nudge(plan: NudgePlan, ctx: Context, total: int) -> Nudge | None:
    """A presented coupon's nudge: its condition's one unmet threshold, or its min spend."""
    unmet = _unmet(plan, ctx, total)  # a coupon's thresholds are never `own`
    if unmet is None:
        return None
    if total < plan.min_spend:
        fen = plan.min_spend
        unmet.append(Nudge(plan.source, plan.label, fen - total, "min_spend", fen, plan.applies_scope))
    return unmet[0] if len(unmet) == 1 else None
