"""A till session: one sale's basket kept between the messages of its stream, re-priced on each.

The basket is kept as the EvaluateRequest a unary Evaluate would send, so every check, the
pricing and the commit are the unary calls' own (:class:`~server.sales.desk.SalesDesk`): a
session's commit is the unary Commit of that request, with the same idempotency. A message
is applied to a copy of the basket and the copy is kept only once it priced, so a refused
message changes nothing. :class:`SessionBook` keeps the open sessions of this process by
transaction id, so a till whose stream dropped can resume.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from server._pb.promo.v1 import promo_pb2 as pb
from server.sales.desk import SalesDesk
from server.wire.request import LineMemo, wire_error

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


class TillSession:
    """One sale: its basket (an EvaluateRequest), its pinned ruleset version and the last lines sent."""

    def __init__(self, desk: SalesDesk, compiled: CompiledRuleset, basket: pb.EvaluateRequest) -> None:
        self.desk = desk
        self.compiled = compiled
        self.basket = basket
        self.lock = threading.Lock()  # one message at a time, even when a resumed stream overlaps
        self._sent: dict[str, pb.LineResult] = {}  # the line results the till has, by line id
        self._converted: LineMemo = {}  # a scan converts only the line it changed

    @property
    def transaction_id(self) -> str:
        return self.basket.transaction_id

    def start(self, seq: int) -> pb.SessionReply:
        """Price the basket as opened or resumed: the whole basket."""
        return self._answer(self.basket, seq, whole=True, final=False)

    def apply(self, msg: pb.SessionRequest) -> pb.SessionReply:
        """Apply one message and answer the re-priced basket (or the commit); a refusal changes nothing."""
        action = msg.WhichOneof("action")
        change = _CHANGES.get(action or "")
        if change is None:
            if action == "commit":
                return self.commit(msg)
            if action == "quote":
                return self._answer(self.basket, msg.seq, whole=True, final=msg.quote.final_quote)
            if action in ("open", "resume"):
                raise InvalidRequest(action, "the session is open already: send changes, or commit")
            raise InvalidRequest("action", "is required: one of the SessionRequest actions")
        basket = pb.EvaluateRequest()
        basket.CopyFrom(self.basket)
        change(basket, getattr(msg, action))
        try:
            reply = self._answer(basket, msg.seq, whole=msg.whole_basket, final=False)
        except InvalidRequest as exc:
            line_id = getattr(msg, action).id if action in ("add_line", "change_line") else ""
            raise _named_for(exc, action, basket, line_id) from None
        self.basket = basket
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

    def _answer(self, basket: pb.EvaluateRequest, seq: int, *, whole: bool, final: bool) -> pb.SessionReply:
        if basket.lines:
            full = self.desk.quote(basket, self.compiled, final_quote=final, line_memo=self._converted).reply
        else:  # nothing scanned yet, or every line taken off: nothing to price but the member
            self.desk.check_member(basket)
            full = pb.EvaluateReply(
                ruleset={"name": self.compiled.name, "version": self.compiled.version},
                transaction_id=basket.transaction_id,
            )
            full.ruleset.digest = self.compiled.digest
        now = {line.line_id: line for line in full.lines}
        removed = [line_id for line_id in self._sent if line_id not in now]
        out = pb.SessionReply(seq=seq)
        out.basket.whole = whole
        out.basket.removed_line_ids.extend(removed)
        quote = out.basket.quote
        quote.CopyFrom(full)
        if not whole:
            sent = self._sent
            del quote.lines[:]
            quote.lines.extend(line for line in full.lines if sent.get(line.line_id) != line)
        self._sent = now
        return out


# --------------------------------------------------------------------------- the changes


def _line_index(basket: pb.EvaluateRequest, line_id: str, field: str) -> int:
    for i, line in enumerate(basket.lines):
        if line.id == line_id:
            return i
    ids = ", ".join(repr(line.id) for line in basket.lines) or "none"
    raise InvalidRequest(field, f"no line {line_id!r} in the basket (its lines: {ids})")


def _add_line(basket: pb.EvaluateRequest, line: pb.Line) -> None:
    if not line.id:
        raise InvalidRequest("add_line.id", "is required: the till's id for the line, new in the basket")
    if any(existing.id == line.id for existing in basket.lines):
        raise InvalidRequest("add_line.id", f"the basket has a line {line.id!r} already (use change_line)")
    basket.lines.add().CopyFrom(line)


def _change_line(basket: pb.EvaluateRequest, line: pb.Line) -> None:
    basket.lines[_line_index(basket, line.id, "change_line.id")].CopyFrom(line)


def _remove_line(basket: pb.EvaluateRequest, line_id: str) -> None:
    del basket.lines[_line_index(basket, line_id, "remove_line")]


def _add_coupon(basket: pb.EvaluateRequest, code: str) -> None:
    if not code.strip():
        raise InvalidRequest("add_coupon", "must not be empty")
    if code in basket.coupon_codes:
        raise InvalidRequest("add_coupon", f"coupon {code!r} was presented already in this sale")
    basket.coupon_codes.append(code)


def _remove_coupon(basket: pb.EvaluateRequest, code: str) -> None:
    codes = list(basket.coupon_codes)
    if code not in codes:
        presented = ", ".join(repr(c) for c in codes) or "none"
        raise InvalidRequest("remove_coupon", f"coupon {code!r} was not presented (presented: {presented})")
    codes.remove(code)
    del basket.coupon_codes[:]
    basket.coupon_codes.extend(codes)


def _redeem_points(basket: pb.EvaluateRequest, points: int) -> None:
    if points < 0:
        raise InvalidRequest("redeem_points", f"must not be negative (got {points})")
    basket.redeem_points = points


_CHANGES: dict[str, Callable[[pb.EvaluateRequest, object], None]] = {
    "add_line": _add_line,  # type: ignore[dict-item]
    "change_line": _change_line,  # type: ignore[dict-item]
    "remove_line": _remove_line,  # type: ignore[dict-item]
    "add_coupon": _add_coupon,  # type: ignore[dict-item]
    "remove_coupon": _remove_coupon,  # type: ignore[dict-item]
    "redeem_points": _redeem_points,  # type: ignore[dict-item]
}


def _named_for(exc: InvalidRequest, action: str, basket: pb.EvaluateRequest, line_id: str) -> InvalidRequest:
    """An error about the line this message sent, named by the message's field (``add_line.unit_price_fen``).

    The unary checks name it ``lines[i]...``, but the till sent no ``lines``: it sent ``action``.
    Other errors (the member, points, coupons) keep the unary names.
    """
    wire = wire_error(exc)
    if action in ("add_line", "change_line"):
        i = next(k for k, line in enumerate(basket.lines) if line.id == line_id)
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

    def resume(self, transaction_id: str) -> TillSession:
        with self._lock:
            session = self._sessions.get(transaction_id)
        if session is None:
            raise SessionNotFound(transaction_id)
        return session

    def touch(self, session: TillSession) -> None:
        """Keep ``session`` another ``keep`` seconds from now (unless it was dropped or replaced)."""
        with self._lock:
            if self._sessions.get(session.transaction_id) is session:
                self._sessions[session.transaction_id] = session

    def drop(self, transaction_id: str) -> None:
        """Forget the session of a committed sale (by the stream or by the unary Commit)."""
        with self._lock:
            self._sessions.pop(transaction_id, None)

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
