"""Building condition nodes: the context the grammar cannot see.

The grammar reads ``member.tier >= gold`` as "field, operator, name" and
``subtotal() >= 100`` as "aggregate, operator, number". What ``gold`` and ``100``
mean depends on the other side: a tier id, a money amount in fen. This module
decides that, then leaves type checking to engine/check.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lark import Token

from dsl.literals import LiteralError, to_fen, to_qty, to_weekday, to_whole
from engine import rules as ir
from engine.errors import RuleError
from engine.spans import Span

__all__ = ["ConditionBuilder"]


class _Reporter(Protocol):
    errors: list[RuleError]

    def fail(self, message: str, span: Span | None, hint: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class _Number:
    """A number in a condition, waiting to learn whether it is money or a count."""

    text: str
    span: Span


def _type_of(expr: Any) -> str | None:
    if isinstance(expr, ir.Field):
        return ir.FIELD_TYPES.get(expr.name)
    if isinstance(expr, ir.Const):
        return expr.type
    if isinstance(expr, ir.Aggregate):
        return "money" if expr.kind in ("subtotal", "gross") else "number"
    return None


def _bare(expr: Any) -> bool:
    """A plain word like ``gold`` that is not a known field."""
    return isinstance(expr, ir.Field) and "." not in expr.name


class ConditionBuilder:
    def __init__(self, reporter: _Reporter) -> None:
        self.reporter = reporter

    def number(self, tok: Token, span: Span) -> _Number:
        return _Number(str(tok.value), span)

    def _literal(self, convert: Any, value: _Number, fallback: Any) -> Any:
        try:
            return convert(value.text)
        except LiteralError as exc:
            self.reporter.fail(exc.message, value.span, exc.hint)
            return fallback

    def resolve(self, value: Any, other: Any) -> ir.Expr:
        """Give a number or a bare word its meaning from the other side of the comparison."""
        kind = _type_of(other)
        if isinstance(value, _Number):
            if kind == "quantity":  # item.quantity >= 1.5: thousandths, like a line's qty
                return ir.Const(self._literal(to_qty, value, 0), "quantity", span=value.span)
            if kind == "money" or ("." in value.text and kind != "number"):
                return ir.Const(self._literal(to_fen, value, 0), "money", span=value.span)
            return ir.Const(self._literal(to_whole, value, 0), "number", span=value.span)
        if _bare(value):
            if kind == "tier":
                return ir.Const(value.name, "tier", span=value.span)
            if kind == "weekday" and value.name not in ir.FIELD_TYPES:
                try:
                    return ir.Const(to_weekday(value.name), "weekday", span=value.span)
                except LiteralError as exc:
                    self.reporter.fail(exc.message, value.span, exc.hint)
                    return ir.Const(0, "weekday", span=value.span)
        return value

    def truth(self, subject: Any, span: Span) -> ir.Expr:
        """A field standing alone as a condition (``member.first_purchase``): it must be a yes/no field."""
        kind = _type_of(subject)
        name = getattr(subject, "name", "")
        if kind is not None and kind != "bool":
            self.reporter.fail(
                f"{name} is not a yes/no field, so it cannot stand alone as a condition",
                span,
                f"compare it, like {name} >= 1"
                if kind in ("number", "money")
                else f"compare it: {name} = ...",
            )
        return ir.Compare("=", subject, ir.Const(True, "bool", span=span), span=span)

    def compare(self, left: Any, op: str, right: Any, span: Span) -> ir.Compare:
        return ir.Compare(op, self.resolve(left, right), self.resolve(right, left), span=span)  # type: ignore[arg-type]

    def member_of(self, subject: Any, values: list[Any], negated: bool, span: Span) -> ir.Expr:
        subject = self.resolve(subject, None)
        consts = []
        for value in values:
            resolved = self.resolve(value, subject)
            if isinstance(resolved, ir.Const):
                consts.append(resolved)
            else:
                name = getattr(resolved, "name", "this")
                self.reporter.fail(
                    f"a list holds values, not the field '{name}'",
                    getattr(resolved, "span", span),
                    f'write texts in double quotes, like "{name}"',
                )
        return ir.In(subject, tuple(consts), negated, span=span)

    def has(self, subject: Any, value: Any, span: Span) -> ir.Expr:
        if not isinstance(subject, ir.Field):
            self.reporter.fail("'has' looks inside a tags field", span, 'write item.tags has "organic"')
            subject = ir.Field("item.tags", span=span)
        value = self.resolve(value, subject)
        if not isinstance(value, ir.Const):
            name = getattr(value, "name", "tag")
            self.reporter.fail(
                "'has' takes a tag in double quotes", getattr(value, "span", span), f'write has "{name}"'
            )
            value = ir.Const("", "text", span=span)
        return ir.Has(subject, value, span=span)

    def is_birthday(self, left: Any, right: Any, span: Span) -> ir.Expr:
        scope = {"today": "day", "month": "month"}.get(getattr(left, "name", ""))
        if scope is None or getattr(right, "name", "") != "member.birthday":
            self.reporter.fail(
                "'is' only checks a birthday",
                span,
                "write `today is member.birthday` or `month is member.birthday`",
            )
            scope = "day"
        return ir.IsBirthday(scope, span=span)  # type: ignore[arg-type]
