"""Semantic checks: a ruleset that parses but does not make sense is refused here.

Each check adds a RuleError at the offending node's span with a sentence saying
what to write instead: unknown fields and tiers (did you mean...), comparisons
across types, ``item.*`` where no line is in scope, duplicate ids, rates and
factors out of range, empty validity windows, best-of groups across stages, and
examples that name things the ruleset does not have. Stdlib only, so a hand-built
IR can be checked as well as one from dsl.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from engine.errors import RuleError, RuleTypeError, did_you_mean
from engine.money import format_fen, line_amount
from engine.rules import (
    FIELD_TYPES,
    Aggregate,
    AmountOff,
    And,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BonusPoints,
    Compare,
    Const,
    Coupon,
    Example,
    Expr,
    Field,
    Has,
    In,
    IsBirthday,
    MemberPrice,
    Not,
    Or,
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

_TYPE_WORDS = {
    "money": "money",
    "number": "a count",
    "text": "text",
    "tags": "tags",
    "tier": "a tier",
    "date": "a date",
    "time": "a time",
    "weekday": "a weekday",
    "bool": "a condition",
}
_WRITE = {
    "money": "write a money amount like 100.00",
    "number": "write a whole number like 3",
    "text": 'write text in double quotes, like "food"',
    "tags": 'use has, like item.tags has "organic"',
    "tier": "write a tier id without quotes, like member.tier >= gold",
    "date": "write a date like 2026-11-15",
    "time": "write a time like 10:00",
    "weekday": "write a weekday like sat or 周六",
}
_ORDERED = frozenset({"money", "number", "tier", "date", "time", "weekday"})
_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_REJECTIONS = ("unknown", "duplicate", "not_valid_now", "members_only", "min_spend", "no_eligible_amount")


def check_ruleset(ruleset: Ruleset) -> list[RuleError]:
    """Every semantic error in ``ruleset``, sorted by place (empty when it is sound)."""
    checker = _Checker(ruleset)
    checker.run()
    return sorted(checker.errors, key=RuleError.sort_key)


class _Checker:
    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.errors: list[RuleError] = []
        self.tiers = [t.id for t in ruleset.tiers]

    def fail(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(RuleError(message, span, hint))

    def type_error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(RuleTypeError(message, span, hint))

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
            self.example(example)

    # ------------------------------------------------------------------ declarations

    def settings(self) -> None:
        s = self.ruleset.settings
        try:
            ZoneInfo(s.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            hint = (
                did_you_mean(s.timezone, sorted(available_timezones())) or 'write a zone like "Asia/Shanghai"'
            )
            self.fail(f"unknown timezone '{s.timezone}'", s.span, hint)
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
        for what, days in (("inactivity", s.inactivity_days), ("points_expire", s.points_expire_days)):
            if days is not None and days <= 0:
                self.fail(f"{what} must be a positive number of days", s.span)

    def duplicates(self, kind: str, items: Iterable[Tier | Rule | Coupon]) -> None:
        first: dict[str, Tier | Rule | Coupon] = {}
        for item in items:
            if item.id not in first:
                first[item.id] = item
                continue
            earlier = first[item.id].span
            where = f" on line {earlier.line}" if earlier is not None else ""
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
                    f"rule '{rule.id}' is {_a(rule.stage)} rule but group \"{rule.group}\" "
                    f"starts with {_a(leader.stage)} rule '{leader.id}'",
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
            start, end = (_hhmm(t) for t in v.hours)
            self.fail(
                f"the hours {start} to {end} are empty: the end must be after the start",
                v.span,
                "a window across midnight is two rules, or ends at 24:00",
            )
        if v.weekdays is not None and not v.weekdays:
            self.fail("this window has no weekday", v.span)

    def coupon(self, c: Coupon) -> None:
        self.positive(c.value, "a coupon value", c.span)
        if c.min_spend < 0:
            self.fail("a minimum spend cannot be negative", c.span)
        if c.points_price is not None and c.points_price <= 0:
            self.fail("a coupon's points price must be at least 1 point", c.span)
        if c.applies_to is not None:
            self.condition(c.applies_to, item_scope=True)
        self.validity(c.validity)

    def example(self, ex: Example) -> None:
        from engine.model import TaxRate

        member = ex.member
        if member is not None and member.tier not in self.tiers:
            self.unknown_tier(member.tier, member.span)
        coupons = [c.id for c in self.ruleset.coupons]
        for code in ex.coupons:
            if code not in coupons:
                self.unknown("coupon", code, coupons, ex.span)
        for line in ex.lines:
            if line.quantity <= 0 or line.price <= 0 or line_amount(line.price, line.quantity) <= 0:
                self.fail(
                    f"line '{line.name}' costs nothing", line.span, "give it a price and a quantity above 0"
                )
            try:
                TaxRate.parse(line.tax)
            except ValueError as exc:
                self.fail(str(exc), line.span)
        if ex.redeem_points and self.ruleset.settings.redeem_points_per_yuan is None:
            self.fail("this example redeems points but the ruleset has no `redeem` setting", ex.span)
        if ex.redeem_points and member is None:
            self.fail("a guest cannot redeem points", ex.span, "add a member line")
        expect = ex.expect
        rule_ids = [r.id for r in self.ruleset.rules]
        for rule_id, _fen in expect.rules:
            if rule_id not in rule_ids:
                self.unknown("rule", rule_id, rule_ids, expect.span)
        for code, outcome in expect.coupons:
            if code not in coupons:
                self.unknown("coupon", code, coupons, expect.span)
            if outcome != "accepted" and outcome not in _REJECTIONS:
                hint = did_you_mean(outcome, _REJECTIONS) or "reasons are " + ", ".join(_REJECTIONS)
                self.fail(f"unknown rejection reason '{outcome}'", expect.span, hint)

    def unknown(self, kind: str, name: str, known: list[str], span: Span | None) -> None:
        self.fail(f"unknown {kind} '{name}'", span, did_you_mean(name, known))

    def unknown_tier(self, name: object, span: Span | None) -> None:
        known = ", ".join(dict.fromkeys(self.tiers)) or "none are declared"
        self.fail(
            f"unknown tier '{name}'", span, did_you_mean(str(name), self.tiers) or f"the tiers are: {known}"
        )

    # ------------------------------------------------------------------ conditions

    def condition(
        self, expr: Expr, *, item_scope: bool, stage: str = "item", in_aggregate: bool = False
    ) -> None:
        self.expr(expr, item_scope, stage, in_aggregate)

    def expr(self, e: Expr, item_scope: bool, stage: str, in_aggregate: bool) -> str | None:
        """Check ``e`` and return its type (None when unknown: already reported)."""
        if isinstance(e, Field):
            return self.field(e, item_scope, stage)
        if isinstance(e, Const):
            if e.type == "tier" and e.value not in self.tiers:
                self.unknown_tier(e.value, e.span)
            return e.type
        if isinstance(e, Aggregate):
            if in_aggregate:
                self.fail(f"{e.kind}(...) cannot be nested in another measure", e.span)
            if e.where is not None:
                self.expr(e.where, True, stage, True)
            return "money" if e.kind == "subtotal" else "number"
        if isinstance(e, Compare):
            self.compare(e, item_scope, stage, in_aggregate)
        elif isinstance(e, In):
            self.member_of(e, item_scope, stage, in_aggregate)
        elif isinstance(e, Has):
            self.has(e, item_scope, stage, in_aggregate)
        elif isinstance(e, (And, Or)):
            for item in e.items:
                self.expr(item, item_scope, stage, in_aggregate)
        elif isinstance(e, Not):
            self.expr(e.item, item_scope, stage, in_aggregate)
        elif not isinstance(e, IsBirthday):
            self.fail(f"unknown condition {type(e).__name__}", getattr(e, "span", None))
        return "bool"

    def field(self, f: Field, item_scope: bool, stage: str = "item") -> str | None:
        kind = FIELD_TYPES.get(f.name)
        if kind is None:
            self.fail(f"unknown field '{f.name}'", f.span, did_you_mean(f.name, FIELD_TYPES))
            return None
        if f.name.startswith("item.") and not item_scope:
            self.fail(
                f"{f.name} needs a basket line, but the `when` of {_a(stage)} rule looks at the whole basket",
                f.span,
                f'measure the lines, like subtotal({f.name} = "x") >= 100.00, or pick them with `over`',
            )
        return kind

    def side(self, e: Expr, other: Expr, item_scope: bool, stage: str, in_aggregate: bool) -> str | None:
        """Type of one side of a comparison; a bare word next to a text field was meant as text."""
        if isinstance(e, Field) and "." not in e.name and e.name not in FIELD_TYPES:
            if isinstance(other, Field) and other.name not in FIELD_TYPES:
                return None  # the other side is unknown too: one error (on it) is enough
            other_kind = FIELD_TYPES.get(other.name) if isinstance(other, Field) else None
            if other_kind in ("text", "tags"):
                self.type_error(
                    f"unknown field '{e.name}'", e.span, f'text is written in double quotes: "{e.name}"'
                )
                return None
            if e.name in self.tiers:
                self.type_error(
                    f"'{e.name}' is a tier; only member.tier is compared with tiers",
                    e.span,
                    f"write member.tier = {e.name}",
                )
                return None
        return self.expr(e, item_scope, stage, in_aggregate)

    def compare(self, e: Compare, item_scope: bool, stage: str, in_aggregate: bool) -> None:
        left = self.side(e.left, e.right, item_scope, stage, in_aggregate)
        right = self.side(e.right, e.left, item_scope, stage, in_aggregate)
        if left is None or right is None:
            return
        if isinstance(e.left, Const) and isinstance(e.right, Const):
            self.type_error(
                "this compares two values", e.span, "compare a field with a value, like day_of_month = 15"
            )
        elif "tags" in (left, right):
            self.type_error("tags are not compared with =", e.span, _WRITE["tags"])
        elif left != right:
            self.mismatch(e.left, left, e.right, right, e.span)
        elif e.op not in ("=", "!=") and left not in _ORDERED:
            self.type_error(f"{_TYPE_WORDS[left]} has no order: use = or !=", e.span)

    def mismatch(self, a: Expr, a_type: str, b: Expr, b_type: str, span: Span | None) -> None:
        target = b_type if isinstance(a, Const) else a_type
        hint = _WRITE.get(target) if isinstance(a, Const) or isinstance(b, Const) else None
        self.type_error(
            f"cannot compare {_show(a)} ({_TYPE_WORDS[a_type]}) with {_show(b)} ({_TYPE_WORDS[b_type]})",
            span,
            hint,
        )

    def member_of(self, e: In, item_scope: bool, stage: str, in_aggregate: bool) -> None:
        subject = self.expr(e.subject, item_scope, stage, in_aggregate)
        if subject == "tags":
            self.type_error("a tags field is tested with has, not in", e.span, _WRITE["tags"])
            return
        for value in e.values:
            kind = self.expr(value, item_scope, stage, in_aggregate)
            if subject is not None and kind is not None and kind != subject:
                self.mismatch(e.subject, subject, value, kind, value.span)

    def has(self, e: Has, item_scope: bool, stage: str, in_aggregate: bool) -> None:
        subject = self.expr(e.subject, item_scope, stage, in_aggregate)
        if subject is not None and subject != "tags":
            hint = f'write {e.subject.name} = "..."' if subject == "text" else "use item.tags or member.tags"
            self.type_error(
                f"'has' needs a tags field, and {e.subject.name} is {_TYPE_WORDS[subject]}", e.span, hint
            )
        if e.value.type != "text":
            self.type_error("a tag is text", e.value.span, 'write it in double quotes, like has "organic"')


def _a(stage: str) -> str:
    return {"item": "an item", "basket": "a basket", "points": "a points"}.get(stage, stage)


def _hhmm(t: time) -> str:
    return "24:00" if t == time.max else t.strftime("%H:%M")


def _show(e: Expr) -> str:
    """An expression as the merchandiser wrote it, roughly."""
    if isinstance(e, Field):
        return e.name
    if isinstance(e, Aggregate):
        return f"{e.kind}(...)"
    if isinstance(e, Const):
        v = e.value
        if e.type == "money" and isinstance(v, int):
            return format_fen(v)
        if e.type == "text":
            return f'"{v}"'
        if e.type == "weekday" and isinstance(v, int) and 0 <= v < 7:
            return _WEEKDAY_NAMES[v]
        if isinstance(v, time):
            return _hhmm(v)
        if isinstance(v, date):
            return v.isoformat()
        return str(v)
    return "this condition"
