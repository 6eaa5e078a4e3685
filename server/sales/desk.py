"""The till's ledger calls between the wire and the ledger: quote, commit, return, buy a coupon.

A commit is priced again here, never trusted from the till: the quoted ruleset
version re-evaluates the basket with the member and coupons as the ledger knows
them, and only a payable equal to the one displayed reaches
:meth:`Ledger.commit_sale` (one database transaction). The ledger read that starts
it (:meth:`Ledger.pricing_reads`, one statement) also finds a sale already stored
under the transaction id, so a till's retry is answered without pricing again. What is stored with the
sale is the *effective* request (the ledger's member attributes, coupon codes as
the definitions the engine priced) plus how each presented code resolved, so
:func:`server.sales.stored.reprice` reproduces the stored reply byte for byte, which is what ``promo
audit verify`` checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from google.protobuf import json_format

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from engine.invoice.build import Invoice
from engine.model import Evaluation, Request
from server._pb.promo.v1 import promo_pb2 as pb
from server.rulesets.registry import RulesetRegistry, UnknownRuleset
from server.rulesets.sources import SourceBook
from server.sales import members
from server.sales.budgets import BudgetPlan, Counter, budget_plan
from server.sales.buyer import check_ledger_member, present_coupons
from server.sales.errors import PayableMismatch
from server.sales.member_memo import EngineMembers
from server.sales.pricing import Evaluator, default_evaluate, price
from server.sales.stored import compact_json, reply_of, stored_reply, stored_request_json
from server.storage.errors import (
    BudgetExceeded,
    CouponUnavailable,
    MemberNotFound,
    MemberOfAnotherProgramme,
    MemberTerminated,
)
from server.storage.pricing import PricingReads
from server.storage.results import (
    MemberView,
    RedeemResult,
    RulesetRef,
    SaleToCommit,
)
from server.storage.store import Ledger
from server.wire.ledger import (
    PresentedCoupons,
    commit_request_hash,
    commit_to_proto,
    required,
    with_member,
)
from server.wire.reply import invoice_to_proto
from server.wire.request import parse_time, precheck, request_from_proto

__all__ = ["MAX_CLOCK_SKEW", "Priced", "SalesDesk"]

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock a committed sale's time may be (a till's clock drifts a little;
a sale dated years ahead would move the member's last purchase into the future)."""


@dataclass(frozen=True, slots=True)
class Priced:
    """A basket priced against the ledger: the effective request, the engine's answer and the reply."""

    compiled: CompiledRuleset
    effective: pb.EvaluateRequest | None  # what a commit stores (None for a quote: not built)
    basket: Request
    evaluation: Evaluation
    invoices: tuple[Invoice, ...] | None  # None: a scan that did not ask for them (a commit always has them)
    reply: pb.EvaluateReply
    presented: PresentedCoupons
    spent: tuple[str, ...]  # ledger codes that took effect (a commit spends them)
    member_id: str | None
    counters: tuple[Counter, ...] = ()  # the budget and limit counters it was priced within


def _member_id(msg: pb.EvaluateRequest) -> str | None:
    return msg.member.id if msg.HasField("member") and msg.member.id else None


def _usage_keys(msg: pb.EvaluateRequest, compiled: CompiledRuleset) -> list[str] | None:
    """The budget and limit counters pricing ``msg`` may touch (the member's limits too, in case the
    ledger knows the member), so the pricing read reads them; None when the version has none."""
    plan = budget_plan(compiled)
    if not plan.active:
        return None
    day = parse_time(msg.time).astimezone(compiled.zone).date()
    return [c.key for c in plan.counters(_member_id(msg), day)]


@dataclass(frozen=True, slots=True)
class _Key:
    """What identifies a commit: the till's transaction id and the hash of its request."""

    transaction_id: str
    request_hash: str


class SalesDesk:
    """The ledger-side work of the service's RPCs; stateless apart from the source book's cache."""

    def __init__(
        self,
        ledger: Ledger,
        registry: RulesetRegistry,
        evaluate: Evaluator = default_evaluate,
        max_clock_skew: timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self.max_clock_skew = max_clock_skew
        self.ledger = ledger
        self.registry = registry
        self.evaluate = evaluate
        self.sources = SourceBook(ledger)
        self.members = EngineMembers()

    # ------------------------------------------------------------------ Evaluate

    def quote(
        self,
        msg: pb.EvaluateRequest,
        compiled: CompiledRuleset,
        transaction_id: str = "",
        *,
        strict: bool = False,
        final_quote: bool | None = None,
    ) -> Priced:
        """Price ``msg`` with the member and the coupon codes as the ledger knows them (no side effect).

        A member id the ledger does not know is NOT_FOUND, unless the till sent the member's
        attributes inline (a tier) and this is not a commit (``strict``): a till written before
        the ledger existed keeps working. A terminated member is MemberTerminated: pricing them
        as a member would quote points and member prices the commit then refuses. The invoice is
        built only for a final quote (``msg.final_quote``, unless ``final_quote`` says otherwise).
        The member may come from the ledger's member cache (read once per sale, not per scan); a
        commit always reads afresh.
        """
        precheck(msg)
        reads = self.ledger.pricing_reads(
            _member_id(msg), msg.coupon_codes, cached=not strict, usage_keys=_usage_keys(msg, compiled)
        )
        with_invoice = msg.final_quote if final_quote is None else final_quote
        return self._price(msg, reads, compiled, transaction_id, strict=strict, with_invoice=with_invoice)

    def _price(
        self,
        msg: pb.EvaluateRequest,
        reads: PricingReads,
        compiled: CompiledRuleset,
        transaction_id: str,
        *,
        strict: bool,
        with_invoice: bool,
    ) -> Priced:
        """:meth:`quote` once the ledger has been read."""
        member_id = reads.member_id
        view = reads.member if member_id is not None else None
        if member_id is not None:
            if view is not None:
                check_ledger_member(view, compiled)
            elif strict or not msg.member.tier:
                raise MemberNotFound(member_id)
        if view is not None:  # the ledger's attributes, not the till's
            basket = request_from_proto(msg, member=self.members.engine_member(view, compiled.zone))
        else:
            basket = request_from_proto(msg)
        basket, counters = self.within_budgets(
            basket, compiled, member_id if view is not None else None, reads.used
        )
        basket, presented = present_coupons(basket, reads, compiled)
        effective = None
        if strict:  # a commit stores it: the ledger's member attributes, the codes as the engine priced them
            known = with_member(msg, view, compiled.zone) if view is not None else msg
            effective = _effective(known, presented, compiled, transaction_id)
        _, evaluation, invoices = price(compiled, basket, self.evaluate, with_invoice=with_invoice)
        reply, spent = reply_of(
            compiled, evaluation, invoices, presented, transaction_id or msg.transaction_id, msg.explain
        )
        return Priced(
            compiled, effective, basket, evaluation, invoices, reply, presented, spent, member_id, counters
        )

    def within_budgets(
        self,
        basket: Request,
        compiled: CompiledRuleset,
        member_id: str | None,
        read: Mapping[str, int] | None = None,
    ) -> tuple[Request, tuple[Counter, ...]]:
        """``basket`` priced within what its budgets and limits have left (the commit's conditional
        writes re-check), and their counters; unchanged when the ruleset has none. ``read`` is the
        usage the pricing read already fetched; a counter it lacks is read now."""
        plan = budget_plan(compiled)
        if not plan.active:
            return basket, ()
        day = basket.at.astimezone(compiled.zone).date()
        counters = tuple(plan.counters(member_id, day))
        keys = [c.key for c in counters]
        used = read if read is not None and all(key in read for key in keys) else self.ledger.usage_used(keys)
        return dataclasses.replace(basket, usage=plan.usage_left(list(counters), used)), counters

    # ------------------------------------------------------------------ Commit

    def commit(self, msg: pb.CommitRequest) -> pb.CommitReply:
        tid = required(msg.transaction_id, "transaction_id", "the till's id for the sale")
        if not msg.HasField("request"):
            raise InvalidRequest("request", "is required: the basket as it was priced by Evaluate")
        if msg.request.transaction_id and msg.request.transaction_id != tid:
            raise InvalidRequest(
                "request.transaction_id",
                f"must be empty or equal transaction_id {tid!r}, not {msg.request.transaction_id!r}",
            )
        version = required(
            msg.ruleset_version,
            "ruleset_version",
            "the version the customer was quoted (EvaluateReply.ruleset)",
        )
        if msg.request.ruleset_version and msg.request.ruleset_version != version:
            raise InvalidRequest(
                "request.ruleset_version", f"must be empty or equal ruleset_version {version!r}"
            )
        if msg.displayed_payable_fen < 0:
            raise InvalidRequest(
                "displayed_payable_fen", f"must not be negative (got {msg.displayed_payable_fen})"
            )
        key = _Key(tid, commit_request_hash(msg))
        # The pricing read also finds a sale stored under tid, so a retry replays before it is priced
        # (its coupon may be spent by now, its ruleset version evicted...). A retry racing its first
        # attempt replays inside Ledger.commit_sale (the sale INSERT meets its twin), or below, once
        # pricing it failed.
        if not msg.request.ruleset:
            raise InvalidRequest(
                "request.ruleset", "is required: the name of the ruleset that priced the sale"
            )
        if msg.request.drafts:
            raise InvalidRequest("request.drafts", "must be false: a sale never applies draft campaigns")
        if msg.request.HasField("member") and not msg.request.member.id:
            raise InvalidRequest(
                "request.member.id", "is required to commit a member's sale (the member's ledger id)"
            )
        try:
            precheck(msg.request)
        except InvalidRequest as exc:
            raise InvalidRequest(f"request.{exc.field}", exc.message) from None
        try:  # the counters the sale may touch are read with the rest (the version is checked below)
            keys = _usage_keys(msg.request, self.registry.get(msg.request.ruleset, version))
        except (UnknownRuleset, InvalidRequest):
            keys = None
        reads = self.ledger.pricing_reads(
            _member_id(msg.request), msg.request.coupon_codes, tid, usage_keys=keys
        )
        prior = reads.replay(key.request_hash)  # a retry: answered as stored, not priced again
        if prior is not None:
            return commit_to_proto(prior, stored_reply(prior))
        try:
            self._check_clock(msg.request.time)
            compiled = self.registry.get(msg.request.ruleset, version)
            priced = self._price(msg.request, reads, compiled, tid, strict=True, with_invoice=True)
            if priced.evaluation.payable != msg.displayed_payable_fen:
                for note in priced.evaluation.notes:  # a budget another till used since the quote
                    raise BudgetExceeded(_source_name(note.source), f" ({note.reason})")
                _refused_coupon(priced.presented)
                raise PayableMismatch(msg.displayed_payable_fen, priced.evaluation.payable, compiled.version)
        except (
            InvalidRequest,
            UnknownRuleset,
            MemberNotFound,
            MemberTerminated,
            MemberOfAnotherProgramme,
            PayableMismatch,
            CouponUnavailable,
            BudgetExceeded,
        ) as exc:
            # A retry whose first attempt committed after the read above, when all of this still held.
            prior = self.ledger.replay_sale(key.transaction_id, key.request_hash)
            if prior is not None:
                return commit_to_proto(prior, stored_reply(prior))
            if isinstance(exc, InvalidRequest) and not exc.field.startswith("request."):
                raise InvalidRequest(f"request.{exc.field}", exc.message) from None
            raise
        self.sources.remember(compiled)
        result = self.ledger.commit_sale(self._sale(key, priced))
        if result.replayed:
            return commit_to_proto(result, stored_reply(result))
        return commit_to_proto(result, priced.reply)

    def _check_clock(self, time: str) -> None:
        """InvalidRequest when the sale is dated further ahead of our clock than the skew allows."""
        ahead = parse_time(time) - self.ledger.clock()
        if ahead > self.max_clock_skew:
            minutes = int(self.max_clock_skew.total_seconds() // 60)
            raise InvalidRequest(
                "time",
                f"is {_span(ahead)} ahead of the server's clock; a sale may be at most {minutes} minutes "
                "ahead (check the till's clock)",
            )

    def _sale(self, key: _Key, priced: Priced) -> SaleToCommit:
        compiled, basket = priced.compiled, priced.basket
        zone = ZoneInfo(compiled.ruleset.settings.timezone)
        invoices = priced.invoices
        assert invoices is not None  # a commit always builds its invoices
        assert priced.effective is not None  # and the request it stores
        result = json_format.MessageToDict(priced.reply)
        if priced.reply.invoices:  # the reply carries the invoices: convert them once, not twice
            invoice_data = result["invoices"]
        else:
            invoice_data = [
                json_format.MessageToDict(invoice_to_proto(i, n)) for n, i in enumerate(invoices, 1)
            ]
        return SaleToCommit(
            transaction_id=key.transaction_id,
            request_hash=key.request_hash,
            request_json=stored_request_json(priced.effective, priced.presented, priced.basket.usage),
            ruleset=RulesetRef(compiled.name, compiled.version, compiled.digest),
            request=basket,
            evaluation=priced.evaluation,
            invoices=tuple(invoice for invoice in invoices if invoice.issued),
            invoice_json=compact_json(invoice_data),
            result_json=compact_json(result),
            sold_at=basket.at,
            local_date=basket.at.astimezone(zone).date(),
            member_id=priced.member_id,
            coupon_codes=priced.spent,
            tiers=compiled.ruleset.tiers,
            points_expire_days=compiled.ruleset.settings.points_expire_days,
            referral=compiled.ruleset.settings.referral,
            points_pending_days=compiled.ruleset.settings.points_pending_days,
            usage=BudgetPlan.takes(list(priced.counters), priced.evaluation) if priced.counters else (),
        )

    # ------------------------------------------------------------------ RedeemPoints

    def enroll(self, msg: pb.EnrollMemberRequest) -> MemberView:
        return members.enroll(self.registry, self.ledger, msg)

    def redeem(self, msg: pb.RedeemPointsRequest, now: datetime) -> RedeemResult:
        return members.redeem(self.registry, self.ledger, msg, now)


def _effective(
    msg: pb.EvaluateRequest, presented: PresentedCoupons, compiled: CompiledRuleset, transaction_id: str
) -> pb.EvaluateRequest:
    effective = pb.EvaluateRequest()
    effective.CopyFrom(msg)
    del effective.coupon_codes[:]
    effective.coupon_codes.extend(presented.engine_codes)
    effective.ruleset_version = compiled.version
    if transaction_id:
        effective.transaction_id = transaction_id
    return effective


def _refused_coupon(presented: PresentedCoupons) -> None:
    """A payable that differs because a presented ledger coupon can no longer be spent says which
    coupon and why, not only the two amounts (CouponUnavailable)."""
    for coupon in presented.coupons:
        if coupon.ledger and coupon.problem is not None:
            raise CouponUnavailable(coupon.code, coupon.problem)  # type: ignore[arg-type]


def _span(delta: timedelta) -> str:
    if delta.days >= 2:
        return f"{delta.days} days"
    return f"{int(delta.total_seconds() // 60)} minutes"


def _source_name(source: str) -> str:
    return f"coupon '{source[7:]}'" if source.startswith("coupon:") else f"rule '{source}'"
