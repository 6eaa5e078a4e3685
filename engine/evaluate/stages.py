"""Run a compiled ruleset over one validated request, stage by stage.

Order (PRODUCT.md): item rules -> basket rules (满减) -> coupons -> points
redemption -> points earned. Each stage reads and updates the lines' remaining
amounts and locks in a :class:`~engine.context.Context`; every fen taken is
recorded against the line and the rule that took it.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from itertools import starmap
from operator import attrgetter

from engine.apportion import split_by_remainder
from engine.compile.compiler import CompiledRule, Program, Step
from engine.compile.index import line_keys
from engine.context import Context
from engine.evaluate.budget_caps import cap as _cap
from engine.evaluate.budget_caps import notes as _notes
from engine.evaluate.coupons import coupon_stage
from engine.evaluate.nudges import absent_nudges, rule_nudges
from engine.evaluate.spread import spread as _spread
from engine.evaluate.units import Offers, unit_step
from engine.model import (
    NO_REDEMPTION,
    Bonus,
    Discount,
    Evaluation,
    LineOutcome,
    Multiplier,
    Nudge,
    PointsOutcome,
    Redemption,
    Request,
)
from engine.money import line_amount

__all__ = ["evaluate"]

_ONE = Fraction(1)


_line_id = attrgetter("id")


def evaluate(compiled: Program, request: Request, amounts: list[int] | None = None) -> Evaluation:
    """Price ``request`` (already validated) with ``compiled``; deterministic and side-effect free.

    ``amounts`` are the line amounts when the caller has them (validation computes them).
    """
    lines = request.lines
    if amounts is None:
        amounts = [line_amount(line.unit_price, line.quantity) for line in lines]
    member = request.member
    tier_rank = compiled.tier_ranks.get(member.tier) if member is not None else None
    ctx = Context(request, compiled.zone, amounts, tier_rank)
    usage = request.usage
    if usage is not None and usage.money_left:
        ctx.budget = dict(usage.money_left)
    taken: list[list[Discount]] = [[] for _ in lines]

    keys: set = set()  # every (attribute, value) the basket's lines carry, for the rule index
    if compiled.indexed:
        for line in lines:
            keys.update(line_keys(line))
    offers = Offers()
    _item_stage(compiled, ctx, taken, keys, offers)
    nudges: list[Nudge] = []
    _basket_stage(compiled, ctx, taken, keys, nudges)
    coupons = coupon_stage(compiled, ctx, taken, request, nudges) if request.coupons else ()
    redemption = _redeem(compiled, ctx, taken, request.redeem_points) if request.redeem_points else None
    points, shares, earns = _points(compiled, ctx, keys)

    remaining = ctx.remaining
    fields = zip(
        map(_line_id, lines),
        amounts,
        map(tuple, taken),
        map(int.__sub__, amounts, remaining),
        remaining,
        shares,
        earns,
        strict=True,
    )
    outcomes = tuple(starmap(LineOutcome, fields))
    subtotal = sum(amounts)
    payable = sum(remaining)
    return Evaluation(
        compiled.name,
        compiled.version,
        outcomes,
        subtotal,
        subtotal - payable,
        payable,
        points,
        coupons,
        redemption or NO_REDEMPTION,
        tuple(offers.free_units),
        tuple(offers.gifts),
        tuple(nudges),
        _notes(usage, ctx, request.coupons) if usage is not None else (),
    )


# --------------------------------------------------------------------------- candidates


def _candidates(index: dict, always: dict[int, None], present: set) -> Iterable[int]:
    """The positions of the steps this basket can meet, in stage order.

    A stage without an index is met in full (``always``). Otherwise a step is met when
    some line carries one of its keys; the step's own tests then decide exactly.
    """
    if not index:
        return always
    found = set(always)
    for key in present:
        steps = index.get(key)
        if steps:
            found.update(steps)
    return sorted(found)


# --------------------------------------------------------------------------- item rules


def _item_stage(
    compiled: Program, ctx: Context, taken: list[list[Discount]], keys: set, offers: Offers
) -> None:
    remaining, locked, budget = ctx.remaining, ctx.locked, ctx.budget
    for position in _candidates(compiled.item_index, compiled.item_always, keys):
        step = compiled.item_steps[position]
        if step.units:
            unit_step(step, ctx, taken, offers)
            continue
        m = step.single
        if m is not None and m.line_filter is not None:
            # One rule whose line test was generated and reads nothing that changes:
            # test all lines in one call and write each discount straight away.
            if not m.live(ctx, -1):
                continue
            effect = m.item_effect
            for i in ctx.select(m.line_filter, m.on_line):
                left = remaining[i]
                if locked[i] or left <= 0:
                    continue
                d = effect(ctx, i, left)  # type: ignore[misc]
                if d > 0:
                    if d > left:
                        d = left
                    if budget is not None and m.campaign in budget:
                        d = _cap(ctx, m.id, m.campaign, d)  # type: ignore[arg-type]
                        if d <= 0:
                            continue
                    remaining[i] = left - d
                    taken[i].append(Discount(m.id, "rule", d))
                    if m.exclusive:
                        locked[i] = True
        else:
            _item_step(step, ctx, taken, range(ctx.line_count))


def _item_step(step: Step, ctx: Context, taken: list[list[Discount]], lines: range) -> None:
    """A best-of group, or a rule whose line test needs the state: per-line calls."""
    members = [m for m in step.members if m.live(ctx, -1)]
    if not members:
        return
    remaining, locked = ctx.remaining, ctx.locked
    # Price every line first and write afterwards: a condition such as subtotal()
    # is measured just before the rule, for all of its lines alike.
    applied = []
    for i in lines:
        left = remaining[i]
        if locked[i] or left <= 0:
            continue
        best, winner = 0, None
        for m in members:
            if m.on_line(ctx, i):
                d = m.item_effect(ctx, i, left)  # type: ignore[misc]
                if d > left:
                    d = left
                if d > best:
                    best, winner = d, m
        if winner is not None:
            applied.append((i, best, winner))
    budget = ctx.budget
    for i, best, winner in applied:
        if budget is not None and winner.campaign in budget:
            best = _cap(ctx, winner.id, winner.campaign, best)
            if best <= 0:
                continue
        remaining[i] -= best
        taken[i].append(Discount(winner.id, "rule", best))
        if winner.exclusive:
            locked[i] = True


# --------------------------------------------------------------------------- basket rules


def _basket_stage(
    compiled: Program, ctx: Context, taken: list[list[Discount]], keys: set, nudges: list[Nudge]
) -> None:
    if not compiled.basket_steps:
        return
    candidates = _candidates(compiled.basket_index, compiled.basket_always, keys)
    positions = candidates
    plans = compiled.basket_plans
    if plans and compiled.basket_index:
        # A rule may nudge even when no line it measures is in the basket: visit every step that
        # can nudge too. Steps the index skipped take nothing, so the state they see is the same,
        # and most of them nudge by a plan's precomputed answer for "none of my lines is here".
        candidates = set(candidates)
        positions = sorted(candidates | set(plans))
    for position in positions:
        step: Step = compiled.basket_steps[position]
        # Rule id -> whether its condition holds and its eligible lines, when its nudge plan
        # measured them; the state does not change before the step runs.
        holds: dict[str, bool] = {}
        measured: dict[str, tuple[list[int], int]] = {}
        if plans and position in plans:
            absent = position not in candidates  # none of the step's lines is in the basket
            for m, plan in plans[position]:
                if absent and plan.absent is not None:
                    nudges.extend(absent_nudges(plan, ctx))
                    continue
                measured[m.id] = lines, subtotal = _eligible(ctx, m)
                holds[m.id], found = rule_nudges(plan, ctx, subtotal)
                nudges.extend(found)
            if absent:
                continue  # it would take nothing
        best, winner, eligible = 0, None, []
        for m in step.members:
            if not (holds[m.id] if m.id in holds else m.live(ctx, -1)):
                continue
            lines, subtotal = measured[m.id] if m.id in measured else _eligible(ctx, m)
            amount = m.basket_amount(subtotal)  # type: ignore[misc]
            if amount > best:
                best, winner, eligible = amount, m, lines
        if winner is not None and ctx.budget is not None and winner.campaign in ctx.budget:
            best = _cap(ctx, winner.id, winner.campaign, best)
        if winner is not None and best > 0:
            _spread(ctx, taken, eligible, best, winner.id, "rule", winner.exclusive)


def _eligible(ctx: Context, m: CompiledRule) -> tuple[list[int], int]:
    """A basket rule's lines just before it (unlocked, something left) and their remaining total."""
    remaining, locked = ctx.remaining, ctx.locked
    lines, total = [], 0  # a loop, not comprehensions: baskets are short
    for i in ctx.select(m.line_filter, m.over):
        if not locked[i] and remaining[i] > 0:
            lines.append(i)
            total += remaining[i]
    return lines, total


# --------------------------------------------------------------------------- points


def _redeem(compiled: Program, ctx: Context, taken: list[list[Discount]], asked: int) -> Redemption:
    """Spend points at the ruleset's rate, capped at a share of the eligible remaining amount."""
    settings = compiled.settings
    rate = settings.redeem_points_per_yuan
    assert rate is not None  # validate_request refuses redemption without a rate
    remaining, locked = ctx.remaining, ctx.locked
    chosen = ctx.select(compiled.redeem_filter, compiled.redeem_applies)
    lines = [i for i in chosen if not locked[i] and remaining[i] > 0]
    eligible = sum(remaining[i] for i in lines)
    share = settings.redeem_cap
    cap = eligible * share.numerator // share.denominator
    used = min(asked, cap * rate // 100)
    value = used * 100 // rate
    if value:
        _spread(ctx, taken, lines, value, "points", "points")
    return Redemption(used, value)


def _points(compiled: Program, ctx: Context, keys: set) -> tuple[PointsOutcome, list[int], list[bool]]:
    """Points earned on the final nets, with each line's share; guests earn none."""
    n = ctx.line_count
    member = ctx.member
    if member is None:
        return PointsOutcome(0, 0, 0, _ONE, _ONE, (), ()), [0] * n, [False] * n
    # Earning points is unaffected by `exclusive`: a points rule's measures (subtotal(), count(),
    # gross()...) count the lines an exclusive rule locked. Nothing after this stage reads the locks.
    ctx.locked = [False] * n
    earns = [True] * n
    if compiled.no_points is not None:
        for i in ctx.select(compiled.no_points_filter, compiled.no_points):
            earns[i] = False
    net = ctx.remaining
    multipliers: list[Multiplier] = []
    bonuses: list[CompiledRule] = []
    if compiled.points_steps:
        steps = compiled.points_steps
        for position in _candidates(compiled.points_index, compiled.points_always, keys):
            step = steps[position]
            rule = step.single
            if rule is None:
                rule = _best_of(step, ctx)
                if rule is None:
                    continue
            elif not rule.live(ctx, -1):
                continue
            if rule.multiplier is not None:
                multipliers.append(rule.multiplier)
            else:
                bonuses.append(rule)

    num, den, tier_rate = compiled.tier_points.get(member.tier, compiled.default_points)
    factor = _ONE
    if multipliers:
        factor = _combine(compiled.settings.multipliers, multipliers)
        num, den = num * factor.numerator, den * factor.denominator

    # Each line's exact share floored, then a point each to the largest fractions
    # (ties: larger net, earlier line) until the shares sum to the rounded total.
    shares = [0] * n
    fractions = [0] * n
    earning = []
    eligible_fen = given = 0
    for i in range(n):
        paid = net[i]
        if paid and earns[i]:
            earning.append(i)
            eligible_fen += paid
            shares[i], fractions[i] = q_r = divmod(paid * num, den)
            given += q_r[0]
    base = _round_points(compiled.settings.points_rounding, eligible_fen * num, den)
    if base > given:
        for _, _, k in sorted([(-fractions[k], -net[k], k) for k in earning])[: base - given]:
            shares[k] += 1

    earned = base
    granted: list[Bonus] = []
    for rule in bonuses:
        lines = [i for i in ctx.select(rule.line_filter, rule.over) if earns[i] and net[i] > 0]
        if not lines:
            continue
        for i, part in zip(lines, split_by_remainder(rule.bonus, [net[i] for i in lines]), strict=True):
            shares[i] += part
        granted.append(Bonus(rule.id, rule.bonus))
        earned += rule.bonus
    fields = (earned, base, eligible_fen, tier_rate, factor, tuple(multipliers), tuple(granted))
    points = PointsOutcome(*fields)
    return points, shares, earns


def _best_of(step: Step, ctx: Context) -> CompiledRule | None:
    """The rule of a best-of points group that applies: the largest factor or bonus among the
    live members, ties to the first; None when none is live."""
    best: CompiledRule | None = None
    best_value: Fraction | int = 0
    for m in step.members:
        if m.live(ctx, -1):
            value = m.multiplier.factor if m.multiplier is not None else m.bonus
            if best is None or value > best_value:
                best, best_value = m, value
    return best


def _combine(mode: str, multipliers: list[Multiplier]) -> Fraction:
    """Combine active multipliers (at least one): multiply (default), max, or add (x2 and x2 add to x3)."""
    if len(multipliers) == 1:
        return multipliers[0].factor
    factors = [m.factor for m in multipliers]
    if mode == "max":
        return max(factors)
    if mode == "add":
        return 1 + sum((f - 1 for f in factors), Fraction(0))
    numerator = denominator = 1
    for f in factors:  # integer products, one normalisation: Fraction arithmetic is slow
        numerator *= f.numerator
        denominator *= f.denominator
    return Fraction(numerator, denominator)


def _round_points(mode: str, numerator: int, denominator: int) -> int:
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)  # half up, numerator >= 0
