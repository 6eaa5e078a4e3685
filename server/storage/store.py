"""The ledger: members, points, coupons, sales and returns, one transaction per operation.

Every write is idempotent by a key the caller chooses (a transaction id, a return
id, an idempotency key): the same key with the same payload returns the original
answer and changes nothing; with a different payload it raises
:class:`IdempotencyConflict`. Balances are cached on the member row in the same
transaction as the entry that moves them, and :meth:`Ledger.verify_balances` proves
the cache equals ``SUM(points)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.model import Member as EngineMember
from engine.rules import Settings, Tier
from server.storage import maintenance, returns, sales
from server.storage.db import ensure_schema, make_engine, make_sessionmaker, reader, snapshot
from server.storage.errors import (
    CouponUnavailable,
    IdempotencyConflict,
    InsufficientPoints,
    MemberNotFound,
    MemberTerminated,
)
from server.storage.models import Adjustment, Coupon, Member, PointsEntry
from server.storage.pricing import PricingReads, coupon_status, coupon_statuses, read_for_pricing
from server.storage.results import (
    AdjustResult,
    BalanceMismatch,
    CommitResult,
    CouponOffer,
    CouponStatus,
    EntryView,
    MaintenanceReport,
    MemberView,
    RedeemResult,
    ReturnResult,
    SaleToCommit,
)
from server.storage.sales import settle
from server.storage.tx import in_connection, in_transaction, is_unique_violation
from server.storage.types import utc_now

__all__ = ["Ledger", "PricingReads"]

T = TypeVar("T")


class Ledger:
    """The ledger over a session factory; safe to share between threads (no state of its own)."""

    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utc_now) -> None:
        self.sessions = sessions
        self.clock = clock
        self._reader = reader(self.engine)
        # Sessions for long reads (audit export and verify): one snapshot, no write lock held.
        self.snapshots = make_sessionmaker(snapshot(self.engine))

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, **engine_options: object) -> Ledger:
        """A ledger on ``url``, upgrading an empty or older database first unless ``migrate`` is False."""
        engine = make_engine(url, **engine_options)
        if migrate:
            ensure_schema(engine)
        return cls(make_sessionmaker(engine))

    @property
    def engine(self) -> Engine:
        bind = self.sessions.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    def _tx(self, work: Callable[[Session], T]) -> T:
        return in_transaction(self.sessions, work)

    def _core(self, work: Callable[[Connection], T]) -> T:
        """One transaction on a Core connection: the hot paths skip the ORM session."""
        return in_connection(self.engine, work)

    # ----------------------------------------------------------------------- members

    def enroll_member(
        self,
        member_id: str,
        tier: str,
        *,
        birthday: date | None = None,
        tags: Iterable[str] = (),
        segment: str = "",
        join_date: date | None = None,
    ) -> MemberView:
        """Create a member; enrolling again with the same data answers the same, different data conflicts."""
        wanted = {
            "tier": tier,
            "birthday": birthday,
            "tags": sorted(set(tags)),
            "segment": segment,
            "join_date": join_date,
        }

        def create(session: Session) -> None:
            now = self.clock()
            session.execute(insert(Member).values(id=member_id, created_at=now, updated_at=now, **wanted))

        try:
            self._tx(create)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            existing = self.get_member(member_id, recent=0)
            have = {
                "tier": existing.tier,
                "birthday": existing.birthday,
                "tags": sorted(existing.tags),
                "segment": existing.segment,
                "join_date": existing.join_date,
            }
            if have != wanted:
                raise IdempotencyConflict("member", member_id) from None
            return existing
        return self.get_member(member_id, recent=0)

    def get_member(self, member_id: str, recent: int = 20) -> MemberView:
        """The member, their balance and their ``recent`` latest entries (newest first)."""
        return self._tx(lambda s: _member_view(s, member_id, recent))

    def member_for_evaluation(self, member_id: str) -> EngineMember:
        """The engine's member for Evaluate by id, with the spendable balance."""
        return self.get_member(member_id, recent=0).to_engine()

    # ----------------------------------------------------------------------- coupons

    def issue_coupon(
        self,
        code: str,
        definition_id: str,
        ruleset: str,
        *,
        owner_id: str | None = None,
        valid_from: date | None = None,
        valid_to: date | None = None,
    ) -> CouponStatus:
        """Record an issued coupon code (a campaign's printed codes, or one sold for points)."""

        def work(session: Session) -> None:
            session.execute(
                insert(Coupon).values(
                    code=code,
                    definition_id=definition_id,
                    ruleset=ruleset,
                    owner_id=owner_id,
                    state="issued",
                    valid_from=valid_from,
                    valid_to=valid_to,
                    created_at=self.clock(),
                )
            )

        self._tx(work)
        return self.lookup_coupons([code], member_id=owner_id, on=valid_from or date.min)[code]

    def lookup_coupons(
        self, codes: Iterable[str], *, member_id: str | None, on: date
    ) -> dict[str, CouponStatus]:
        """Resolve presented codes before evaluating: which definition each is, and why it cannot be used.

        A code the ledger never issued comes back with problem ``unknown``; the server
        decides whether it is a public code the ruleset itself defines.
        """
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return {}

        return self._tx(lambda s: _coupon_statuses(s, wanted, member_id, on))

    def pricing_reads(
        self, member_id: str | None, codes: Iterable[str], transaction_id: str | None = None
    ) -> PricingReads:
        """What pricing a sale reads, in one statement outside any transaction: the member (None: a
        guest or unknown), the presented codes and, for a commit, the sale already stored under
        ``transaction_id`` (a retry is answered from it without pricing again).

        No transaction is needed: the commit re-checks every row it changes.
        """
        return in_connection(self._reader, lambda c: read_for_pricing(c, member_id, codes, transaction_id))

    # ----------------------------------------------------------------------- sales

    def commit_sale(self, sale: SaleToCommit) -> CommitResult:
        """Post a priced sale in one transaction, or return the original answer for a retry.

        Raises CouponUnavailable, InsufficientPoints, MemberNotFound or MemberTerminated
        (nothing is stored), or IdempotencyConflict when the transaction id was committed with a
        different request.
        """
        try:
            return self._core(lambda c: sales.commit_sale(c, sale, self.clock()))
        except IntegrityError as exc:
            replay = self.replay_sale(sale.transaction_id, sale.request_hash)
            if replay is not None:
                return replay
            if sale.member_id is not None and not self._member_exists(sale.member_id):
                raise MemberNotFound(sale.member_id) from exc
            raise
        except (CouponUnavailable, InsufficientPoints):
            # A retry racing its own first attempt waits on the coupon or member row and then
            # finds it spent: it is a replay, not a failure.
            replay = self.replay_sale(sale.transaction_id, sale.request_hash)
            if replay is not None:
                return replay
            raise

    def replay_sale(self, transaction_id: str, request_hash: str) -> CommitResult | None:
        """The stored answer for a retried commit (None: never committed); IdempotencyConflict on
        another request."""
        return in_connection(self._reader, lambda c: sales.replay_sale(c, transaction_id, request_hash))

    def return_lines(
        self, transaction_id: str, return_id: str, quantities: Mapping[str, int]
    ) -> ReturnResult:
        """Return ``quantities`` (line id -> thousandths) of a sale: claw back their points, refund their
        net, print red-letter lines. Idempotent by ``return_id``; ReturnExceedsSale past what was sold.

        The clawback is exact even when the member already spent those points: the
        shortfall is recorded as ``points_owed`` (the spendable balance stays >= 0) and
        later earnings pay it off first.
        """
        try:
            return self._tx(
                lambda s: returns.return_lines(s, transaction_id, return_id, quantities, self.clock())
            )
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            # The same return id raced itself: the winner is committed now, so this replays or conflicts.
            return self._tx(
                lambda s: returns.return_lines(s, transaction_id, return_id, quantities, self.clock())
            )

    # ----------------------------------------------------------------------- points

    def redeem_points_for_coupon(
        self, member_id: str, offer: CouponOffer, idempotency_key: str, *, today: date
    ) -> RedeemResult:
        """Spend the offer's points price and issue one coupon atomically.

        InsufficientPoints if short, MemberTerminated for a terminated member; a retry of a
        purchase made before a termination still gets its coupon back.
        """
        key = f"coupon_purchase:{idempotency_key}"
        reason = f"coupon {offer.definition_id} of {offer.ruleset}"

        def work(session: Session) -> RedeemResult:
            prior = _entry_by_key(session, key)
            if prior is not None:
                if (prior.member_id, prior.points, prior.reason) != (member_id, -offer.points_price, reason):
                    raise IdempotencyConflict("points redemption", idempotency_key)
                coupon = session.scalars(select(Coupon).where(Coupon.source_entry_id == prior.id)).one()
                balance = _balance(session, member_id)
                return RedeemResult(
                    coupon_status(coupon, member_id, today), offer.points_price, balance, True
                )
            now = self.clock()
            balance = _debit(session, member_id, offer.points_price, now, active_only=True)
            entry_id = session.scalar(
                insert(PointsEntry)
                .values(
                    member_id=member_id,
                    kind="coupon_purchase",
                    points=-offer.points_price,
                    action=idempotency_key,
                    reason=reason,
                    created_at=now,
                    idempotency_key=key,
                )
                .returning(PointsEntry.id)
            )
            valid_to = None
            if offer.validity_days is not None:
                valid_to = today + timedelta(days=offer.validity_days - 1)
            coupon = Coupon(
                code=_new_code(),
                definition_id=offer.definition_id,
                ruleset=offer.ruleset,
                owner_id=member_id,
                state="issued",
                valid_from=today,
                valid_to=valid_to,
                source_entry_id=entry_id,
                created_at=now,
            )
            session.add(coupon)
            session.flush()
            return RedeemResult(coupon_status(coupon, member_id, today), offer.points_price, balance, False)

        return self._retry_on_duplicate(work)

    def adjust_points(
        self, member_id: str, points: int, reason: str, operator: str, idempotency_key: str
    ) -> AdjustResult:
        """An audited manual correction (who and why are kept); a debit may not overdraw the balance."""
        if points == 0:
            raise ValueError("an adjustment must move at least one point")
        if not reason.strip() or not operator.strip():
            raise ValueError("an adjustment needs a reason and an operator, for the audit trail")
        key = f"adjust:{idempotency_key}"

        def work(session: Session) -> AdjustResult:
            prior = _entry_by_key(session, key)
            if prior is not None:
                audit = session.scalars(select(Adjustment).where(Adjustment.entry_id == prior.id)).one()
                if (prior.member_id, prior.points, audit.reason, audit.operator) != (
                    member_id,
                    points,
                    reason,
                    operator,
                ):
                    raise IdempotencyConflict("adjustment", idempotency_key)
                return AdjustResult(prior.id, points, _balance(session, member_id), True)
            now = self.clock()
            if points < 0:
                balance = _debit(session, member_id, -points, now)
            else:
                balance = _credit(session, member_id, points, now)
            entry_id = session.scalar(
                insert(PointsEntry)
                .values(
                    member_id=member_id,
                    kind="adjust",
                    points=points,
                    action=idempotency_key,
                    reason=reason,
                    created_at=now,
                    idempotency_key=key,
                )
                .returning(PointsEntry.id)
            )
            session.execute(
                insert(Adjustment).values(
                    entry_id=entry_id,
                    member_id=member_id,
                    points=points,
                    operator=operator,
                    reason=reason,
                    created_at=now,
                )
            )
            return AdjustResult(int(entry_id), points, balance, False)

        return self._retry_on_duplicate(work)

    def _retry_on_duplicate(self, work: Callable[[Session], T]) -> T:
        try:
            return self._tx(work)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return self._tx(work)  # the concurrent twin committed: this run replays it

    def _member_exists(self, member_id: str) -> bool:
        return self._tx(lambda s: s.get(Member, member_id) is not None)

    # ----------------------------------------------------------------------- housekeeping

    def maintain(self, as_of: date, settings: Settings, tiers: tuple[Tier, ...]) -> MaintenanceReport:
        """Expire points, expire coupons and downgrade or terminate inactive members, as of a local day.

        Each member is handled in its own short transaction; running again for the
        same day changes nothing.
        """
        return maintenance.maintain(self.sessions, as_of, settings, tiers, self.clock)

    def verify_balances(self) -> list[BalanceMismatch]:
        """Every member whose cached balance differs from the sum of their entries (must be empty)."""
        return self._tx(maintenance.verify_balances)


# --------------------------------------------------------------------------- helpers


def _member_view(session: Session, member_id: str, recent: int) -> MemberView:
    m = session.get(Member, member_id)
    if m is None:
        raise MemberNotFound(member_id)
    entries: tuple[EntryView, ...] = ()
    if recent > 0:
        rows = session.scalars(
            select(PointsEntry)
            .where(PointsEntry.member_id == member_id)
            .order_by(PointsEntry.id.desc())
            .limit(recent)
        )
        entries = tuple(
            EntryView(
                e.id,
                e.kind,
                e.points,
                e.transaction_id,
                e.return_id,
                e.action,
                e.reason,
                e.created_at,
                e.expires_at,
            )
            for e in rows
        )
    return MemberView(
        id=m.id,
        tier=m.tier,
        birthday=m.birthday,
        tags=frozenset(m.tags),
        segment=m.segment,
        join_date=m.join_date,
        lifetime_spend_fen=m.lifetime_spend_fen,
        last_purchase_at=m.last_purchase_at,
        points_balance=m.points_balance - m.points_owed,
        points_owed=m.points_owed,
        status=m.status,
        recent=entries,
    )


def _coupon_statuses(
    session: Session, wanted: list[str], member_id: str | None, on: date
) -> dict[str, CouponStatus]:
    rows = session.execute(select(Coupon).where(Coupon.code.in_(wanted))).scalars().all()
    return coupon_statuses(wanted, rows, member_id, on)


def _entry_by_key(session: Session, key: str) -> PointsEntry | None:
    return session.scalars(select(PointsEntry).where(PointsEntry.idempotency_key == key)).one_or_none()


def _balance(session: Session, member_id: str) -> int:
    value = session.scalar(select(Member.points_balance - Member.points_owed).where(Member.id == member_id))
    if value is None:
        raise MemberNotFound(member_id)
    return int(value)


def _debit(session: Session, member_id: str, points: int, now: datetime, *, active_only: bool = False) -> int:
    """Take ``points`` from the spendable balance, never below zero; the balance after.

    ``active_only`` refuses a terminated member in the same UPDATE (a customer's purchase);
    a staff correction leaves it off.
    """
    guards = [Member.id == member_id, Member.points_balance >= points]
    if active_only:
        guards.append(Member.status == "active")
    new = session.scalar(
        update(Member)
        .where(*guards)
        .values(**settle(-points), updated_at=now)
        .returning(Member.points_balance)
    )
    if new is None:
        found = session.execute(
            select(Member.points_balance, Member.status).where(Member.id == member_id)
        ).one_or_none()
        if found is None:
            raise MemberNotFound(member_id)
        if active_only and found.status != "active":
            raise MemberTerminated(member_id)
        raise InsufficientPoints(member_id, int(found.points_balance), points)
    return int(new)


def _credit(session: Session, member_id: str, points: int, now: datetime) -> int:
    new = session.scalar(
        update(Member)
        .where(Member.id == member_id)
        .values(**settle(points), updated_at=now)
        .returning(Member.points_balance - Member.points_owed)
    )
    if new is None:
        raise MemberNotFound(member_id)
    return int(new)


def _new_code() -> str:
    """A coupon code a cashier can read out: 12 characters without 0/O or 1/I."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "P" + "".join(secrets.choice(alphabet) for _ in range(12))
