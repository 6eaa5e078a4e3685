"""Conditions: the fields a rule may read and the expression nodes that combine them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Literal as Lit
from typing import TypeAlias

from engine.spans import Span

__all__ = [
    "FIELD_TYPES",
    "Aggregate",
    "And",
    "Compare",
    "Const",
    "Expr",
    "Field",
    "Has",
    "In",
    "IsBirthday",
    "Not",
    "Or",
    "ValueType",
]

ValueType: TypeAlias = Lit[
    "money", "number", "quantity", "text", "tags", "tier", "date", "time", "weekday", "bool"
]
"""The static type of an expression; the checker refuses comparisons across types."""

FIELD_TYPES: dict[str, ValueType] = {
    # the line being priced (item rules, and inside subtotal(...) / over ...)
    "item.sku": "text",
    "item.name": "text",
    "item.category": "text",
    "item.brand": "text",
    "item.tags": "tags",
    "item.price": "money",  # unit price, fen
    "item.quantity": "quantity",  # the line's quantity in thousandths (`item.quantity >= 1.5`)
    # the member (absent for a guest: every comparison on it is false)
    "member.id": "text",
    "member.tier": "tier",
    "member.tags": "tags",
    "member.segment": "text",
    "member.birthday": "date",
    "member.join_date": "date",
    # the member's history (engine.rules.history): read from the ledger or sent inline; a value
    # that is not known (a guest, no purchase yet) makes every condition on it false
    "member.days_since_last_purchase": "number",
    "member.first_purchase": "bool",  # no committed sale before this one
    "member.order_count": "number",
    "member.lifetime_spend": "money",
    "member.points_balance": "number",
    # the basket
    "basket.store": "text",
    "basket.channel": "text",
    "basket.line_count": "number",
    # the transaction time, read in the ruleset's timezone
    "date": "date",
    "time": "time",
    "weekday": "weekday",  # Monday = 0 ... Sunday = 6
    "day_of_month": "number",
    "month": "number",
    "hour": "number",
}
"""Every field a condition may name, with its type. ``item.*`` needs a line in scope."""


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Field:
    """A named input: ``item.category``, ``member.tier``, ``day_of_month``..."""

    name: str
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Const:
    """A literal. ``type`` says how ``value`` reads: money is fen, weekday is 0-6,
    tier is a tier id, text is ``str``, date/time are ``date``/``time``."""

    value: int | str | date | time | bool
    type: ValueType
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A basket measure over the lines matching ``where`` (all lines when None).

    ``subtotal`` is money: the sum of those lines' remaining amounts just before
    the rule, lines locked by an exclusive rule excluded. ``gross`` is money too: the
    same lines' amounts before any discount. ``count`` is the number of such lines;
    ``quantity`` their summed quantity in whole units (floored). In a points rule
    the locked lines count too (earning points is unaffected by ``exclusive``).
    """

    kind: Lit["subtotal", "count", "quantity", "gross"]
    where: Expr | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with op one of = != < <= > >=. Tiers compare by tier order."""

    op: Lit["=", "!=", "<", "<=", ">", ">="]
    left: Expr
    right: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class In:
    """``subject in [a, b]`` (or ``not in``)."""

    subject: Expr
    values: tuple[Const, ...]
    negated: bool = False
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Has:
    """``item.tags has "organic"`` / ``member.tags has "vip"``."""

    subject: Field
    value: Const
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class IsBirthday:
    """``today is member.birthday`` (scope day) or ``month is member.birthday`` (scope month).

    A 29 February birthday is celebrated on 28 February in other years.
    """

    scope: Lit["day", "month"] = "day"
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr
    span: Span | None = field(default=None, compare=False)


Expr: TypeAlias = Field | Const | Aggregate | Compare | In | Has | IsBirthday | And | Or | Not
