"""Declarations: rules, tiers, settings, no-points, coupons, validity, and the whole ruleset."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from fractions import Fraction
from typing import Literal as Lit

from engine.rules.campaigns import Campaign, Limit
from engine.rules.effects import Effect, Stage, stage_of
from engine.rules.examples import Example
from engine.rules.expressions import Expr
from engine.spans import Span

__all__ = ["ALWAYS", "Coupon", "IssuedCoupon", "NoPoints", "Rule", "Ruleset", "Settings", "Tier", "Validity"]


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
    campaign: str | None = None  # the campaign file it came from; None: the programme file
    limit: Limit | None = None
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
class ReferralAward:
    """What a referrer at ``level`` (1: who referred the buyer, 2: who referred them) earns.

    Continuous (``per`` set): ``points`` for every ``per`` fen the referred member pays, floored
    per sale. A milestone (``at`` set): ``points`` once, when the referred member's cumulative
    spend first reaches ``at`` fen.
    """

    level: int
    points: int
    per: int | None = None
    at: int | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class SegmentTest:
    """One RFM test: ``measure`` (recency in days, frequency in sales, monetary in fen) ``op`` ``value``."""

    measure: Lit["recency", "frequency", "monetary"]
    op: Lit["<", "<=", "=", "!=", ">=", ">"]
    value: int


@dataclass(frozen=True, slots=True)
class Segment:
    """An RFM segment: a member is in the first segment (file order) whose tests all hold."""

    id: str
    tests: tuple[SegmentTest, ...]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    """A coupon ``promo maintain`` issues to each member it concerns, owner-bound, valid ``valid_days``
    days from the day it is issued (that day included).

    ``trigger`` is "idle" (the ``days``-th day without a purchase: the win-back), "birthday" (the
    member's birthday; 29 Feb counts on 28 Feb in other years) or "tier" (at or above tier ``tier``,
    once per member).
    """

    coupon: str  # the programme's coupon id the issued codes price as
    trigger: Lit["idle", "birthday", "tier"]
    valid_days: int
    days: int | None = None  # idle: the day without a purchase
    tier: str | None = None  # tier: the tier reached
    span: Span | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """What the ledger records as the issuer (one code per member, key and period)."""
        detail = {"idle": f"day{self.days}", "birthday": "birthday", "tier": f"tier:{self.tier}"}
        return f"{self.coupon}@{detail[self.trigger]}"


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
    redeem_applies_to: Expr | None = None  # the lines points may pay for (None: every unlocked line)
    inactivity_days: int | None = None
    inactivity_action: Lit["downgrade", "terminate"] = "downgrade"
    points_expire_days: int | None = None
    points_pending_days: int | None = None  # earned points are held this long (the return window)
    referral: tuple[ReferralAward, ...] = ()
    segments: tuple[Segment, ...] = ()  # `segment NAME when ...` lines, in file order
    issued: tuple[IssuedCoupon, ...] = ()  # `issue COUPON on ...` lines, in file order
    # The most of a line's amount all discounts together may take; `promo check` refuses a ruleset
    # whose worst case (engine.analysis.worst) exceeds it. None: no ceiling.
    max_discount: Fraction | None = None
    max_discount_span: Span | None = field(default=None, compare=False)
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class NoPoints:
    """Lines matching ``condition`` earn no points (tobacco, gift cards)."""

    condition: Expr
    campaign: str | None = None  # the campaign file it came from; None: the programme file
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon definition. The request names it by ``id``; coupons run in declaration ``order``.

    A value coupon takes ``value`` fen; a percent coupon (``percent`` set, ``value`` 0) takes
    min(round-half-up(percent x eligible remaining), ``max_value``). ``condition`` (on the member
    and the basket) refuses the coupon as ``not_eligible`` when false.
    """

    id: str
    label: str
    value: int
    min_spend: int = 0
    applies_to: Expr | None = None
    validity: Validity = ALWAYS
    members_only: bool = False
    points_price: int | None = None
    order: int = 0
    percent: Fraction | None = None  # a percent coupon's rate (1/10 for 10%)
    max_value: int | None = None  # fen: the most a percent coupon takes
    condition: Expr | None = None  # on the member and the basket; false -> not_eligible
    campaign: str | None = None  # the campaign file it came from; None: the programme file
    limit: Limit | None = None
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Ruleset:
    """A programme (one file, or a programme file and its campaign files): compiled, versioned, served."""

    name: str
    settings: Settings
    tiers: tuple[Tier, ...] = ()
    rules: tuple[Rule, ...] = ()
    no_points: tuple[NoPoints, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    examples: tuple[Example, ...] = ()
    campaigns: tuple[Campaign, ...] = ()  # in file-name order; empty for a one-file ruleset
    source_text: str = field(default="", compare=False, repr=False)
    span: Span | None = field(default=None, compare=False)
