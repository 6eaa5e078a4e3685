"""The values going into and out of the ledger store: frozen, typed, detached from any session.

Nothing here lazy-loads: every result is copied out of its transaction, so a caller
can hold it after the session is gone (and the gRPC layer can encode it directly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from engine.invoice.build import Invoice, InvoiceLine
from engine.ledger.returns import LineReturn, flat_red_lines
from engine.model import Evaluation, Member, Request
from engine.rules import ReferralAward, Tier
from server.storage.errors import CouponProblem

__all__ = [
    "AdjustResult",
    "BalanceMismatch",
    "CommitResult",
    "CouponOffer",
    "CouponStatus",
    "EntryView",
    "MaintenanceReport",
    "MemberView",
    "RedeemResult",
    "ReturnResult",
    "RulesetRef",
    "SaleToCommit",
]


@dataclass(frozen=True, slots=True)
class RulesetRef:
    """Which ruleset priced a sale: enough to reproduce it (name + digest of the source)."""

    name: str
    version: str
    digest: str


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    kind: str
    points: int
    transaction_id: str | None
    return_id: str | None
    action: str | None
    reason: str
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class OwnedCoupon:
    """A coupon code the ledger holds for one member (issued by ``promo maintain`` or handed out)."""

    code: str
    definition_id: str
    state: str  # issued | redeemed | expired
    valid_from: date | None
    valid_to: date | None
    issued_by: str | None  # IssuedCoupon.key; None: handed out another way


@dataclass(frozen=True, slots=True)
class MemberView:
    """A member as the ledger knows them. ``points_balance`` is the sum of the entries (may be
    negative only while ``points_owed`` > 0, after a return clawed back spent points)."""

    id: str
    tier: str
    birthday: date | None
    tags: frozenset[str]
    segment: str
    join_date: date | None
    lifetime_spend_fen: int
    last_purchase_at: datetime | None
    points_balance: int
    points_owed: int
    status: str
    programme: str | None = None  # None: an older ledger's member not placed yet (promo db place)
    recent: tuple[EntryView, ...] = ()
    order_count: int = 0  # committed sales not fully returned
    referrer_id: str | None = None  # who referred the member (set once at enrolment)
    referral_points: int = 0  # net points earned from referred members' sales (returns deducted)
    points_pending: int = 0  # part of points_balance held (`points pending N days`): not spendable yet
    coupons: tuple[OwnedCoupon, ...] = ()  # the member's own coupons, newest first (GetMember)
    segment_pinned: bool = False  # the segment is UpdateMember's override: maintain keeps it

    @property
    def spendable(self) -> int:
        return max(self.points_balance - self.points_pending, 0)

    def to_engine(self) -> Member:
        """The engine's view: the attributes rules read and the points redemption may use."""
        return Member(
            tier=self.tier,
            id=self.id,
            birthday=self.birthday,
            tags=self.tags,
            segment=self.segment,
            join_date=self.join_date,
            points_balance=self.spendable,
            # the UTC day; Evaluate and Commit go through server.wire.ledger.with_member, which
            # reads it in the ruleset's timezone
            last_purchase=self.last_purchase_at.date() if self.last_purchase_at is not None else None,
            order_count=self.order_count,
            lifetime_spend=self.lifetime_spend_fen,
        )


@dataclass(frozen=True, slots=True)
class CouponStatus:
    """A presented code resolved: ``problem`` is None when it may be spent by this member today."""

    code: str
    definition_id: str | None
    ruleset: str | None
    owner_id: str | None
    state: str | None
    valid_from: date | None
    valid_to: date | None
    problem: CouponProblem | None


@dataclass(frozen=True, slots=True)
class UsageTake:
    """What a sale consumes of one budget or limit counter (server/sales/budgets.py)."""

    key: str
    amount: int  # uses or fen
    cap: int
    what: str  # the campaign or rule, for the error when it would overspend
    lines_json: str = "{}"  # fen counters: {line id: fen}, for returns in proportion
    shared: bool = False  # every till's (a campaign's budget): striped, so tills commit on different rows


@dataclass(frozen=True, slots=True)
class SaleToCommit:
    """Everything one Commit stores, as the server priced it.

    ``coupon_codes`` are the ledger codes the evaluation accepted (each is spent once);
    ``request_json``, ``invoice_json`` and ``result_json`` are stored verbatim, and a
    retry gets ``result_json`` back. ``sold_at`` is aware; ``local_date`` is its day in
    the ruleset's timezone (the single-day upgrade threshold counts that day).
    """

    transaction_id: str
    request_hash: str
    request_json: str
    ruleset: RulesetRef
    request: Request
    evaluation: Evaluation
    invoices: tuple[Invoice, ...]  # the sale's invoices (none when nothing was invoiced)
    invoice_json: str
    result_json: str
    sold_at: datetime
    local_date: date
    member_id: str | None = None
    coupon_codes: tuple[str, ...] = ()
    tiers: tuple[Tier, ...] = ()
    points_expire_days: int | None = None
    referral: tuple[ReferralAward, ...] = ()  # the programme's referral awards (engine.ledger.referral)
    points_pending_days: int | None = None  # `points pending N days`: the earn is held that long
    usage: tuple[UsageTake, ...] = ()  # consumed in the sale's transaction, or nothing is posted


@dataclass(frozen=True, slots=True)
class CommitResult:
    """A committed sale. On a replay (``replayed``) ``result_json`` is the original answer and
    the member fields are the member as they are now."""

    transaction_id: str
    result_json: str
    replayed: bool
    points_earned: int
    points_redeemed: int
    member_balance: int | None = None
    tier: str | None = None
    upgraded_from: str | None = None  # the tier before this sale when it upgraded the member
    referrers: tuple[str, ...] = ()  # the members this sale paid referral points to (cache to forget)


@dataclass(frozen=True, slots=True)
class ReturnResult:
    return_id: str
    transaction_id: str
    lines: tuple[LineReturn, ...]
    red_invoices: tuple[Invoice, ...]  # one per sale invoice offset, cut where a limit needs it
    points_clawed_back: int
    refund_fen: int
    discount_reversed_fen: int
    sale_state: str
    replayed: bool
    member_balance: int | None = None

    @property
    def red_lines(self) -> tuple[InvoiceLine, ...]:
        """Every red-letter line, numbered through all the red invoices."""
        return flat_red_lines(self.red_invoices)


@dataclass(frozen=True, slots=True)
class CouponOffer:
    """A coupon definition members buy with points: the ruleset's coupon id, price and life."""

    definition_id: str
    ruleset: str
    points_price: int
    validity_days: int | None = None  # None: valid until used


@dataclass(frozen=True, slots=True)
class RedeemResult:
    coupon: CouponStatus
    points_spent: int
    member_balance: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class AdjustResult:
    entry_id: int
    points: int
    member_balance: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    as_of: date
    expired_points: int = 0
    members_expired: int = 0
    downgraded: tuple[tuple[str, str, str], ...] = ()  # (member, from tier, to tier)
    terminated: tuple[str, ...] = ()
    coupons_expired: int = 0
    points_released: int = 0  # held points (`points pending N days`) whose time came
    members_released: int = 0
    segments_changed: int = 0  # members whose RFM segment moved (server/storage/segments.py)
    coupons_issued: tuple[tuple[str, int], ...] = ()  # (IssuedCoupon.key, codes issued now), file order


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    member_id: str
    cached: int  # points_balance - points_owed on the member row
    entries: int  # SUM(points) of the member's entries
