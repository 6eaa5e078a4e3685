"""Checks of the unit-level item effects: 买N赠M, 第N件X折, 任选N件X元 and 满赠.

A count of zero, a rate that takes nothing (10折) or more than everything, a bundle price of
zero, `max 0 times`, and a gift the rule itself can never give: its own line condition
(the parts of a top-level `and` that read the line) rules out the gift's SKU, e.g.
`when item.sku != "GIFT-01" and subtotal() >= 300.00` where `subtotal(item.sku != "GIFT-01")`
was meant. Whether a gift SKU is ever sold is the till's business, not the ruleset's.
"""

from __future__ import annotations

from typing import Protocol

from engine.money import format_fen
from engine.rules import And, BuyGet, Compare, Const, EveryNth, Expr, Field, Gift, In, Rule, UnitsFor
from engine.spans import Span

__all__ = ["check_unit_effect"]


class _Reporter(Protocol):
    def fail(self, message: str, span: Span | None, hint: str | None = None) -> None: ...

    def rate(self, rate: object, span: Span | None, where: str = "") -> None: ...


def check_unit_effect(checker: _Reporter, rule: Rule) -> None:
    """Report every mistake in ``rule``'s unit-level effect through ``checker``."""
    e = rule.effect
    if isinstance(e, BuyGet):
        if e.buy < 1 or e.get < 1:
            checker.fail(
                f"`buy {e.buy} get {e.get} free` needs N and M of at least 1",
                e.span,
                "write the units paid and the units free, like `buy 2 get 1 free`",
            )
    elif isinstance(e, EveryNth):
        if e.n < 1:
            checker.fail("`every Nth unit` needs N of at least 1", e.span, "write `every 2nd unit 5折`")
        checker.rate(e.rate, e.span)
    elif isinstance(e, UnitsFor):
        if e.n < 1:
            checker.fail(f"`any {e.n} for ...` needs at least 1 unit", e.span, "write `any 3 for 99.00`")
        if e.price <= 0:
            checker.fail(
                f"a bundle price of {format_fen(e.price)} gives the units away",
                e.span,
                "write the price the customer pays for the group, like `any 3 for 99.00`; "
                "for free units write `buy N get M free`",
            )
    elif isinstance(e, Gift):
        _gift(checker, rule, e)
    limit = getattr(e, "limit", None)
    if limit is not None and limit < 1:
        checker.fail(
            f"`max {limit} times` lets the rule act no time at all",
            e.span,
            "write `max 1 times` or more, or leave `max` out for no cap",
        )


def _gift(checker: _Reporter, rule: Rule, e: Gift) -> None:
    if e.qty < 1:
        checker.fail(f"a gift of {e.qty} units gives nothing", e.span, f'write `gift "{e.sku}" qty 1`')
    if not e.sku:
        checker.fail("a gift needs the SKU it gives", e.span, 'write `gift "GIFT-01" qty 1`')
    condition = rule.condition
    parts = condition.items if isinstance(condition, And) else (condition,) if condition else ()
    for part in parts:
        if _excludes(part, e.sku):
            checker.fail(
                f"rule '{rule.id}' can never give its gift \"{e.sku}\": this part of its condition "
                "is tested on each line, and rules out the gift's own line",
                getattr(part, "span", None) or e.span,
                "to leave the gift out of the threshold, write it inside the measure, "
                f'like `subtotal(item.sku != "{e.sku}") >= 300.00`',
            )


def _excludes(part: Expr, sku: str) -> bool:
    """Whether a line test on item.sku is false for every line of ``sku``."""
    if isinstance(part, Compare) and part.op in ("=", "!="):
        sides = (part.left, part.right)
        field = next((s for s in sides if isinstance(s, Field)), None)
        const = next((s for s in sides if isinstance(s, Const)), None)
        if field is None or const is None or field.name != "item.sku":
            return False
        return (const.value == sku) == (part.op == "!=")
    if isinstance(part, In) and isinstance(part.subject, Field) and part.subject.name == "item.sku":
        listed = any(c.value == sku for c in part.values)
        return listed == part.negated
    return False
