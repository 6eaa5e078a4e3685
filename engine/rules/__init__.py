"""The rule-tree IR: what a ruleset means, independent of how it was written.

``dsl`` builds these nodes from text; tests may build them by hand. Every node
carries a :class:`~engine.spans.Span` that equality ignores, so a formatted
ruleset that means the same thing compares equal to the original.

Values inside the IR are already exact: money in integer fen, quantities in
integer thousandths, rates and factors as ``Fraction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from fractions import Fraction
from typing import Literal as Lit
from typing import TypeAlias

from engine.spans import Span

__all__ = [
    "FIELD_TYPES",
    "Aggregate",
    "AmountOff",
    "And",
    "BasketEvery",
    "BasketOff",
    "BasketSteps",
    "BonusPoints",
    "Compare",
    "Const",
    "Coupon",
    "Effect",
    "Example",
    "ExampleLine",
    "ExampleMember",
    "Expectation",
    "Expr",
    "Field",
    "Has",
    "In",
    "IsBirthday",
    "LineExpectation",
    "MemberPrice",
    "NoPoints",
    "Not",
    "Or",
    "PercentOff",
    "PointsMultiplier",
    "Rule",
    "Ruleset",
    "Settings",
    "TableDiscount",
    "Tier",
    "Validity",
    "ValueType",
    "stage_of",
]

ValueType: TypeAlias = Lit["money", "number", "text", "tags", "tier", "date", "time", "weekday", "bool"]
"""The static type of an expression; the checker refuses comparisons across types."""

FIELD_TYPES: dict[str, ValueType] = {
    # the line being priced (item rules, and inside subtotal(...) / over ...)
    "item.sku": "text",
    "item.name": "text",
    "item.category": "text",
    "item.brand": "text",
    "item.tags": "tags",
    "item.price": "money",  # unit price, fen
    # the member (absent for a guest: every comparison on it is false)
    "member.id": "text",
    "member.tier": "tier",
    "member.tags": "tags",
    "member.segment": "text",
    "member.birthday": "date",
    "member.join_date": "date",
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
    the rule, lines locked by an exclusive rule excluded. ``count`` is the number
    of such lines; ``quantity`` their summed quantity in whole units (floored).
    """

    kind: Lit["subtotal", "count", "quantity"]
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

# --------------------------------------------------------------------------- effects


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
)

Stage: TypeAlias = Lit["item", "basket", "points"]


def stage_of(effect: Effect) -> Stage:
    """Which evaluation stage an effect runs in."""
    if isinstance(effect, (PercentOff, AmountOff, MemberPrice, TableDiscount)):
        return "item"
    if isinstance(effect, (BasketOff, BasketSteps, BasketEvery)):
        return "basket"
    return "points"


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Validity:
    """When a rule or coupon is live, read in the ruleset's timezone.

    Dates are inclusive; hours are [start, end) local times; weekdays 0-6 (Monday 0).
    """

    date_from: date | None = None
    date_to: date | None = None
    weekdays: frozenset[int] | None = None
    hours: tuple[time, time] | None = None
    span: Span | None = field(default=None, compare=False)


ALWAYS = Validity()


@dataclass(frozen=True, slots=True)
class Rule:
    """One promotion: when ``condition`` holds (and ``validity``), apply ``effect``.

    Within a stage rules run by ``priority`` (higher first), then file ``order``.
    Rules sharing ``group`` form a best-of group; an ``exclusive`` rule locks the
    lines it discounted against every later discount.
    """

    id: str
    label: str
    effect: Effect
    condition: Expr | None = None
    priority: int = 0
    group: str | None = None
    exclusive: bool = False
    validity: Validity = ALWAYS
    order: int = 0
    span: Span | None = field(default=None, compare=False)

    @property
    def stage(self) -> Stage:
        return stage_of(self.effect)


@dataclass(frozen=True, slots=True)
class Tier:
    """A membership tier; ``rank`` is its position (0 = lowest) for ``>=`` comparisons."""

    id: str
    label: str
    rate: Fraction
    rank: int
    upgrade_lifetime: int | None = None  # fen of cumulative spend
    upgrade_single_day: int | None = None  # fen spent in one local day
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Settings:
    """The ruleset header."""

    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    points_per_yuan: Fraction = Fraction(1)
    points_rounding: Lit["floor", "half_up", "ceil"] = "floor"
    multipliers: Lit["multiply", "max", "add"] = "multiply"
    redeem_points_per_yuan: int | None = None  # e.g. 50 points = 1 yuan; None: no redemption
    redeem_cap: Fraction = Fraction(1)  # share of the eligible remaining amount points may pay
    inactivity_days: int | None = None
    inactivity_action: Lit["downgrade", "terminate"] = "downgrade"
    points_expire_days: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class NoPoints:
    """Lines matching ``condition`` earn no points (tobacco, gift cards)."""

    condition: Expr
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon definition. The request names it by ``id``; coupons run in declaration ``order``."""

    id: str
    label: str
    value: int
    min_spend: int = 0
    applies_to: Expr | None = None
    validity: Validity = ALWAYS
    members_only: bool = False
    points_price: int | None = None
    order: int = 0
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ExampleMember:
    tier: str
    birthday: date | None = None
    tags: frozenset[str] = frozenset()
    segment: str = ""
    join_date: date | None = None
    points_balance: int | None = None
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
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A whole ruleset file: the unit that is compiled, versioned and served."""

    name: str
    settings: Settings
    tiers: tuple[Tier, ...] = ()
    rules: tuple[Rule, ...] = ()
    no_points: tuple[NoPoints, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    examples: tuple[Example, ...] = ()
    source_text: str = field(default="", compare=False, repr=False)
    span: Span | None = field(default=None, compare=False)
