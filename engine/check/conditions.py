"""Condition typing for the semantic checks, and the error list the checks share.

Conditions appear in rules (``when``, ``over``), coupons (``applies_to``) and ``no_points``;
typing them is one recursive job with its own vocabulary (type words, "write it like..."
hints, how an expression was written), so it lives apart from the ruleset-level checks in
engine/check.py. :class:`ConditionChecker` is also where every check reports: it holds the
errors and the tier ids, and engine/check.py and engine/check_examples.py add to it.
"""

from __future__ import annotations

from datetime import date, time

from engine.errors import RuleError, RuleTypeError, did_you_mean
from engine.money import format_fen
from engine.rules import (
    FIELD_TYPES,
    Aggregate,
    And,
    Compare,
    Const,
    Expr,
    Field,
    Has,
    In,
    IsBirthday,
    Not,
    Or,
)
from engine.spans import Span

__all__ = ["ConditionChecker", "a_stage", "hhmm"]

_TYPE_WORDS = {
    "money": "money",
    "number": "a count",
    "quantity": "a quantity",
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
    "quantity": "write a quantity like 2 or 1.5 (kg)",
    "bool": "a yes/no field stands alone: `when member.first_purchase` (or `not member.first_purchase`)",
    "text": 'write text in double quotes, like "food"',
    "tags": 'use has, like item.tags has "organic"',
    "tier": "write a tier id without quotes, like member.tier >= gold",
    "date": "write a date like 2026-11-15",
    "time": "write a time like 10:00",
    "weekday": "write a weekday like sat or 周六",
}
_ORDERED = frozenset({"money", "number", "quantity", "tier", "date", "time", "weekday"})
_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


MAX_DEPTH = 64
"""How deep a condition may nest: the compiler turns it into nested Python expressions, and Python
refuses about a hundred levels of parentheses (a crash, not an error, before this limit)."""


def _too_deep(expr: Expr) -> Expr | None:
    """The first sub-condition deeper than :data:`MAX_DEPTH`, found without recursion."""
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        e, depth = stack.pop()
        if depth > MAX_DEPTH:
            return e
        if isinstance(e, Not):
            stack.append((e.item, depth + 1))
        elif isinstance(e, (And, Or)):
            stack.extend((item, depth + 1) for item in e.items)
        elif isinstance(e, Aggregate) and e.where is not None:
            stack.append((e.where, depth + 1))
        elif isinstance(e, (Compare, In, Has)):
            stack.extend((v, depth + 1) for v in vars_of(e))
    return None


def vars_of(e: Expr) -> list[Expr]:
    """The operand expressions of a comparison-like node (its dataclass fields that are expressions)."""
    return [v for v in (getattr(e, name, None) for name in e.__dataclass_fields__) if _is_expr(v)]


def _is_expr(value: object) -> bool:
    return isinstance(value, (Field, Const, Aggregate, Compare, In, Has, IsBirthday, And, Or, Not))


class ConditionChecker:
    """Collects errors for one ruleset and types its conditions."""

    def __init__(self, tiers: list[str]) -> None:
        self.errors: list[RuleError] = []
        self.tiers = tiers

    # ------------------------------------------------------------------ reporting

    def fail(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(RuleError(message, span, hint))

    def type_error(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(RuleTypeError(message, span, hint))

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
        too_deep = _too_deep(expr)
        if too_deep is not None:
            self.fail(
                f"this condition nests more than {MAX_DEPTH} levels deep (not, and, or, parentheses)",
                too_deep.span or getattr(expr, "span", None),
                "write it flatter: `not not X` is X, and a chain of `and`s needs no parentheses",
            )
            return
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
            return "money" if e.kind in ("subtotal", "gross") else "number"
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
        if f.name.startswith("item.") and not item_scope and stage == "coupon":
            self.fail(
                f"{f.name} needs a basket line, but a coupon's `when` looks at the member and the basket",
                f.span,
                f'pick the lines with applies_to, like applies_to {f.name} = "x"',
            )
        elif f.name.startswith("item.") and not item_scope:
            self.fail(
                f"{f.name} needs a basket line, "
                f"but the `when` of {a_stage(stage)} rule looks at the whole basket",
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


def a_stage(stage: str) -> str:
    """A stage with its article ("an item", "a basket"...), for messages about a rule."""
    return {"item": "an item", "basket": "a basket", "points": "a points"}.get(stage, stage)


def hhmm(t: time) -> str:
    """A clock time as written in rules; the end of the day is 24:00."""
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
            return hhmm(v)
        if isinstance(v, date):
            return v.isoformat()
        return str(v)
    return "this condition"
