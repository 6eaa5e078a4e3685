"""A till session: one sale's basket kept between the messages of its stream, re-priced on each.

The basket is kept twice: as the EvaluateRequest a unary Evaluate would send (the session's
commit is the unary Commit of that request, with the same idempotency), and as the engine's
values (its lines, time, coupons), so a scan converts only the line it carries and prices the
rest as kept: no protobuf copy of the basket, no re-conversion, and the member converted once
per ledger read (the member and coupon caches make that once per sale). A message is applied
only once it priced, so a refused message changes nothing; the reply carries only the lines
whose result changed unless the till asks for the whole basket. :class:`SessionBook` keeps the
open sessions of this process by transaction id, so a till whose stream dropped can resume.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from engine.invoice.build import Invoice
from engine.model import Evaluation, Line, LineOutcome, Member, Request
from server._pb.promo.v1 import promo_pb2 as pb
from server.sales.buyer import check_ledger_member, present_coupons
from server.sales.desk import SalesDesk
from server.sales.pricing import price
from server.sales.session_reads import KeptReads
from server.storage.errors import MemberNotFound
from server.storage.results import MemberView
from server.wire.bounds import MAX_COUPON_CODES, MAX_LINES, check_coupon_code, check_redeem_points, check_text
from server.wire.ledger import PresentedCoupons
from server.wire.reply import evaluation_to_proto
from server.wire.request import (
    basket_from_proto,
    line_from_proto,
    member_from_proto,
    precheck,
    wire_error,
)

__all__ = ["KEEP_S", "MAX_SESSIONS", "SessionBook", "SessionNotFound", "TillSession", "TooManySessions"]

KEEP_S = 30 * 60.0
"""A session is kept this long after its last message (a till's stream may drop mid-sale)."""
MAX_SESSIONS = 64
"""Open sessions per process: each open stream holds a server thread (sync gRPC), so this is bounded."""


class SessionNotFound(Exception):
    """``resume`` of a sale this process keeps no session for."""

    def __init__(self, transaction_id: str) -> None:
        super().__init__(
            f"no open session for sale {transaction_id!r} on this server (expired, committed, or "
            "opened on another server process): open it again with the whole basket, or Commit it"
        )


class TooManySessions(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"this server already has {limit} open till sessions; retry shortly")


@dataclass(frozen=True, slots=True)
class _State:
    """The basket as the engine prices it, apart from the member (the ledger's, read per scan)."""

    lines: tuple[Line, ...]
    coupons: tuple[str, ...]
    redeem_points: int


_Keep = Callable[[pb.EvaluateRequest], None]
"""How a change is written into the kept EvaluateRequest once it priced."""


class TillSession:
    """One sale: its basket (an EvaluateRequest and the engine's values), its pinned ruleset version
    and the line results the till has."""

    def __init__(self, desk: SalesDesk, compiled: CompiledRuleset, basket: pb.EvaluateRequest) -> None:
        self.desk = desk
        self.compiled = compiled
        self.basket = basket
        self.lock = threading.Lock()  # one message at a time, even when a resumed stream overlaps
        precheck(basket)  # before any ledger read, as Evaluate does
        opened = basket_from_proto(basket, member=None)  # the member is priced per scan
        self._state = _State(opened.lines, opened.coupons, opened.redeem_points)
        self._opened = opened  # its time, store and channel price every scan
        self._member_id = basket.member.id if basket.HasField("member") and basket.member.id else None
        self._inline: Member | None = None  # the till's member, for a member the ledger does not know
        self._sent: dict[str, LineOutcome] = {}  # the line results the till has, by line id
        self._reads = KeptReads(desk.ledger)  # the member and codes as last read, while nothing wrote

    @property
    def transaction_id(self) -> str:
        return self.basket.transaction_id

    def start(self, seq: int) -> pb.SessionReply:
        """Price the basket as opened or resumed: the whole basket."""
        return self._answer(self._state, seq, whole=True, final=False)

    def apply(self, msg: pb.SessionRequest) -> pb.SessionReply:
        """Apply one message and answer the re-priced basket (or the commit); a refusal changes nothing."""
        action = msg.WhichOneof("action") or ""
        change = _CHANGES.get(action)
        if change is None:
            if action == "commit":
                return self.commit(msg)
            if action == "quote":
                return self._answer(self._state, msg.seq, whole=True, final=msg.quote.final_quote)
            if action in ("open", "resume"):
                raise InvalidRequest(action, "the session is open already: send changes, or commit")
            raise InvalidRequest("action", "is required: one of the SessionRequest actions")
        value = getattr(msg, action)
        state, keep = change(self._state, value)
        try:
            reply = self._answer(state, msg.seq, whole=msg.whole_basket, final=False)
        except InvalidRequest as exc:
            raise _named_for(exc, action, state, value) from None
        keep(self.basket)
        self._state = state
        return reply

    def commit(self, msg: pb.SessionRequest) -> pb.SessionReply:
        """Commit the basket as the unary Commit would (same request, so the same idempotency)."""
        request = pb.CommitRequest(
            transaction_id=self.transaction_id,
            request=self.basket,
            displayed_payable_fen=msg.commit.displayed_payable_fen,
            ruleset_version=self.compiled.version,
        )
        return pb.SessionReply(seq=msg.seq, committed=self.desk.commit(request))

    # ------------------------------------------------------------------ pricing

    def _answer(self, state: _State, seq: int, *, whole: bool, final: bool) -> pb.SessionReply:
        """The reply for ``state`` priced; the line results sent become the till's."""
        priced = self._price(state, final)
        out = pb.SessionReply(seq=seq)
        basket = out.basket
        basket.whole = whole
        quote = basket.quote
        compiled = self.compiled
        if priced is None:  # nothing scanned yet, or every line taken off: nothing to price but the member
            quote.ruleset.name, quote.ruleset.version = compiled.name, compiled.version
            quote.ruleset.digest = compiled.digest
            quote.transaction_id = self.transaction_id
            now: dict[str, LineOutcome] = {}
        else:
            evaluation, invoices, presented = priced
            sent = self._sent
            evaluation_to_proto(
                evaluation,
                invoices,
                digest=compiled.digest,
                transaction_id=self.transaction_id,
                explain=self.basket.explain,
                only=None if whole else (lambda outcome: sent.get(outcome.line_id) != outcome),
                into=quote,
            )
            quote.drafts_applied = compiled.applies_drafts
            presented.relabel(quote)
            now = {outcome.line_id: outcome for outcome in evaluation.lines}
        if not now.keys() >= self._sent.keys():  # a set test in C; most scans remove nothing
            basket.removed_line_ids.extend(line_id for line_id in self._sent if line_id not in now)
        self._sent = now
        return out

    def _price(
        self, state: _State, final: bool
    ) -> tuple[Evaluation, tuple[Invoice, ...] | None, PresentedCoupons] | None:
        """Evaluate ``state`` with the member and coupons as the ledger knows them (None: no lines);
        what :meth:`SalesDesk.quote` does, on the kept engine values."""
        desk, compiled = self.desk, self.compiled
        reads = self._reads.get(self._member_id, state.coupons)
        member = self._member_for(reads.member)
        if not state.lines:
            return None
        opened = self._opened
        request = Request(
            state.lines, opened.at, member, state.coupons, state.redeem_points, opened.store, opened.channel
        )
        request, _ = desk.within_budgets(request, compiled, self._member_id if reads.member else None)
        request, presented = present_coupons(request, reads, compiled)
        _, evaluation, invoices = price(compiled, request, desk.evaluate, with_invoice=final)
        return evaluation, invoices, presented

    def _member_for(self, view: MemberView | None) -> Member | None:
        """The engine's member: the ledger's (converted once per view read), the till's inline one for a
        member the ledger does not know (a till written before the ledger), or None for a guest."""
        member_id = self._member_id
        if member_id is None:
            return None
        if view is None:
            if not self.basket.member.tier:
                raise MemberNotFound(member_id)
            if self._inline is None:
                self._inline = member_from_proto(self.basket.member)
            return self._inline
        check_ledger_member(view, self.compiled)
        return self.desk.members.engine_member(view, self.compiled.zone)


# --------------------------------------------------------------------------- the changes


def _line_index(state: _State, line_id: str, field: str) -> int:
    for i, line in enumerate(state.lines):
        if line.id == line_id:
            return i
    ids = ", ".join(repr(line.id) for line in state.lines) or "none"
    raise InvalidRequest(field, f"no line {line_id!r} in the basket (its lines: {ids})")


def _add_line(state: _State, line: pb.Line) -> tuple[_State, _Keep]:
    if not line.id:
        raise InvalidRequest("add_line.id", "is required: the till's id for the line, new in the basket")
    if any(existing.id == line.id for existing in state.lines):
        raise InvalidRequest("add_line.id", f"the basket has a line {line.id!r} already (use change_line)")
    if len(state.lines) >= MAX_LINES:
        raise InvalidRequest(
            "add_line", f"the basket has {MAX_LINES} lines already, the most a sale may have"
        )
    converted = _converted(line, len(state.lines), "add_line")

    def keep(basket: pb.EvaluateRequest) -> None:
        basket.lines.add().CopyFrom(line)

    return _State((*state.lines, converted), state.coupons, state.redeem_points), keep


def _change_line(state: _State, line: pb.Line) -> tuple[_State, _Keep]:
    i = _line_index(state, line.id, "change_line.id")
    lines = list(state.lines)
    lines[i] = _converted(line, i, "change_line")
    return _State(tuple(lines), state.coupons, state.redeem_points), lambda b: b.lines[i].CopyFrom(line)


def _remove_line(state: _State, line_id: str) -> tuple[_State, _Keep]:
    i = _line_index(state, line_id, "remove_line")

    def keep(basket: pb.EvaluateRequest) -> None:
        del basket.lines[i]

    return _State(state.lines[:i] + state.lines[i + 1 :], state.coupons, state.redeem_points), keep


def _add_coupon(state: _State, code: str) -> tuple[_State, _Keep]:
    check_coupon_code(code, "add_coupon")
    if code in state.coupons:
        raise InvalidRequest("add_coupon", f"coupon {code!r} was presented already in this sale")
    if len(state.coupons) >= MAX_COUPON_CODES:
        raise InvalidRequest("add_coupon", f"at most {MAX_COUPON_CODES} codes in a sale")

    def keep(basket: pb.EvaluateRequest) -> None:
        basket.coupon_codes.append(code)

    return _State(state.lines, (*state.coupons, code), state.redeem_points), keep


def _remove_coupon(state: _State, code: str) -> tuple[_State, _Keep]:
    check_text(code, "remove_coupon")
    if code not in state.coupons:
        presented = ", ".join(repr(c) for c in state.coupons) or "none"
        raise InvalidRequest("remove_coupon", f"coupon {code!r} was not presented (presented: {presented})")
    codes = list(state.coupons)
    codes.remove(code)

    def keep(basket: pb.EvaluateRequest) -> None:
        del basket.coupon_codes[:]
        basket.coupon_codes.extend(codes)

    return _State(state.lines, tuple(codes), state.redeem_points), keep


def _redeem_points(state: _State, points: int) -> tuple[_State, _Keep]:
    check_redeem_points(points, "redeem_points")

    def keep(basket: pb.EvaluateRequest) -> None:
        basket.redeem_points = points

    return _State(state.lines, state.coupons, points), keep


_CHANGES: dict[str, Callable[[_State, object], tuple[_State, _Keep]]] = {
    "add_line": _add_line,  # type: ignore[dict-item]
    "change_line": _change_line,  # type: ignore[dict-item]
    "remove_line": _remove_line,  # type: ignore[dict-item]
    "add_coupon": _add_coupon,  # type: ignore[dict-item]
    "remove_coupon": _remove_coupon,  # type: ignore[dict-item]
    "redeem_points": _redeem_points,  # type: ignore[dict-item]
}


def _converted(line: pb.Line, i: int, action: str) -> Line:
    """The engine's line for a line message, its errors named by the message's field."""
    try:
        return line_from_proto(line, i)
    except InvalidRequest as exc:
        raise _renamed(exc, i, action) from None


def _named_for(exc: InvalidRequest, action: str, state: _State, value: object) -> InvalidRequest:
    """An error about the line this message sent, named by the message's field (``add_line.unit_price_fen``).

    The engine's checks name it ``lines[i]...``, but the till sent no ``lines``: it sent ``action``.
    Other errors (the member, points, coupons) keep the unary names.
    """
    if action in ("add_line", "change_line"):
        line_id = value.id  # type: ignore[attr-defined]
        i = next(k for k, line in enumerate(state.lines) if line.id == line_id)
        return _renamed(exc, i, action)
    return wire_error(exc)


def _renamed(exc: InvalidRequest, i: int, action: str) -> InvalidRequest:
    wire = wire_error(exc)
    prefix = f"lines[{i}]"
    if wire.field == prefix or wire.field.startswith((prefix + ".", prefix + "[")):
        return InvalidRequest(action + wire.field[len(prefix) :], wire.message)
    return wire


# --------------------------------------------------------------------------- the open sessions


class SessionBook:
    """This process's open sessions by transaction id; each kept ``keep`` seconds after its last use."""

    def __init__(
        self, limit: int = MAX_SESSIONS, keep: float = KEEP_S, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._sessions: TTLCache[str, TillSession] = TTLCache(maxsize=limit, ttl=keep, timer=timer)
        self._lock = threading.Lock()
        self._timer = timer
        self._touched: dict[str, float] = {}  # when each session's keep was last renewed

    def open(self, desk: SalesDesk, basket: pb.EvaluateRequest) -> TillSession:
        """A new session for ``basket`` (an EvaluateRequest with the sale's transaction_id and ruleset),
        not kept yet: :meth:`keep` it once its first answer priced."""
        if not basket.transaction_id:
            raise InvalidRequest("open.transaction_id", "is required: the sale's id (to resume and commit)")
        if not basket.ruleset:
            raise InvalidRequest("open.ruleset", "is required: the name of a loaded ruleset")
        with self._lock:
            self._sessions.expire()
            if basket.transaction_id not in self._sessions and len(self._sessions) >= self.limit:
                raise TooManySessions(self.limit)
        compiled = desk.registry.get(basket.ruleset, basket.ruleset_version or None)
        return TillSession(desk, compiled, _opened(basket))

    def keep(self, session: TillSession) -> None:
        """Keep ``session`` (opening a sale again replaces the session kept for it)."""
        with self._lock:
            self._sessions[session.transaction_id] = session
            self._touched[session.transaction_id] = self._timer()
            if len(self._touched) > 2 * self.limit:  # forget the sales that expired without a commit
                self._touched = {k: v for k, v in self._touched.items() if k in self._sessions}

    def resume(self, transaction_id: str) -> TillSession:
        with self._lock:
            session = self._sessions.get(transaction_id)
        if session is None:
            raise SessionNotFound(transaction_id)
        return session

    def touch(self, session: TillSession) -> None:
        """Keep ``session`` another ``keep`` seconds from now (unless it was dropped or replaced); at most
        once a second, since a TTLCache write costs about as much as the rest of a scan's plumbing."""
        now = self._timer()
        if now - self._touched.get(session.transaction_id, -1.0) < 1.0:
            return
        self._touched[session.transaction_id] = now
        with self._lock:
            if self._sessions.get(session.transaction_id) is session:
                self._sessions[session.transaction_id] = session

    def drop(self, transaction_id: str) -> None:
        """Forget the session of a committed sale (by the stream or by the unary Commit)."""
        with self._lock:
            self._sessions.pop(transaction_id, None)
            self._touched.pop(transaction_id, None)

    def __len__(self) -> int:
        with self._lock:
            self._sessions.expire()
            return len(self._sessions)


def _opened(basket: pb.EvaluateRequest) -> pb.EvaluateRequest:
    """The basket as the session keeps it: what a unary Commit of the sale would send."""
    kept = pb.EvaluateRequest()
    kept.CopyFrom(basket)
    kept.final_quote = False  # per reply, not per sale (SessionQuote)
    return kept
