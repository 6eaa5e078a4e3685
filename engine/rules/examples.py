"""Worked examples embedded in a ruleset: a member, a time, lines, and what to expect."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from engine.spans import Span

__all__ = ["Example", "ExampleLine", "ExampleMember", "Expectation", "LineExpectation"]


@dataclass(frozen=True, slots=True)
class ExampleMember:
    tier: str
    birthday: date | None = None
    tags: frozenset[str] = frozenset()
    segment: str = ""
    join_date: date | None = None
    points_balance: int | None = None
    last_purchase: date | None = None  # history: `last_purchase 2026-09-28`
    order_count: int | None = None  # `orders 3`
    lifetime_spend: int | None = None  # fen: `lifetime_spend 5000.00`
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ExampleLine:
    name: str
    price: int  # fen per unit
    quantity: int  # thousandths
    tax: str = "13%"
    sku: str = ""
    category: str = ""
    brand: str = ""
    tags: frozenset[str] = frozenset()
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LineExpectation:
    """What one basket line of an example must come to (`line 2 net 71.36 points 107`).

    One per `line N` term as written; ``None`` fields are not checked.
    """

    line: int  # 1-based position among the example's `line` statements
    net: int | None = None  # fen
    discount: int | None = None  # fen
    points: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What an example must produce; ``None`` fields are not checked."""

    payable: int | None = None
    points: int | None = None
    discount: int | None = None
    rules: tuple[tuple[str, int], ...] = ()  # (rule id, total fen it took)
    coupons: tuple[tuple[str, str], ...] = ()  # (coupon id, "accepted" or a rejection reason)
    redeemed_points: int | None = None
    lines: tuple[LineExpectation, ...] = ()  # per basket line, in the order written
    # (kind, rule id, units): "free" = units a buy-get rule offers free, "gift" = gift units
    # available; 0 expects no such prompt
    offers: tuple[tuple[str, str, int], ...] = ()
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Example:
    """A basket written in the ruleset with the answer worked out by hand; ``promo check`` runs it."""

    label: str
    at: datetime  # naive, local to the ruleset's timezone
    lines: tuple[ExampleLine, ...]
    expect: Expectation
    member: ExampleMember | None = None
    coupons: tuple[str, ...] = ()
    redeem_points: int = 0
    store: str = ""
    channel: str = ""
    campaign: str | None = None  # the campaign file it came from; None: the programme file
    span: Span | None = field(default=None, compare=False)
