"""The ledger's tables as SQLAlchemy 2.0 declarative models.

Invariants live in the database as well as in the code: a spendable balance is never
negative, an idempotency key and a coupon code exist once, every entry belongs to a
member. ``points_entries`` is append-only: a correction is a new entry, and a
member's ``points_balance - points_owed`` is a cache of ``SUM(points)`` kept in the
same transaction as the entry (``Ledger.verify_balances`` proves it).

Text columns holding JSON (``request``, ``result``, ``invoice``, ``lines``) keep the
exact bytes the service produced, so finance can reproduce a past sale verbatim.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.ledger.balance import ENTRY_KINDS
from server.storage.types import fen, id64, points, serial, str64, utc, utc_now

__all__ = [
    "Adjustment",
    "Base",
    "Caller",
    "Coupon",
    "Member",
    "MemberAudit",
    "PointsEntry",
    "Return",
    "Sale",
    "SegmentMove",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so a later migration can drop or alter them on both databases."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


MEMBER_STATES = ("active", "terminated")
COUPON_STATES = ("issued", "redeemed", "expired")
SALE_STATES = ("committed", "partly_returned", "returned")


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("points_balance >= 0", name="balance_not_negative"),
        CheckConstraint("points_owed >= 0", name="owed_not_negative"),
        CheckConstraint("points_balance = 0 OR points_owed = 0", name="balance_or_owed"),
        CheckConstraint("lifetime_spend_fen >= 0", name="lifetime_not_negative"),
        CheckConstraint(_one_of("status", MEMBER_STATES), name="status"),
    )

    id: Mapped[id64]
    # The programme (ruleset name) the member belongs to; NULL only for a member an older ledger
    # could not place (migration 0013; `promo db place` places them).
    programme: Mapped[str | None] = mapped_column(String(128), index=True)
    tier: Mapped[str64]
    # Who referred this member (same programme, set once at enrolment, never a cycle); migration 0014.
    referrer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    birthday: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    segment: Mapped[str64] = mapped_column(default="")
    # The segment was set through UpdateMember: `promo maintain` leaves it until UpdateMember clears
    # the override (an empty segment); migration 0016.
    segment_pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    join_date: Mapped[date | None] = mapped_column(Date)
    lifetime_spend_fen: Mapped[fen] = mapped_column(default=0, server_default=text("0"))
    last_purchase_at: Mapped[utc | None]
    # Committed sales not fully returned (member.order_count, member.first_purchase); migration 0012.
    order_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Spendable points; a clawback beyond it becomes points_owed (engine.ledger.returns.settle_balance).
    points_balance: Mapped[points] = mapped_column(default=0, server_default=text("0"))
    points_owed: Mapped[points] = mapped_column(default=0, server_default=text("0"))
    # The part of points_balance earned within the programme's `points pending N days` and not yet
    # released (`promo maintain`): it counts toward the balance but cannot be spent. Migration 0014.
    points_pending: Mapped[points] = mapped_column(default=0, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # The day an inactivity downgrade last lowered the tier: the inactivity clock restarts there.
    tier_reviewed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    created_at: Mapped[utc] = mapped_column(default=utc_now)
    updated_at: Mapped[utc] = mapped_column(default=utc_now)


class Sale(Base):
    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint(_one_of("state", SALE_STATES), name="state"),
        Index("ix_sales_member_day", "member_id", "local_date"),
        Index("ix_sales_day_time", "local_date", "sold_at", "transaction_id"),  # the export's order
    )

    transaction_id: Mapped[id64]
    request_hash: Mapped[str64]
    request: Mapped[str] = mapped_column(Text)  # the wire request as JSON, verbatim
    ruleset: Mapped[str] = mapped_column(String(128))
    ruleset_version: Mapped[str] = mapped_column(String(16))
    ruleset_digest: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)  # the reply a retried commit gets back
    invoice: Mapped[str] = mapped_column(Text)  # the invoice lines as JSON
    lines: Mapped[str] = mapped_column(Text)  # engine.ledger.returns.SoldLine per line, for returns
    invoiced: Mapped[bool] = mapped_column(Boolean)
    payable_fen: Mapped[fen]
    points_earned: Mapped[points]
    points_redeemed: Mapped[points]
    member_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("members.id"))
    sold_at: Mapped[utc]
    local_date: Mapped[date] = mapped_column(Date)  # the sale's day in the ruleset's timezone
    state: Mapped[str] = mapped_column(String(16), default="committed")
    created_at: Mapped[utc] = mapped_column(default=utc_now)


class Return(Base):
    __tablename__ = "returns"

    return_id: Mapped[id64]
    transaction_id: Mapped[str] = mapped_column(String(64), ForeignKey("sales.transaction_id"), index=True)
    request_hash: Mapped[str64]
    lines: Mapped[str] = mapped_column(Text)  # per line: quantity, points, refund, discount, amount, tax
    points_clawed_back: Mapped[points]
    refund_fen: Mapped[fen]
    discount_reversed_fen: Mapped[fen]
    red_lines: Mapped[str] = mapped_column(Text)  # the red-letter invoice lines as JSON
    created_at: Mapped[utc] = mapped_column(default=utc_now)


class PointsEntry(Base):
    """One movement of points. Never updated or deleted; the balance is the sum of these."""

    __tablename__ = "points_entries"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint("kind <> 'earn' OR points >= 0", name="earn_not_negative"),
        CheckConstraint(
            "kind NOT IN ('redeem', 'return_clawback', 'expire', 'coupon_purchase') OR points <= 0",
            name="debit_not_positive",
        ),
        Index("ix_points_entries_member", "member_id", "id"),
        # A sale's entries (its hold, a return's clawback from it); migration 0016.
        Index("ix_points_entries_transaction", "transaction_id"),
    )

    id: Mapped[serial]
    member_id: Mapped[str] = mapped_column(String(64), ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[points]
    transaction_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("sales.transaction_id"))
    return_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("returns.return_id"))
    action: Mapped[str | None] = mapped_column(String(200))  # the key of a redeem/adjust/maintenance action
    reason: Mapped[str] = mapped_column(String(500), default="")
    expires_at: Mapped[utc | None]  # earn entries only, when the ruleset expires points
    # Earn entries under `points pending N days`: held until then; NULL once released (or never held).
    pending_until: Mapped[utc | None]
    created_at: Mapped[utc] = mapped_column(default=utc_now)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint(_one_of("state", COUPON_STATES), name="state"),
        Index("ix_coupons_owner", "owner_id"),
        # An issued coupon exists once per member, issuer and period: `promo maintain` inserts with
        # ON CONFLICT DO NOTHING, so running it twice (or two at once) issues nothing new.
        Index("uq_coupons_issued", "owner_id", "issued_by", "issued_for", unique=True),
    )

    code: Mapped[id64]
    definition_id: Mapped[str64]  # the ruleset's coupon id the engine prices
    ruleset: Mapped[str] = mapped_column(String(128))
    owner_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("members.id"))
    state: Mapped[str] = mapped_column(String(16), default="issued")
    valid_from: Mapped[date | None] = mapped_column(Date)  # inclusive local dates
    valid_to: Mapped[date | None] = mapped_column(Date)
    redeemed_by_sale: Mapped[str | None] = mapped_column(String(64), ForeignKey("sales.transaction_id"))
    redeemed_at: Mapped[utc | None]
    source_entry_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("points_entries.id"), unique=True
    )  # the coupon_purchase entry that paid for it
    # Coupons `promo maintain` issued (`issue COUPON on ...`): the declaration (IssuedCoupon.key) and
    # the period it was issued for (the day; the year for a birthday; "once" for a tier). Migration 0016.
    issued_by: Mapped[str | None] = mapped_column(String(64))
    issued_for: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[utc] = mapped_column(default=utc_now)


class Adjustment(Base):
    """The audit record of a manual points correction: who made it and why."""

    __tablename__ = "adjustments"

    id: Mapped[serial]
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("points_entries.id"), unique=True)
    member_id: Mapped[str] = mapped_column(String(64), ForeignKey("members.id"), index=True)
    points: Mapped[points]
    operator: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[utc] = mapped_column(default=utc_now)


CALLER_ROLES = ("till", "finance", "admin", "job")


class Caller(Base):
    """Who may call the service: a name, a role and the SHA-256 of its bearer token (never the token).

    A revoked caller keeps its row (``revoked_at`` set), so the audit trail's operator names
    still say who they were.
    """

    __tablename__ = "callers"
    __table_args__ = (CheckConstraint(_one_of("role", CALLER_ROLES), name="role"),)

    id: Mapped[serial]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[utc] = mapped_column(default=utc_now)
    revoked_at: Mapped[utc | None]


class UsageCounter(Base):
    """One stripe of one budget or use limit in one period (server/storage/usage.py).

    ``key`` names the programme, what is counted (a rule's or coupon's per-member limit, a
    campaign's fen or uses) and the period. A campaign's counter is split into stripes so
    tills commit on different rows: each stripe may use up to its ``allot``, and the
    allotments of a counter's stripes add up to at most ``cap``, the limit the version that
    last rebalanced them declared. What is used is the sum of the stripes' ``used``."""

    __tablename__ = "usage_counters"
    __table_args__ = (CheckConstraint("used >= 0", name="used_not_negative"),)

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    stripe: Mapped[int] = mapped_column(Integer, primary_key=True, default=0, server_default=text("0"))
    programme: Mapped[str] = mapped_column(String(128), index=True)
    used: Mapped[int] = mapped_column(BigInteger)
    allot: Mapped[int] = mapped_column(BigInteger)
    cap: Mapped[int] = mapped_column(BigInteger)


class SaleUsage(Base):
    """What one sale consumed of one counter, and how much a return gave back."""

    __tablename__ = "sale_usage"

    transaction_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sales.transaction_id"), primary_key=True
    )
    # No foreign key to usage_counters: this row is written before the counter's upsert, so the
    # counter row (which every till shares) stays locked for as short a time as possible.
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    stripe: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # the one it took from
    amount: Mapped[int] = mapped_column(BigInteger)
    returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # fen counters: {line id: fen of the campaign's discounts on that line}, for returns in proportion
    lines: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class PublishedVersion(Base):
    """A programme version `promo publish` checked and stored; `promo serve --rulesets-from-db`
    serves the newest of each programme (server/rulesets/published.py)."""

    __tablename__ = "published_versions"
    __table_args__ = (Index("ix_published_versions_programme", "programme", "id"),)

    id: Mapped[serial]
    programme: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)  # the version's text (a bundle for a programme folder)
    published_by: Mapped[str] = mapped_column(String(128), default="", server_default="")
    created_at: Mapped[utc] = mapped_column(default=utc_now)


class MemberAudit(Base):
    """An admin's change to a member that moves no points: a tier change or an erasure (who and why).

    ``member_id`` is not a foreign key: an erasure's record names the member's new anonymous id.
    """

    __tablename__ = "member_audit"

    id: Mapped[serial]
    member_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(20))  # tier | erase
    detail: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    operator: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[utc] = mapped_column(default=utc_now)


class SegmentMove(Base):
    """One ``promo maintain`` run's segment movement: how many members went from one segment to another
    (``from_segment == to_segment``: stayed). ``promo segments`` shows the latest run's; migration 0016."""

    __tablename__ = "segment_moves"
    __table_args__ = (Index("ix_segment_moves_run", "programme", "run"),)

    id: Mapped[serial]
    programme: Mapped[str] = mapped_column(String(128))  # "" : a run over every member
    run: Mapped[int] = mapped_column(BigInteger)  # 1, 2, ... per programme
    as_of: Mapped[date] = mapped_column(Date)
    from_segment: Mapped[str64]
    to_segment: Mapped[str64]
    members: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[utc] = mapped_column(default=utc_now)
