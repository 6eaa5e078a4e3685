"""Effects: what a rule does when its condition holds, and the stage each runs in."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal as Lit
from typing import TypeAlias

from engine.rules.expressions import Expr, Field
from engine.spans import Span

__all__ = [
    "UNIT_EFFECTS",
    "AmountOff",
    "BasketEvery",
    "BasketOff",
    "BasketSteps",
    "BonusPoints",
    "BuyGet",
    "Effect",
    "EveryNth",
    "Gift",
    "MemberPrice",
    "PercentOff",
    "PointsMultiplier",
    "Stage",
    "TableDiscount",
    "UnitEffect",
    "UnitsFor",
    "stage_of",
]


@dataclass(frozen=True, slots=True)
class PercentOff:
    """Item: take ``rate`` (0 < rate <= 1) of what is left of the line. 9.5折 is rate 1/20."""

    rate: Fraction
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AmountOff:
    """Item: ``per_unit`` fen off each unit: round-half-up(per_unit x quantity)."""

    per_unit: int
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MemberPrice:
    """Item: the line costs round-half-up(price x quantity) when that is lower than what is left."""

    price: int
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TableDiscount:
    """Item: a percent-off looked up by the values of ``keys`` (a card-type x category grid).

    ``rates`` maps a tuple of key values (tier id, category...) to the rate off; a
    missing cell means no discount.
    """

    keys: tuple[Field, ...]
    rates: dict[tuple[str, ...], Fraction] = field(hash=False)
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BasketOff:
    """Basket (满减): ``amount`` fen off the lines matching ``over`` (all when None), apportioned."""

    amount: int
    over: Expr | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BasketSteps:
    """Basket ladder: the largest (threshold, amount) step met by the eligible subtotal applies, once."""

    steps: tuple[tuple[int, int], ...]
    over: Expr | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BasketEvery:
    """Basket 每满: ``amount`` off for every full ``every`` of eligible subtotal, at most ``limit`` times."""

    every: int
    amount: int
    over: Expr | None = None
    limit: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PointsMultiplier:
    """Points: multiply the points earned by ``factor`` (combined by the ruleset's setting)."""

    factor: Fraction
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class BonusPoints:
    """Points: ``points`` extra, not multiplied, spread over the points-earning lines matching ``over``."""

    points: int
    over: Expr | None = None
    span: Span | None = field(default=None, compare=False)


# --------------------------------------------------------------------------- unit-level item effects
# PRODUCT.md "More promotion forms": these price a rule's eligible units together (sorted by
# value, highest first) instead of one line at a time. engine/evaluate/units.py runs them.


@dataclass(frozen=True, slots=True)
class BuyGet:
    """买N赠M: in each complete group of ``buy + get`` units the last ``get`` are free.

    ``limit`` (`max K times`) keeps the first K groups of the walk.
    """

    buy: int
    get: int
    limit: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class EveryNth:
    """第N件X折: units at walk positions n, 2n, 3n... take ``rate`` off; at most ``limit`` positions."""

    n: int
    rate: Fraction
    limit: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UnitsFor:
    """任选N件X元: each complete group of ``n`` units worth more than ``price`` fen costs ``price``."""

    n: int
    price: int
    limit: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Gift:
    """满赠: up to ``qty`` units of lines with ``sku`` are 100% off when the rule's condition holds."""

    sku: str
    qty: int
    span: Span | None = field(default=None, compare=False)


UnitEffect: TypeAlias = BuyGet | EveryNth | UnitsFor | Gift
UNIT_EFFECTS = (BuyGet, EveryNth, UnitsFor, Gift)


Effect: TypeAlias = (
    PercentOff
    | AmountOff
    | MemberPrice
    | TableDiscount
    | BasketOff
    | BasketSteps
    | BasketEvery
    | PointsMultiplier
    | BonusPoints
    | UnitEffect
)

Stage: TypeAlias = Lit["item", "basket", "points"]


def stage_of(effect: Effect) -> Stage:
    """Which evaluation stage an effect runs in."""
    if isinstance(effect, (PercentOff, AmountOff, MemberPrice, TableDiscount, *UNIT_EFFECTS)):
        return "item"
    if isinstance(effect, (BasketOff, BasketSteps, BasketEvery)):
        return "basket"
    return "points"
