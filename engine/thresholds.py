"""What a nudge is made of (PRODUCT.md "Nudges"): which conditions are thresholds on a basket
measure, and how the lines a measure counts are named to a cashier.

Vocabulary shared by the compiled engine (engine.compile.nudges, engine.evaluate.nudges) and the
reference interpreter (engine.reference.nudges): both decide *whether* and *how much* on their own;
this module only says which condition shapes qualify. A threshold is ``subtotal(...) >= M`` or
``gross(...) >= M`` (money); a member-history comparison (``member.lifetime_spend >= M``) is not a
measure of the basket and never nudges.
"""

from __future__ import annotations

from engine.money import format_fen
from engine.rules import Aggregate, And, Compare, Const, Expr, Field, In

__all__ = ["MEASURES", "conjuncts", "nudge_text", "scope_text", "threshold_of"]

MEASURES = ("subtotal", "gross")
"""Basket measures a `>=` threshold may nudge on (a coupon's min spend nudges too)."""


def conjuncts(expr: Expr | None) -> list[Expr]:
    """The parts of a top-level ``and`` (the condition itself when it is not one; [] for none)."""
    if expr is None:
        return []
    return list(expr.items) if isinstance(expr, And) else [expr]


def threshold_of(expr: Expr) -> tuple[Aggregate, int] | None:
    """``(measure, fen)`` when ``expr`` is ``subtotal(...)/gross(...) >= money``, else None."""
    if (
        isinstance(expr, Compare)
        and expr.op == ">="
        and isinstance(expr.left, Aggregate)
        and expr.left.kind in MEASURES
        and isinstance(expr.right, Const)
        and expr.right.type == "money"
        and isinstance(expr.right.value, int)
    ):
        return expr.left, expr.right.value
    return None


def scope_text(where: Expr | None) -> str:
    """The lines a measure counts, as a cashier would say it: "食品", "食品/饮料", or the condition
    as written; "" for every line."""
    if where is None:
        return ""
    right = getattr(where, "right", None)
    if isinstance(where, Compare) and where.op == "=" and isinstance(where.left, Field):  # noqa: SIM102
        if isinstance(right, Const) and right.type == "text":
            return str(right.value)
    if isinstance(where, In) and not where.negated and all(c.type == "text" for c in where.values):
        return "/".join(str(c.value) for c in where.values)
    span = where.span
    if span is not None and span.end_line == span.line and span.end_column:
        return span.source.line(span.line)[span.column - 1 : span.end_column - 1]
    return "matching items"


def nudge_text(missing: int, scope: str, label: str) -> str:
    """ "12.30 more of 食品 for 满100减20" (the words `promo eval --explain` prints)."""
    of = f" of {scope}" if scope else ""
    return f"{format_fen(missing)} more{of} for {label}"
