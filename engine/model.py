"""The values the engine takes and gives: a basket request in, an evaluation out.

All frozen and exact: money in fen, quantities in thousandths, rates as
``Fraction``. Constructing a request does not validate it against a ruleset;
:func:`engine.evaluate.validate.validate_request` does that and names the bad field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal as Lit
from typing import NamedTuple

from engine.usage import UsageLeft, UsageNote

__all__ = [
    "COUPON_REASONS",
    "Bonus",
    "CouponOutcome",
    "Discount",
    "Evaluation",
    "FreeUnits",
    "GiftAvailable",
    "Line",
    "LineOutcome",
    "Member",
    "Multiplier",
    "Nudge",
    "PointsOutcome",
    "Redemption",
    "Request",
    "TaxRate",
]


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A VAT rate as finance knows it: an exact rate plus, at 0%, which kind of zero.

    ``exemption`` is "" for a taxed rate, else one of ``exempt`` (免税),
    ``non_taxable`` (不征税) or ``zero_rated`` (普通零税率); the invoice repeats it.
    """

    rate: Fraction
    exemption: str = ""

    KNOWN = ("13%", "9%", "6%", "5%", "3%", "1.5%", "1%", "0%", "exempt", "non_taxable", "zero_rated")

    @classmethod
    def parse(cls, text: str) -> TaxRate:
        """Read "13%", "9%", "0%", "exempt"...; ``ValueError`` names the rates we know."""
        known = _PARSED.get(text)
        if known is None:
            known = _PARSED[text] = cls._parse(text)  # a handful of spellings: parse each once
        return known

    @classmethod
    def _parse(cls, text: str) -> TaxRate:
        key = text.strip().lower()
        if key in ("exempt", "免税"):
            return cls(Fraction(0), "exempt")
        if key in ("non_taxable", "不征税"):
            return cls(Fraction(0), "non_taxable")
        if key in ("zero_rated", "0%"):
            return cls(Fraction(0), "zero_rated")
        if key in cls.KNOWN:
            return cls(Fraction(key[:-1]) / 100, "")
        known = ", ".join(cls.KNOWN)
        raise ValueError(f"unknown tax rate {text!r}; use one of {known}")

    def __str__(self) -> str:
        if self.exemption and self.exemption != "zero_rated":
            return self.exemption
        pct = self.rate * 100
        return f"{Decimal(pct.numerator) / Decimal(pct.denominator)}%"


_PARSED: dict[str, TaxRate] = {}
"""Every tax-rate spelling seen so far; bounded by the few that parse (bad ones raise)."""


@dataclass(slots=True)
class Line:
    """One basket line as the till sends it: a value nothing changes once made.

    Not ``frozen``: a frozen dataclass's ``__init__`` sets each of the 12 fields through
    ``object.__setattr__``, which made building a 10-line request 42% of pricing it in process
    (1.29 us a line against 0.22 us; ``benchmarks/bench_engine.py`` prints both). So it is not
    hashable either; nothing keys on a line (lines are looked up by ``id``).
    """

    id: str
    name: str
    unit_price: int  # fen, tax inclusive
    quantity: int  # thousandths of a unit
    tax: TaxRate
    sku: str = ""
    category: str = ""
    brand: str = ""
    tags: frozenset[str] = frozenset()
    tax_code: str = ""  # 19-digit 商品和服务税收分类编码
    unit: str = ""
    spec: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    """The member at the till (inline attributes; the ledger fills them by id later)."""

    tier: str
    id: str = ""
    birthday: date | None = None
    tags: frozenset[str] = frozenset()
    segment: str = ""
    join_date: date | None = None
    points_balance: int | None = None  # when known, redemption may not exceed it
    # History (member.* history fields in conditions); None is "not known": conditions on it are false.
    last_purchase: date | None = None  # local date of the last committed sale (None: none yet, or unknown)
    order_count: int | None = None  # committed sales before this one
    lifetime_spend: int | None = None  # fen paid over the membership


@dataclass(frozen=True, slots=True)
class Request:
    """A basket to price. ``at`` must carry its UTC offset; the engine reads it in the ruleset's zone."""

    lines: tuple[Line, ...]
    at: datetime
    member: Member | None = None
    coupons: tuple[str, ...] = ()
    redeem_points: int = 0
    store: str = ""
    channel: str = ""
    usage: UsageLeft | None = None  # budgets and limits left (engine.usage); None: not limited


# --------------------------------------------------------------------------- results
#
# Results built once per line or per discount are NamedTuples: immutable like the
# frozen dataclasses above, but three times cheaper to build, and an evaluation
# builds dozens of them on the till's clock.


class Discount(NamedTuple):
    """``fen`` taken from a line by ``source``: a rule id, ``coupon:<id>`` or ``points``."""

    source: str
    kind: Lit["rule", "coupon", "points"]
    fen: int


class LineOutcome(NamedTuple):
    """One line priced: gross amount, the discounts in the order applied, net and points share."""

    line_id: str
    amount: int
    discounts: tuple[Discount, ...]
    discount: int
    net: int
    points: int
    earns_points: bool


COUPON_REASONS = (
    "accepted",
    "unknown",
    "duplicate",
    "not_valid_now",
    "members_only",
    "not_eligible",
    "min_spend",
    "no_eligible_amount",
    "limit_reached",  # a use limit or the campaign's budget is used up (engine.usage)
)


class CouponOutcome(NamedTuple):
    """A coupon code the till sent: accepted with the fen it took, or rejected with a reason."""

    code: str
    accepted: bool
    reason: str  # one of COUPON_REASONS
    discount: int = 0


class Multiplier(NamedTuple):
    rule: str
    factor: Fraction


class Bonus(NamedTuple):
    rule: str
    points: int


class PointsOutcome(NamedTuple):
    """Points earned and why: base (tier x multipliers) plus unmultiplied bonuses."""

    earned: int
    base: int
    eligible_fen: int
    tier_rate: Fraction
    factor: Fraction  # the multipliers combined by the ruleset's setting (1 when none)
    multipliers: tuple[Multiplier, ...] = ()
    bonuses: tuple[Bonus, ...] = ()


class Redemption(NamedTuple):
    """Points spent at checkout and the fen they paid."""

    points: int
    value: int


NO_REDEMPTION = Redemption(0, 0)


class FreeUnits(NamedTuple):
    """买N赠M: the basket's last, incomplete group holds the N paid units; ``units`` more of
    what the rule matches would be free ("take one more, it is free")."""

    rule: str
    units: int


class GiftAvailable(NamedTuple):
    """满赠: the rule's condition holds but the basket has fewer units of ``sku`` than granted;
    ``quantity`` more whole units would be given free (the till prompts the cashier)."""

    rule: str
    sku: str
    quantity: int


class Nudge(NamedTuple):
    """A basket rule (one step of a ladder) or a presented coupon that ``missing`` fen more of the
    lines ``scope`` names would trigger: its only unmet condition is a threshold on a basket measure."""

    source: str  # a rule id, or ``coupon:<code>``
    label: str  # the rule's or coupon's label (its id when it has none)
    missing: int  # fen more needed
    measure: str  # "subtotal", "gross" or "min_spend"
    threshold: int  # fen the measure must reach
    scope: str = ""  # which lines count, as a cashier says it ("食品"); "" for every line


class Evaluation(NamedTuple):
    """The full answer for one request: deterministic for a request and ruleset version."""

    ruleset: str
    version: str
    lines: tuple[LineOutcome, ...]
    subtotal: int
    discount: int
    payable: int
    points: PointsOutcome
    coupons: tuple[CouponOutcome, ...] = ()
    redemption: Redemption = NO_REDEMPTION
    free_units: tuple[FreeUnits, ...] = ()  # offers of the unit rules, in rule order
    gifts: tuple[GiftAvailable, ...] = ()
    nudges: tuple[Nudge, ...] = ()  # what a little more would trigger (PRODUCT.md "Nudges")
    notes: tuple[UsageNote, ...] = ()  # rules skipped or capped by a limit or budget (engine.usage)
