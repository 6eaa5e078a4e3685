"""Index keys: which lines a rule could possibly touch, read off its condition.

A key is ``(attribute, value)`` of a line, e.g. ``("category", "food")``. If a
rule's keys are known, it can only fire when some line carries one of them, so a
line meets only the rules filed under its own sku, category, brand and tags. A
rule whose condition gives no key (``None``) is met by every line.
"""

from __future__ import annotations

from engine.model import Line
from engine.rules import Aggregate, And, Compare, Const, Expr, Field, Has, In, Not, Or

__all__ = ["Key", "keys_of", "line_keys", "references_item", "split_conjuncts"]

Key = tuple[str, str]

_INDEXED = {"item.sku": "sku", "item.category": "category", "item.brand": "brand"}


def line_keys(line: Line) -> tuple[Key, ...]:
    """Every key a line can be found under."""
    keys = (("sku", line.sku), ("category", line.category), ("brand", line.brand))
    if line.tags:
        keys += tuple(("tags", tag) for tag in sorted(line.tags))
    return keys


def keys_of(expr: Expr | None) -> frozenset[Key] | None:
    """Keys one of which a line must carry for ``expr`` to hold on it, or None if unknown."""
    if expr is None:
        return None
    if isinstance(expr, Compare) and expr.op == "=":
        field, const = _field_const(expr.left, expr.right)
        if field is not None and const is not None and field.name in _INDEXED:
            return frozenset({(_INDEXED[field.name], str(const.value))})
        return None
    if isinstance(expr, In) and not expr.negated and isinstance(expr.subject, Field):
        if expr.subject.name in _INDEXED:
            attr = _INDEXED[expr.subject.name]
            return frozenset((attr, str(c.value)) for c in expr.values)
        return None
    if isinstance(expr, Has) and expr.subject.name == "item.tags":
        return frozenset({("tags", str(expr.value.value))})
    if isinstance(expr, And):
        known = [k for k in (keys_of(e) for e in expr.items) if k is not None]
        return min(known, key=len) if known else None
    if isinstance(expr, Or):
        parts = [keys_of(e) for e in expr.items]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*parts)  # type: ignore[arg-type]
    return None


def _field_const(a: Expr, b: Expr) -> tuple[Field | None, Const | None]:
    if isinstance(a, Field) and isinstance(b, Const):
        return a, b
    if isinstance(b, Field) and isinstance(a, Const):
        return b, a
    return None, None


def references_item(expr: Expr | None) -> bool:
    """Whether ``expr`` reads the line in scope (``item.*`` outside subtotal/count/quantity)."""
    if expr is None or isinstance(expr, Aggregate | Const):
        return False
    if isinstance(expr, Field):
        return expr.name.startswith("item.")
    if isinstance(expr, Compare):
        return references_item(expr.left) or references_item(expr.right)
    if isinstance(expr, In):
        return references_item(expr.subject)
    if isinstance(expr, Has):
        return references_item(expr.subject)
    if isinstance(expr, And | Or):
        return any(references_item(e) for e in expr.items)
    if isinstance(expr, Not):
        return references_item(expr.item)
    return False


def split_conjuncts(expr: Expr | None) -> tuple[list[Expr], list[Expr]]:
    """Split a top-level ``and`` into (parts that need no line, parts that read the line)."""
    if expr is None:
        return [], []
    items = list(expr.items) if isinstance(expr, And) else [expr]
    basket = [e for e in items if not references_item(e)]
    line = [e for e in items if references_item(e)]
    return basket, line
