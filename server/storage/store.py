"""The ledger: members, points, coupons, sales and returns, one transaction per operation.

Every write is idempotent by a key the caller chooses (a transaction id, a return
id, an idempotency key): the same key with the same payload returns the original
answer and changes nothing; with a different payload it raises
:class:`IdempotencyConflict`. Balances are cached on the member row in the same
transaction as the entry that moves them, and :meth:`Ledger.verify_balances` proves
the cache equals ``SUM(points)``.

:class:`Ledger` owns the transactions (one per operation, retried on a duplicate key
where a concurrent twin may have won) and delegates each unit of work to the module
that keeps its invariant: ``members``, ``coupons``, ``pricing``, ``sales``,
``returns``, ``points`` and ``maintenance``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.model import Member as EngineMember
from engine.rules import Settings, Tier
from server.storage import coupons, maintenance, member_data, members, referrals, returns, sales, usage
from server.storage import points as points_ops
from server.storage.coupon_cache import CouponCache
from server.storage.db import ensure_schema, make_engine, make_sessionmaker, reader, snapshot
from server.storage.errors import (
    BudgetExceeded,
    CouponUnavailable,
    IdempotencyConflict,
    InsufficientPoints,
    MemberNotFound,
)
from server.storage.member_cache import MemberCache
from server.storage.pricing import PricingReads, read_for_pricing
from server.storage.results import (
    AdjustResult,
    BalanceMismatch,
    CommitResult,
    CouponOffer,
    CouponStatus,
    MaintenanceReport,
    MemberView,
    RedeemResult,
    ReturnResult,
    SaleToCommit,
)
from server.storage.segments import Progress
from server.storage.tx import in_connection, in_transaction, is_unique_violation
from server.storage.types import utc_now

__all__ = ["Ledger", "PricingReads"]

T = TypeVar("T")


class Ledger:
    """The ledger over a session factory; safe to share between threads (its only state is the
    member and coupon caches scans price with, which every write of this process keeps honest)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utc_now,
        member_cache: MemberCache | None = None,
        coupon_cache: CouponCache | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.member_cache = member_cache if member_cache is not None else MemberCache()
        self.coupon_cache = coupon_cache if coupon_cache is not None else CouponCache()
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
        programme: str | None = None,
        referrer_id: str | None = None,
    ) -> MemberView:
        """Create a member of ``programme``; enrolling again with the same data answers the same,
        different data conflicts. ``referrer_id`` (set only here, once) must be a member of the same
        programme that the new member did not refer (ReferralRefused otherwise)."""
        wanted = members.enrollment(tier, birthday, tags, segment, join_date, programme, referrer_id)
        self.member_cache.forget(member_id)

        def create(session: Session) -> None:
            if referrer_id is not None:
                referrals.check_referrer(session, member_id, referrer_id, programme)
            members.create_member(session, member_id, wanted, self.clock())

        try:
            self._tx(create)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            existing = self.get_member(member_id, recent=0)
            if members.enrolled_as(existing) != wanted:
                raise IdempotencyConflict("member", member_id) from None
            return existing
        return self.get_member(member_id, recent=0)

    def update_member(self, member_id: str, **fields: Any) -> MemberView:
        """Change tags, birthday or segment (member_data.update_member's keywords); the member after."""
        try:
            self._tx(lambda s: member_data.update_member(s, member_id, self.clock(), **fields))
        finally:
            self.member_cache.forget(member_id)
        return self.get_member(member_id, recent=0)

    def change_tier(self, member_id: str, tier: str, reason: str, operator: str) -> MemberView:
        """An admin's audited tier change; the member after."""
        try:
            self._tx(lambda s: member_data.change_tier(s, member_id, tier, reason, operator, self.clock()))
        finally:
            self.member_cache.forget(member_id)
        return self.get_member(member_id, recent=0)

    def erase_member(self, member_id: str, reason: str, operator: str) -> str:
        """Erase the member (PIPL); the anonymous id their ledger rows now carry."""
        try:
            return self._tx(lambda s: member_data.erase_member(s, member_id, reason, operator, self.clock()))
        finally:
            self.member_cache.forget()  # referees' views name the old id as their referrer
            self.coupon_cache.forget()  # and the member's coupons have a new owner

    def get_member(self, member_id: str, recent: int = 20) -> MemberView:
        """The member, their balance and their ``recent`` latest entries (newest first)."""
        return self._tx(lambda s: members.member_view(s, member_id, recent))

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
        self._tx(
            lambda s: coupons.insert_coupon(
                s,
                code,
                definition_id,
                ruleset,
                owner_id=owner_id,
                valid_from=valid_from,
                valid_to=valid_to,
                now=self.clock(),
            )
        )
        self.coupon_cache.forget(code)  # a scan may have found it unknown (a public code) before
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

        return self._tx(lambda s: coupons.lookup_coupons(s, wanted, member_id, on))

    def pricing_reads(
        self,
        member_id: str | None,
        codes: Iterable[str],
        transaction_id: str | None = None,
        *,
        cached: bool = False,
        usage_keys: Sequence[str] | None = None,
    ) -> PricingReads:
        """What pricing a sale reads, in one statement outside any transaction: the member (None: a
        guest or unknown), the presented codes, for a commit the sale already stored under
        ``transaction_id`` (a retry is answered from it without pricing again), and what each
        budget or limit counter in ``usage_keys`` has used.

        No transaction is needed: the commit re-checks every row it changes. ``cached`` (a scan,
        not a commit) answers from the member and coupon caches when they hold everything asked
        for (a guest with no codes reads nothing); every read refreshes them.
        """
        codes = tuple(dict.fromkeys(codes))
        if cached and transaction_id is None and not usage_keys:  # usage is never cached
            view = self.member_cache.get(member_id) if member_id else None
            rows = self.coupon_cache.rows(codes)
            if (view is not None or not member_id) and rows is not None:
                return PricingReads(member_id, view, codes, rows, used={} if usage_keys is not None else None)
        generation = self.member_cache.generation()
        coupon_generation = self.coupon_cache.generation()
        reads = in_connection(
            self._reader, lambda c: read_for_pricing(c, member_id, codes, transaction_id, usage_keys)
        )
        if reads.member is not None:
            self.member_cache.put(reads.member, generation)
        self.coupon_cache.keep_rows(codes, reads.rows, coupon_generation)
        return reads

    def usage_used(self, keys: Sequence[str]) -> dict[str, int]:
        """How much of each budget or limit counter is used (server/storage/usage.py); outside any
        transaction: Commit consumes with conditional writes that re-check."""
        if not keys:
            return {}
        return in_connection(self._reader, lambda c: usage.read_used(c, keys))

    def usage_status(self, prefix: str) -> list[dict[str, Any]]:
        """Every counter whose key starts with ``prefix``: key, used, cap."""
        return self._tx(lambda s: usage.usage_rows(s, prefix))

    # ----------------------------------------------------------------------- sales

    def commit_sale(self, sale: SaleToCommit) -> CommitResult:
        """Post a priced sale in one transaction, or return the original answer for a retry.

        Raises CouponUnavailable, InsufficientPoints, MemberNotFound or MemberTerminated
        (nothing is stored), or IdempotencyConflict when the transaction id was committed with a
        different request.
        """
        try:
            result = self._commit_sale(sale)
        finally:  # committed or not, the member's next scan reads the ledger again, and its coupons
            if sale.member_id is not None:
                self.member_cache.forget(sale.member_id)
            for code in sale.coupon_codes:
                self.coupon_cache.forget(code)
        for referrer in result.referrers:  # their balances moved too
            self.member_cache.forget(referrer)
        return result

    def _commit_sale(self, sale: SaleToCommit) -> CommitResult:
        try:
            try:
                return self._core(lambda c: sales.commit_sale(c, sale, self.clock()))
            except usage.StripeDry:  # rolled back: again, taking from every stripe of the counters
                return self._core(lambda c: sales.commit_sale(c, sale, self.clock(), rebalance=True))
        except IntegrityError as exc:
            replay = self.replay_sale(sale.transaction_id, sale.request_hash)
            if replay is not None:
                return replay
            if sale.member_id is not None and not self._member_exists(sale.member_id):
                raise MemberNotFound(sale.member_id) from exc
            raise
        except (CouponUnavailable, InsufficientPoints, BudgetExceeded):
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
        # A return id racing itself: the retry finds the winner committed, so it replays or conflicts.
        try:
            return self._retry_on_duplicate(
                lambda s: returns.return_lines(s, transaction_id, return_id, quantities, self.clock())
            )
        finally:  # the sale's member is not known here; returns are rare, so forget every member
            self.member_cache.forget()

    # ----------------------------------------------------------------------- points

    def redeem_points_for_coupon(
        self, member_id: str, offer: CouponOffer, idempotency_key: str, *, today: date
    ) -> RedeemResult:
        """Spend the offer's points price and issue one coupon atomically.

        InsufficientPoints if short, MemberTerminated for a terminated member; a retry of a
        purchase made before a termination still gets its coupon back.
        """
        try:
            return self._retry_on_duplicate(
                lambda s: points_ops.redeem_points_for_coupon(
                    s, member_id, offer, idempotency_key, today, self.clock
                )
            )
        finally:
            self.member_cache.forget(member_id)
            self.coupon_cache.forget()  # the coupon bought is new: a scan may have found its code unknown

    def adjust_points(
        self, member_id: str, points: int, reason: str, operator: str, idempotency_key: str
    ) -> AdjustResult:
        """An audited manual correction (who and why are kept); a debit may not overdraw the balance."""
        points_ops.check_adjustment(points, reason, operator)
        try:
            return self._retry_on_duplicate(
                lambda s: points_ops.adjust_points(
                    s, member_id, points, reason, operator, idempotency_key, self.clock
                )
            )
        finally:
            self.member_cache.forget(member_id)

    def _retry_on_duplicate(self, work: Callable[[Session], T]) -> T:
        try:
            return self._tx(work)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return self._tx(work)  # the concurrent twin committed: this run replays it

    def _member_exists(self, member_id: str) -> bool:
        return self._tx(lambda s: members.member_exists(s, member_id))

    # ----------------------------------------------------------------------- housekeeping

    def maintain(
        self,
        as_of: date,
        settings: Settings,
        tiers: tuple[Tier, ...],
        programme: str | None = None,
        progress: Progress | None = None,
    ) -> MaintenanceReport:
        """Expire points, expire coupons and downgrade or terminate inactive members, as of a local day.

        With ``programme``, only that programme's members and coupons (the programme's policy
        must never touch another programme's members). Each member is handled in its own short
        transaction; running again for the same day changes nothing.
        """
        try:
            return maintenance.maintain(
                self.sessions, as_of, settings, tiers, self.clock, programme, progress
            )
        finally:
            self.member_cache.forget()
            self.coupon_cache.forget()  # coupons past their validity expired

    def verify_balances(self) -> list[BalanceMismatch]:
        """Every member whose cached balance differs from the sum of their entries (must be empty)."""
        return self._tx(maintenance.verify_balances)
