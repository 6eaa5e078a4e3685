"""Compile a checked :class:`~engine.rules.Ruleset` into closures and indexes.

Everything that does not depend on the basket is decided here, once: the stage
order of rules, best-of groups, operator choice, tier ranks, exact rate
fractions as integer pairs, and which lines each rule can possibly match. The
result is immutable; a server swaps a reference to reload.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from zoneinfo import ZoneInfo

from engine import rules as ir
from engine.compile.closures import ALWAYS, Predicate, compile_predicate, field_getter
from engine.compile.index import Key, keys_of, split_conjuncts
from engine.compile.linefilter import LineFilter, compile_line_filter
from engine.compile.nudges import NudgePlan, coupon_plan, rule_plan, with_absent
from engine.context import Context
from engine.model import Multiplier
from engine.money import QTY_SCALE, line_amount, round_half_up
from engine.usage import coupon_source

__all__ = ["CompiledCoupon", "CompiledRule", "Program", "ruleset_digest"]

ItemEffect = Callable[[Context, int, int], int]
"""``(ctx, line, remaining) -> fen`` off that line, before capping at what is left."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule ready to run: a once-per-request gate, a per-line test and its effect."""

    id: str
    rule: ir.Rule
    live: Predicate  # validity and the parts of the condition that need no line; called with i = -1
    on_line: Predicate  # the parts that read the line (always true for basket/points rules)
    item_effect: ItemEffect | None
    over: Predicate  # which lines a basket discount or bonus spreads over
    keys: frozenset[Key] | None
    line_filter: LineFilter | None = None  # generated form of on_line (item) or over (basket, bonus)
    exclusive: bool = False
    basket_amount: Callable[[int], int] | None = None  # fen off, given the eligible subtotal
    multiplier: Multiplier | None = None  # the explanation entry of a multiplier rule, built once
    bonus: int = 0  # the points of a bonus rule
    unit: ir.UnitEffect | None = None  # a unit-level effect (engine/evaluate/units.py prices it)
    campaign: str | None = None  # its campaign, whose money budget caps what it takes


@dataclass(frozen=True, slots=True)
class Step:
    """A position in a stage: one rule, or a best-of group acting at its first member's place."""

    members: tuple[CompiledRule, ...]
    keys: frozenset[Key] | None
    single: CompiledRule | None  # the member when the step is one rule, not a group
    units: bool = False  # a member is a unit-level rule: engine/evaluate/units.py runs the step


@dataclass(frozen=True, slots=True)
class CompiledCoupon:
    coupon: ir.Coupon
    live: Callable[[Context], bool]
    applies: Predicate
    applies_filter: LineFilter | None
    eligible: Predicate | None = None  # the coupon's `when` (member and basket), called with i = -1
    nudge: NudgePlan | None = None  # what a little more would trigger (engine.compile.nudges)
    blocked: str | None = None  # why a use limit keeps it from applying now (Program.restricted)


class Program:
    """A ruleset compiled: everything the evaluator reads, decided once. ``version`` names it.

    It does not run itself: :class:`engine.compiled.CompiledRuleset` pairs it with the evaluator,
    so this package never imports :mod:`engine.evaluate`.
    """

    def __init__(self, ruleset: ir.Ruleset) -> None:
        self.ruleset = ruleset
        self.name = ruleset.name
        self.digest = ruleset_digest(ruleset)
        self.version = self.digest[:12]
        self.settings = ruleset.settings
        self.zone = ZoneInfo(ruleset.settings.timezone)
        self.tier_ranks = {t.id: t.rank for t in ruleset.tiers}
        self.tiers = {t.id: t for t in ruleset.tiers}
        ranks = self.tier_ranks
        # Points factor per tier as an integer pair: per_yuan x tier rate / 100.
        per_yuan = ruleset.settings.points_per_yuan
        self.tier_points: dict[str | None, tuple[int, int, Fraction]] = {}
        for tier in ruleset.tiers:
            f = per_yuan * tier.rate / 100
            self.tier_points[tier.id] = (f.numerator, f.denominator, tier.rate)
        base = per_yuan / 100
        self.default_points = (base.numerator, base.denominator, Fraction(1))

        ordered = sorted(ruleset.rules, key=lambda r: (-r.priority, r.order))
        self.item_steps = _steps([r for r in ordered if r.stage == "item"], ranks)
        self.basket_steps = _steps([r for r in ordered if r.stage == "basket"], ranks)
        self.points_steps = _steps([r for r in ordered if r.stage == "points"], ranks)
        # Nudge plans by basket step position: (member, plan) for each member that can nudge.
        self.basket_plans: dict[int, tuple[tuple[CompiledRule, NudgePlan], ...]] = {}
        for position, step in enumerate(self.basket_steps):
            plans = tuple(
                (m, with_absent(plan, step.keys))
                for m in step.members
                if (plan := rule_plan(m.rule, ranks, _validity(m.rule.validity))) is not None
            )
            if plans:
                self.basket_plans[position] = plans
        self.item_index, self.item_always = _index(self.item_steps)
        self.basket_index, self.basket_always = _index(self.basket_steps)
        self.points_index, self.points_always = _index(self.points_steps)
        self.indexed = bool(self.item_index or self.basket_index or self.points_index)
        no_points = ir.Or(tuple(n.condition for n in ruleset.no_points)) if ruleset.no_points else None
        self.no_points = compile_predicate(no_points, ranks) if no_points is not None else None
        self.no_points_filter = compile_line_filter(no_points, "no_points") if no_points is not None else None
        self.coupons = {
            c.id: CompiledCoupon(
                c,
                _validity(c.validity) or _always_live,
                compile_predicate(c.applies_to, ranks),
                compile_line_filter(c.applies_to, f"coupon {c.id}"),
                compile_predicate(c.condition, ranks) if c.condition is not None else None,
                coupon_plan(c, ranks),
            )
            for c in sorted(ruleset.coupons, key=lambda c: c.order)
        }
        self.coupon_order = {c: k for k, c in enumerate(self.coupons)}
        redeem_on = ruleset.settings.redeem_applies_to
        self.redeem_applies = compile_predicate(redeem_on, ranks)  # the lines points may pay for
        self.redeem_filter = compile_line_filter(redeem_on, "redeem applies_to")
        self._restricted: dict[frozenset[tuple[str, str]], Program] = {}

    def restricted(self, blocked: Mapping[str, str]) -> Program:
        """This program without the rules ``blocked`` names; its blocked coupons refuse with
        ``limit_reached``. Same version. Cached: a till meets the same few blocked sets all day."""
        key = frozenset(blocked.items())
        found = self._restricted.get(key)
        if found is None:
            kept = tuple(r for r in self.ruleset.rules if r.id not in blocked)
            found = type(self)(dataclasses.replace(self.ruleset, rules=kept))
            for code, c in list(found.coupons.items()):
                why = blocked.get(coupon_source(code))
                if why is not None:
                    found.coupons[code] = dataclasses.replace(c, blocked=why)
            if len(self._restricted) >= 64:
                self._restricted.clear()
            self._restricted[key] = found
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}@{self.version}>"


def ruleset_digest(ruleset: ir.Ruleset) -> str:
    """sha256 of the ruleset's source text (or of its IR when built by hand)."""
    text = ruleset.source_text or repr(ruleset)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- stages


def _steps(rules: list[ir.Rule], ranks: dict[str, int]) -> tuple[Step, ...]:
    """Group rules into steps: a best-of group sits where its first member does."""
    steps: list[list[CompiledRule]] = []
    group_at: dict[str, int] = {}
    for rule in rules:
        compiled = _compile_rule(rule, ranks)
        if rule.group is None:
            steps.append([compiled])
        elif rule.group in group_at:
            steps[group_at[rule.group]].append(compiled)
        else:
            group_at[rule.group] = len(steps)
            steps.append([compiled])
    out = []
    for members in steps:
        keys: frozenset[Key] | None = frozenset()
        for m in members:
            keys = None if keys is None or m.keys is None else keys | m.keys
        has_units = any(m.unit is not None for m in members)
        out.append(Step(tuple(members), keys, members[0] if len(members) == 1 else None, has_units))
    return tuple(out)


INDEX_FROM = 12
"""A stage with fewer steps is scanned: testing a handful of rules on each line is cheaper
than looking the lines up. Above it, each line meets only the rules filed under its keys."""


def _index(steps: tuple[Step, ...]) -> tuple[dict[Key, tuple[int, ...]], dict[int, None]]:
    """File each step under its keys; steps without keys are met by every basket."""
    index: dict[Key, list[int]] = {}
    always = []
    for position, step in enumerate(steps):
        if step.keys is None or len(steps) < INDEX_FROM:
            always.append(position)
        else:
            for key in step.keys:
                index.setdefault(key, []).append(position)
    return {k: tuple(v) for k, v in index.items()}, dict.fromkeys(always)


def _compile_rule(rule: ir.Rule, ranks: dict[str, int]) -> CompiledRule:
    validity = _validity(rule.validity)
    over: Predicate = compile_predicate(None, ranks)
    item_effect = None
    keys: frozenset[Key] | None = None
    if rule.stage == "item":
        basket_parts, line_parts = split_conjuncts(rule.condition)
        if isinstance(rule.effect, ir.Gift):  # only the gift's own units take part
            line_parts.append(ir.Compare("=", ir.Field("item.sku"), ir.Const(rule.effect.sku, "text")))
        gate = _all(basket_parts, ranks)
        on_line = _all(line_parts, ranks)
        keys = keys_of(ir.And(tuple(line_parts))) if line_parts else None
        line_filter = compile_line_filter(
            ir.And(tuple(line_parts)) if line_parts else None, f"rule {rule.id}"
        )
        if isinstance(rule.effect, ir.UNIT_EFFECTS):
            if isinstance(rule.effect, ir.Gift):  # met by every basket: an absent gift is offered
                keys = None
        else:
            item_effect = _item_effect(rule.effect)
        if isinstance(rule.effect, ir.TableDiscount):
            table_keys = _table_keys(rule.effect)
            if table_keys is not None and (keys is None or len(table_keys) < len(keys)):
                keys = table_keys
    else:
        gate = compile_predicate(rule.condition, ranks)
        on_line = over
        over_expr = getattr(rule.effect, "over", None)
        over = compile_predicate(over_expr, ranks)
        line_filter = compile_line_filter(over_expr, f"rule {rule.id}")
        keys = keys_of(over_expr)

    live: Predicate
    if validity is None:
        live = gate
    elif gate is ALWAYS:
        live = lambda ctx, i: validity(ctx)  # noqa: E731
    else:
        live = lambda ctx, i: validity(ctx) and gate(ctx, i)  # noqa: E731
    effect = rule.effect
    return CompiledRule(
        rule.id,
        rule,
        live,
        on_line,
        item_effect,
        over,
        keys,
        line_filter,
        rule.exclusive,
        _basket_amount(effect) if rule.stage == "basket" else None,
        Multiplier(rule.id, effect.factor) if isinstance(effect, ir.PointsMultiplier) else None,
        effect.points if isinstance(effect, ir.BonusPoints) else 0,
        effect if isinstance(effect, ir.UNIT_EFFECTS) else None,
        rule.campaign,
    )


def _basket_amount(effect: ir.Effect) -> Callable[[int], int]:
    """Fen a basket effect takes from lines whose remaining amounts sum to ``subtotal``."""
    if isinstance(effect, ir.BasketOff):
        amount = effect.amount
        return lambda subtotal: min(amount, subtotal)
    if isinstance(effect, ir.BasketSteps):
        steps = sorted(effect.steps, reverse=True)  # the largest step whose threshold is met applies, once

        def ladder(subtotal: int) -> int:
            for threshold, off in steps:
                if threshold <= subtotal:
                    return min(off, subtotal)
            return 0

        return ladder
    if isinstance(effect, ir.BasketEvery):
        every, off, limit = effect.every, effect.amount, effect.limit

        def each_full(subtotal: int) -> int:
            times = subtotal // every
            if limit is not None and times > limit:
                times = limit
            return min(off * times, subtotal)

        return each_full
    raise TypeError(f"not a basket effect: {type(effect).__name__}")


def _all(parts: list[ir.Expr], ranks: dict[str, int]) -> Predicate:
    if not parts:
        return compile_predicate(None, ranks)
    if len(parts) == 1:
        return compile_predicate(parts[0], ranks)
    return compile_predicate(ir.And(tuple(parts)), ranks)


def _table_keys(effect: ir.TableDiscount) -> frozenset[Key] | None:
    for position, key in enumerate(effect.keys):
        if key.name == "item.category":
            return frozenset(("category", cell[position]) for cell in effect.rates)
    return None


def _item_effect(effect: ir.Effect) -> ItemEffect:
    """Each item effect as a closure over exact integers."""
    if isinstance(effect, ir.PercentOff):
        num, den = effect.rate.numerator, effect.rate.denominator
        return lambda ctx, i, remaining: round_half_up(remaining * num, den)
    if isinstance(effect, ir.AmountOff):
        per_unit = effect.per_unit
        return lambda ctx, i, remaining: round_half_up(per_unit * ctx.lines[i].quantity, QTY_SCALE)
    if isinstance(effect, ir.MemberPrice):
        price = effect.price
        return lambda ctx, i, remaining: remaining - line_amount(price, ctx.lines[i].quantity)
    if isinstance(effect, ir.TableDiscount):
        getters = tuple(_key_getter(k) for k in effect.keys)
        rates = {cell: (r.numerator, r.denominator) for cell, r in effect.rates.items()}

        def table(ctx: Context, i: int, remaining: int) -> int:
            rate = rates.get(tuple(g(ctx, i) for g in getters))
            return 0 if rate is None else round_half_up(remaining * rate[0], rate[1])

        return table
    raise TypeError(f"not an item effect: {type(effect).__name__}")


def _key_getter(key: ir.Field) -> Callable[[Context, int], object]:
    if key.name == "member.tier":
        return lambda ctx, i: None if ctx.member is None else ctx.member.tier
    return field_getter(key.name)


def _always_live(ctx: Context) -> bool:
    return True


def _validity(v: ir.Validity) -> Callable[[Context], bool] | None:
    """A closure testing only the bounds that are set; None when always valid."""
    checks: list[Callable[[Context], bool]] = []
    start, end = v.date_from, v.date_to
    if start is not None and end is not None:
        checks.append(lambda ctx: start <= ctx.date <= end)
    elif start is not None:
        checks.append(lambda ctx: ctx.date >= start)
    elif end is not None:
        checks.append(lambda ctx: ctx.date <= end)
    if v.weekdays is not None:
        days = v.weekdays
        checks.append(lambda ctx: ctx.weekday in days)
    if v.hours is not None:
        lo, hi = v.hours
        checks.append(lambda ctx: lo <= ctx.time < hi)
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    every = tuple(checks)
    return lambda ctx: all(c(ctx) for c in every)
