"""Getters for the member's history fields and the line's quantity (``member.order_count``,
``item.quantity``...): kept apart from engine.compile.closures so the history vocabulary reads in
one place. A value that is not known (a guest, no purchase yet, a till that did not send it) is
``None``, and every comparison on ``None`` is false.
"""

from __future__ import annotations

from typing import Any

from engine.context import Context

__all__ = ["HISTORY_GETTERS"]


def _days_since_last_purchase(ctx: Context, i: int) -> Any:
    member = ctx.member
    if member is None or member.last_purchase is None:
        return None
    return (ctx.date - member.last_purchase).days


def _first_purchase(ctx: Context, i: int) -> Any:
    member = ctx.member
    if member is None or member.order_count is None:
        return None
    return member.order_count == 0


def _member(name: str) -> Any:
    def get(ctx: Context, i: int) -> Any:
        member = ctx.member
        return None if member is None else getattr(member, name)

    return get


HISTORY_GETTERS = {
    "member.days_since_last_purchase": _days_since_last_purchase,
    "member.first_purchase": _first_purchase,
    "member.order_count": _member("order_count"),
    "member.lifetime_spend": _member("lifetime_spend"),
    "member.points_balance": _member("points_balance"),
    "item.quantity": lambda ctx, i: ctx.lines[i].quantity,
}
"""Field name -> ``(ctx, line) -> value or None``, merged into the compiled engine's getters."""
