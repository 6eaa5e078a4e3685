"""Compile condition expressions into closures: decide once, call many times.

Every predicate has the signature ``(ctx, i) -> bool`` where ``i`` is the index of
the line in scope (``-1`` for none). Operator choice, constant conversion and tier
ranks are settled here, so evaluating a rule is only calls and comparisons.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from engine.compile.history import HISTORY_GETTERS
from engine.compile.linefilter import compile_line_filter
from engine.context import Context, is_birthday
from engine.rules import (
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

__all__ = ["ALWAYS", "Getter", "Predicate", "compile_predicate", "compile_value", "field_getter"]

Predicate = Callable[[Context, int], bool]
Getter = Callable[[Context, int], Any]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _member_attr(name: str) -> Getter:
    def get(ctx: Context, i: int) -> Any:
        member = ctx.member
        return None if member is None else getattr(member, name)

    return get


def _item_attr(name: str) -> Getter:
    def get(ctx: Context, i: int) -> Any:
        return getattr(ctx.lines[i], name)

    return get


_GETTERS: dict[str, Getter] = {
    "item.sku": _item_attr("sku"),
    "item.name": _item_attr("name"),
    "item.category": _item_attr("category"),
    "item.brand": _item_attr("brand"),
    "item.tags": _item_attr("tags"),
    "item.price": _item_attr("unit_price"),
    "member.id": _member_attr("id"),
    "member.tier": lambda ctx, i: ctx.tier_rank,
    "member.tags": _member_attr("tags"),
    "member.segment": _member_attr("segment"),
    "member.birthday": _member_attr("birthday"),
    "member.join_date": _member_attr("join_date"),
    "basket.store": lambda ctx, i: ctx.store,
    "basket.channel": lambda ctx, i: ctx.channel,
    "basket.line_count": lambda ctx, i: ctx.line_count,
    "date": lambda ctx, i: ctx.date,
    "time": lambda ctx, i: ctx.time,
    "weekday": lambda ctx, i: ctx.weekday,
    "day_of_month": lambda ctx, i: ctx.day,
    "month": lambda ctx, i: ctx.month,
    "hour": lambda ctx, i: ctx.hour,
    **HISTORY_GETTERS,
}


def field_getter(name: str) -> Getter:
    """The accessor for a field; a guest's member fields read as None."""
    return _GETTERS[name]


def compile_value(expr: Expr, tier_ranks: dict[str, int]) -> Getter:
    """A getter for a value-producing expression (field, constant or aggregate)."""
    if isinstance(expr, Field):
        return _GETTERS[expr.name]
    if isinstance(expr, Const):
        value = tier_ranks[expr.value] if expr.type == "tier" else expr.value
        return lambda ctx, i: value
    if isinstance(expr, Aggregate):
        return _compile_aggregate(expr, tier_ranks)
    raise TypeError(f"not a value: {type(expr).__name__}")


def _compile_aggregate(expr: Aggregate, tier_ranks: dict[str, int]) -> Getter:
    """A measure over the unlocked lines ``where`` selects.

    Plain loops, one function per kind: a gate such as ``subtotal(...) >= 300.00`` runs on
    every request, and on a small basket a comprehension or generator costs more than the sum.
    """
    where = compile_predicate(expr.where, tier_ranks)
    fast = compile_line_filter(expr.where, "subtotal filter")

    def subtotal(ctx: Context, i: int) -> int:
        remaining, locked = ctx.remaining, ctx.locked
        total = 0
        for k in ctx.select(fast, where):
            if not locked[k]:
                total += remaining[k]
        return total

    def count(ctx: Context, i: int) -> int:
        locked = ctx.locked
        found = 0
        for k in ctx.select(fast, where):
            if not locked[k]:
                found += 1
        return found

    def gross(ctx: Context, i: int) -> int:
        amounts, locked = ctx.amounts, ctx.locked
        total = 0
        for k in ctx.select(fast, where):
            if not locked[k]:
                total += amounts[k]
        return total

    def quantity(ctx: Context, i: int) -> int:
        lines, locked = ctx.lines, ctx.locked
        thousandths = 0
        for k in ctx.select(fast, where):
            if not locked[k]:
                thousandths += lines[k].quantity
        return thousandths // 1000

    return {"subtotal": subtotal, "count": count, "gross": gross}.get(expr.kind, quantity)


def compile_predicate(expr: Expr | None, tier_ranks: dict[str, int]) -> Predicate:
    """Turn a condition into ``(ctx, i) -> bool``; None means always true."""
    if expr is None:
        return _always
    if isinstance(expr, And | Or) and len(expr.items) == 1:
        return compile_predicate(expr.items[0], tier_ranks)
    if isinstance(expr, And):
        parts = tuple(compile_predicate(e, tier_ranks) for e in expr.items)
        if len(parts) == 2:
            first, second = parts
            return lambda ctx, i: first(ctx, i) and second(ctx, i)
        return lambda ctx, i: all(p(ctx, i) for p in parts)
    if isinstance(expr, Or):
        parts = tuple(compile_predicate(e, tier_ranks) for e in expr.items)
        if len(parts) == 2:
            first, second = parts
            return lambda ctx, i: first(ctx, i) or second(ctx, i)
        return lambda ctx, i: any(p(ctx, i) for p in parts)
    if isinstance(expr, Not):
        inner = compile_predicate(expr.item, tier_ranks)
        return lambda ctx, i: not inner(ctx, i)
    if isinstance(expr, Compare):
        return _compile_compare(expr, tier_ranks)
    if isinstance(expr, In):
        get = compile_value(expr.subject, tier_ranks)
        values = frozenset(tier_ranks[c.value] if c.type == "tier" else c.value for c in expr.values)
        if expr.negated:
            return lambda ctx, i: (v := get(ctx, i)) is not None and v not in values
        return lambda ctx, i: get(ctx, i) in values
    if isinstance(expr, Has):
        get = compile_value(expr.subject, tier_ranks)
        tag = expr.value.value
        return lambda ctx, i: (tags := get(ctx, i)) is not None and tag in tags
    if isinstance(expr, IsBirthday):
        scope = expr.scope
        return lambda ctx, i: ctx.member is not None and is_birthday(ctx.member.birthday, ctx.date, scope)
    if isinstance(expr, Const) and expr.type == "bool":
        return _always if expr.value else _never
    raise TypeError(f"not a condition: {type(expr).__name__}")


def _compile_compare(expr: Compare, tier_ranks: dict[str, int]) -> Predicate:
    op = _OPS[expr.op]
    left, right = expr.left, expr.right
    if isinstance(left, Field) and isinstance(right, Const) and left.name.startswith("item."):
        # The common case, kept to one attribute read and one comparison.
        # item.quantity reads the line's quantity: thousandths, as its constant is
        read = operator.attrgetter({"item.price": "unit_price"}.get(left.name, left.name[5:]))
        value = right.value
        if expr.op == "=":
            return lambda ctx, i: read(ctx.lines[i]) == value
        if expr.op == "!=":
            return lambda ctx, i: read(ctx.lines[i]) != value
        return lambda ctx, i: op(read(ctx.lines[i]), value)
    if isinstance(right, Const):
        value = tier_ranks[right.value] if right.type == "tier" else right.value
        if isinstance(left, Field) and left.name == "member.tier":
            return lambda ctx, i: (rank := ctx.tier_rank) is not None and op(rank, value)
        get = compile_value(left, tier_ranks)
        return lambda ctx, i: (v := get(ctx, i)) is not None and op(v, value)
    get_left = compile_value(left, tier_ranks)
    get_right = compile_value(right, tier_ranks)

    def compare(ctx: Context, i: int) -> bool:
        a = get_left(ctx, i)
        if a is None:
            return False
        b = get_right(ctx, i)
        return b is not None and op(a, b)

    return compare


def _always(ctx: Context, i: int) -> bool:
    return True


ALWAYS: Predicate = _always
"""The predicate of an absent condition; compiled code may test identity against it."""


def _never(ctx: Context, i: int) -> bool:
    return False
