"""Semantic checks: a ruleset that parses but does not make sense is refused here.

Each check adds a RuleError at the offending node's span with a sentence saying
what to write instead: unknown fields and tiers (did you mean...), comparisons
across types, ``item.*`` where no line is in scope, duplicate ids, rates and
factors out of range, empty validity windows, best-of groups across stages, and
examples that name things the ruleset does not have. Stdlib only, so a hand-built
IR can be checked as well as one from dsl.

This module is the entry point and checks the declarations (settings, tiers, rules
and their effects, validity windows, coupons); condition typing is in
engine/check_conditions.py and the examples' checks in engine/check_examples.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.check.conditions import ConditionChecker, a_stage, hhmm
from engine.check.coupon_forms import check_coupon_forms, check_redeem_on
from engine.check.examples import check_example
from engine.check.issued import check_issued
from engine.check.referral import check_referral, check_segments
from engine.check.units import check_unit_effect
from engine.errors import RuleError, did_you_mean
from engine.money import format_fen
from engine.rules import (
    FIELD_TYPES,
    UNIT_EFFECTS,
    AmountOff,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BonusPoints,
    Coupon,
    MemberPrice,
    PercentOff,
    PointsMultiplier,
    Rule,
    Ruleset,
    TableDiscount,
    Tier,
    Validity,
)
from engine.spans import Span

__all__ = ["check_ruleset"]


def check_ruleset(ruleset: Ruleset) -> list[RuleError]:
    """Every semantic error in ``ruleset``, sorted by place (empty when it is sound)."""
    checker = _Checker(ruleset)
    checker.run()
    return sorted(checker.errors, key=RuleError.sort_key)


class _Checker(ConditionChecker):
    """Checks one ruleset's declarations; condition typing and reporting are inherited."""

    def __init__(self, ruleset: Ruleset) -> None:
        super().__init__([t.id for t in ruleset.tiers])
        self.ruleset = ruleset

    def run(self) -> None:
        self.settings()
        self.duplicates("tier", self.ruleset.tiers)
        self.duplicates("rule", self.ruleset.rules)
        self.duplicates("coupon", self.ruleset.coupons)
        for tier in self.ruleset.tiers:
            if tier.rate <= 0:
                self.fail(
                    f"tier '{tier.id}' earns points x{tier.rate}: a tier rate must be above 0", tier.span
                )
            for threshold in (tier.upgrade_lifetime, tier.upgrade_single_day):
                if threshold is not None and threshold <= 0:
                    self.fail(
                        f"tier '{tier.id}' has an upgrade threshold of {format_fen(threshold)}", tier.span
                    )
        for rule in self.ruleset.rules:
            self.rule(rule)
        self.groups()
        for no_points in self.ruleset.no_points:
            self.condition(no_points.condition, item_scope=True)
        for coupon in self.ruleset.coupons:
            self.coupon(coupon)
        for example in self.ruleset.examples:
            check_example(self, self.ruleset, example)

    # ------------------------------------------------------------------ declarations

    def settings(self) -> None:
        s = self.ruleset.settings
        try:
            ZoneInfo(s.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
            hint = (
                did_you_mean(s.timezone, sorted(available_timezones())) or 'write a zone like "Asia/Shanghai"'
            )
            shown = (
                s.timezone
                if len(s.timezone) <= 40
                else f"{s.timezone[:40]}... ({len(s.timezone)} characters)"
            )
            self.fail(f"unknown timezone '{shown}'", s.span, hint)
        if not (
            len(s.currency) == 3 and s.currency.isascii() and s.currency.isalpha() and s.currency.isupper()
        ):
            self.fail(f"unknown currency '{s.currency}'", s.span, "write a currency code like CNY")
        if s.redeem_points_per_yuan is not None and s.redeem_points_per_yuan <= 0:
            self.fail(
                "redemption needs a positive number of points per yuan",
                s.span,
                "write `redeem 50 points per_yuan`",
            )
        if not 0 < s.redeem_cap <= 1:
            self.fail("the redemption cap must be above 0% and at most 100%", s.span, "write `cap 50%`")
        check_redeem_on(self, s)
        if s.max_discount is not None and not 0 < s.max_discount <= 1:
            self.fail("max_discount must be above 0% and at most 100%", s.span, "write `max_discount 40%`")
        for what, days in (("inactivity", s.inactivity_days), ("points_expire", s.points_expire_days)):
            if days is not None and days <= 0:
                self.fail(f"{what} must be a positive number of days", s.span)
        if s.points_pending_days is not None and s.points_pending_days <= 0:
            self.fail(
                "points pending must be a positive number of days", s.span, "write `points pending 7 days`"
            )
        check_referral(self, s.referral)
        check_segments(self, s.segments)
        check_issued(self, self.ruleset)

    def duplicates(self, kind: str, items: Iterable[Tier | Rule | Coupon]) -> None:
        first: dict[str, Tier | Rule | Coupon] = {}
        for item in items:
            if item.id not in first:
                first[item.id] = item
                continue
            earlier = first[item.id].span
            where = f" on line {earlier.line}" if earlier is not None else ""
            if earlier is not None and item.span is not None and earlier.source is not item.span.source:
                where = f" at {earlier.location}"  # another file of the programme
            self.fail(
                f"{kind} id '{item.id}' is already used{where}", item.span, f"give this {kind} another id"
            )

    def rule(self, rule: Rule) -> None:
        stage = rule.stage
        if rule.condition is not None:
            self.condition(rule.condition, item_scope=stage == "item", stage=stage)
        self.effect(rule)
        self.validity(rule.validity)
        if rule.exclusive and stage == "points":
            self.fail(
                f"rule '{rule.id}' gives points, and `exclusive` only affects discounts",
                rule.span,
                "remove `exclusive`",
            )

    def groups(self) -> None:
        leaders: dict[str, Rule] = {}
        for rule in self.ruleset.rules:
            if rule.group is None:
                continue
            leader = leaders.setdefault(rule.group, rule)
            if rule.stage == leader.stage == "points" and type(rule.effect) is not type(leader.effect):
                self.fail(
                    f"rule '{rule.id}' and rule '{leader.id}' share group \"{rule.group}\" "
                    "but one multiplies points and the other adds a bonus",
                    rule.span,
                    "a best-of group compares like with like: give this rule its own group",
                )
            if rule.stage != leader.stage:
                self.fail(
                    f"rule '{rule.id}' is {a_stage(rule.stage)} rule but group \"{rule.group}\" "
                    f"starts with {a_stage(leader.stage)} rule '{leader.id}'",
                    rule.span,
                    "a best-of group compares rules of one stage: give this rule its own group",
                )

    def effect(self, rule: Rule) -> None:
        e = rule.effect
        if isinstance(e, PercentOff):
            self.rate(e.rate, e.span)
        elif isinstance(e, (AmountOff, MemberPrice)):
            amount = e.per_unit if isinstance(e, AmountOff) else e.price
            if amount <= 0:
                self.fail(
                    f"an amount of {format_fen(amount)} does nothing", e.span, "write an amount above 0.00"
                )
        elif isinstance(e, TableDiscount):
            self.table(e)
        elif isinstance(e, BasketOff):
            self.positive(e.amount, "a basket discount", e.span)
        elif isinstance(e, BasketSteps):
            self.steps(e)
        elif isinstance(e, BasketEvery):
            self.positive(e.amount, "the amount off", e.span)
            self.positive(e.every, "the `every` amount", e.span)
            if e.limit is not None and e.limit < 1:
                self.fail("`max N times` needs N of at least 1", e.span)
        elif isinstance(e, PointsMultiplier):
            if e.factor <= 0:
                self.fail(
                    f"a points factor must be above 0, not x{e.factor}", e.span, "use no_points to earn none"
                )
        elif isinstance(e, BonusPoints) and e.points <= 0:
            self.fail("a bonus must be at least 1 point", e.span)
        elif isinstance(e, UNIT_EFFECTS):
            check_unit_effect(self, rule)
        over = getattr(e, "over", None)
        if over is not None:
            self.condition(over, item_scope=True)

    def positive(self, fen: int, what: str, span: Span | None) -> None:
        if fen <= 0:
            self.fail(f"{what} of {format_fen(fen)} does nothing", span, "write an amount above 0.00")

    def rate(self, rate: object, span: Span | None, where: str = "") -> None:
        if not 0 < rate <= 1:  # type: ignore[operator]
            hint = "write a rate above 0, like 9.5折 or 5%" + (" (or '-' for no discount)" if where else "")
            self.fail(f"a discount rate must be above 0% and at most 100%{where}", span, hint)

    def steps(self, e: BasketSteps) -> None:
        if not e.steps:
            self.fail("a ladder needs at least one step", e.span)
        previous = previous_amount = 0
        for threshold, amount in e.steps:
            if amount <= previous_amount and amount > 0:
                self.fail(
                    f"the step at {format_fen(threshold)} takes {format_fen(amount)} off, "
                    f"no more than the step before it",
                    e.span,
                    "a higher threshold should give a larger discount",
                )
            previous_amount = max(previous_amount, amount)
            if threshold <= previous:
                self.fail(
                    f"step {format_fen(threshold)} must be above the step before it",
                    e.span,
                    "write the steps from the smallest threshold up",
                )
            if amount <= 0:
                self.fail(f"the step at {format_fen(threshold)} takes {format_fen(amount)} off", e.span)
            previous = max(previous, threshold)

    def table(self, e: TableDiscount) -> None:
        for key in e.keys:
            kind = self.field(key, item_scope=True)
            if kind not in (None, "text", "tier", "number", "weekday"):
                self.type_error(f"{key.name} cannot be a table key", key.span, "use a tier or a text field")
        for cell, rate in e.rates.items():
            for key, value in zip(e.keys, cell, strict=False):
                if FIELD_TYPES.get(key.name) == "tier" and value not in self.tiers:
                    self.unknown_tier(value, e.span)
            self.rate(rate, e.span, f" (row {cell[-1]}, column {cell[0]})")
        if not e.rates:
            self.fail("this table gives no discount at all", e.span)

    def validity(self, v: Validity) -> None:
        if v.date_from and v.date_to and v.date_to < v.date_from:
            self.fail(
                f"this window ends ({v.date_to}) before it starts ({v.date_from})", v.span, "swap the dates"
            )
        if v.hours and v.hours[1] <= v.hours[0]:
            start, end = (hhmm(t) for t in v.hours)
            self.fail(
                f"the hours {start} to {end} are empty: the end must be after the start",
                v.span,
                "a window across midnight is two rules, or ends at 24:00",
            )
        if v.weekdays is not None and not v.weekdays:
            self.fail("this window has no weekday", v.span)

    def coupon(self, c: Coupon) -> None:
        if c.percent is None:
            self.positive(c.value, "a coupon value", c.span)
        check_coupon_forms(self, c)
        if c.min_spend < 0:
            self.fail("a minimum spend cannot be negative", c.span)
        if c.points_price is not None and c.points_price <= 0:
            self.fail("a coupon's points price must be at least 1 point", c.span)
        if c.applies_to is not None:
            self.condition(c.applies_to, item_scope=True)
        self.validity(c.validity)
