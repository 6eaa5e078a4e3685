"""Generated line filters: a condition on the line alone, compiled to one list comprehension.

Most conditions that select lines read only the line (``item.category = "食品"``,
``item.tags has "临期"``). Calling a closure per line costs a Python call each;
a generated ``[i for i, l in enumerate(lines) if <expr>]`` tests every line in
one call, which is what a person writing the rules by hand would do. The source is
compiled with a filename naming the ruleset and executed in a fresh namespace that
holds only its constants.

A line's fields never change during an evaluation, so a filter's answer is computed
at most once per request (:meth:`engine.context.Context.select`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakValueDictionary

from engine.model import Line
from engine.rules import And, Compare, Const, Expr, Field, Has, In, Not, Or

__all__ = ["LineFilter", "compile_line_filter", "item_source"]

LineFilter = Callable[[Sequence[Line]], list[int]]

_ATTRS = {
    "item.sku": "sku",
    "item.name": "name",
    "item.category": "category",
    "item.brand": "brand",
    "item.tags": "tags",
    "item.price": "unit_price",
    "item.quantity": "quantity",  # thousandths, as the condition's constant is
}
_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Source:
    """Accumulates constants so the generated text never embeds a value it cannot spell."""

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}

    def const(self, value: Any) -> str:
        if isinstance(value, bool | int | str):
            return repr(value)
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name


def item_source(expr: Expr, out: _Source | None = None) -> str | None:
    """Python source testing ``expr`` on a line named ``l``, or None if it reads anything else."""
    out = out or _Source()
    if isinstance(expr, Compare):
        field, const, op = expr.left, expr.right, expr.op
        if isinstance(field, Const) and isinstance(const, Field):
            field, const = const, field
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if isinstance(field, Field) and isinstance(const, Const) and field.name in _ATTRS:
            return f"l.{_ATTRS[field.name]} {_OPS[op]} {out.const(const.value)}"
        return None
    if isinstance(expr, In) and isinstance(expr.subject, Field) and expr.subject.name in _ATTRS:
        values = out.const(frozenset(c.value for c in expr.values))
        return f"l.{_ATTRS[expr.subject.name]} {'not in' if expr.negated else 'in'} {values}"
    if isinstance(expr, Has) and expr.subject.name in _ATTRS:
        return f"{out.const(expr.value.value)} in l.{_ATTRS[expr.subject.name]}"
    if isinstance(expr, And | Or):
        parts = [item_source(e, out) for e in expr.items]
        if any(p is None for p in parts):
            return None
        joiner = " and " if isinstance(expr, And) else " or "
        return "(" + joiner.join(parts) + ")"  # type: ignore[arg-type]
    if isinstance(expr, Not):
        inner = item_source(expr.item, out)
        return None if inner is None else f"(not {inner})"
    if isinstance(expr, Const) and expr.type == "bool":
        return "True" if expr.value else "False"
    return None


def compile_line_filter(expr: Expr | None, name: str) -> LineFilter | None:
    """A filter giving the indexes of the lines ``expr`` holds for; None if it needs more than the line.

    Equal conditions get the same function: a request caches a filter's answer by the
    function (:meth:`engine.context.Context.select`), so a 满减 whose ``subtotal()`` gate
    and ``over`` read the same condition tests its lines once. ``name`` becomes the code
    object's filename, so a traceback names the ruleset (the first rule that compiled it).
    """
    if expr is None:
        return _every_line
    out = _Source()
    test = item_source(expr, out)
    if test is None:
        return None
    key = (test, tuple(out.constants.items()))
    fn = _SHARED.get(key)
    if fn is None:
        source = f"def line_filter(lines):\n    return [i for i, l in enumerate(lines) if {test}]\n"
        namespace: dict[str, Any] = dict(out.constants)
        exec(compile(source, f"<{name}>", "exec"), namespace)  # fresh namespace: constants only
        fn = namespace["line_filter"]
        fn.source = source  # type: ignore[union-attr]  # kept for debugging
        _SHARED[key] = fn
    return fn


_SHARED: WeakValueDictionary[tuple, LineFilter] = WeakValueDictionary()
"""Filters by their test and constants; an entry lives as long as a compiled ruleset uses it."""


def _every_line(lines: Sequence[Line]) -> list[int]:
    return list(range(len(lines)))
