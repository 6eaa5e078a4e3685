"""Promotions.TillSession: one bidirectional stream per sale (the protocol is in the .proto).

This module is the stream's plumbing only: the first message opens or resumes a session,
every later one is applied by :class:`server.sales.session.TillSession` under the session's
lock and answered in order, and a commit ends the stream. A refused message is answered
with a ``SessionError`` (the status a unary call would have got) and the stream goes on;
the stream is ended with a status only when there is no session to keep, or on a fault of
ours. Opening, resuming, quoting, committing and every refusal log one JSON line each, as a unary
call does; the scans in between (add, change, remove...) log at DEBUG only, since a line at INFO
cost about a quarter of a scan, and the stream's end logs one line that counts them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import grpc

from engine.errors import InvalidRequest
from server._pb.promo.v1 import promo_pb2 as pb
from server.rpc.logs import mask_member
from server.rpc.status import Status, status_for
from server.sales.desk import SalesDesk
from server.sales.session import SessionBook, SessionNotFound, TillSession, TooManySessions

__all__ = ["serve_session", "session_status"]

REQUEST_ID_HEADER = "x-request-id"


class NotOpened(Exception):
    """The first message of a stream was neither ``open`` nor ``resume``."""


def serve_session(
    desk: SalesDesk,
    book: SessionBook,
    gate: AbstractContextManager[Any],
    log: Any,
    requests: Iterable[pb.SessionRequest],
    context: grpc.ServicerContext,
) -> Iterator[pb.SessionReply]:
    """Answer each message of one stream, in order; the generator the servicer returns."""
    stream_id = _stream_id(context)
    tally = _Tally()
    try:
        yield from _answers(desk, book, gate, log, requests, context, stream_id, tally)
    finally:  # also when the till's stream drops or is cancelled
        if tally.messages:
            log.info(
                "session_end",
                method="TillSession",
                request_id=stream_id,
                transaction_id=tally.transaction_id,
                messages=tally.messages,
                quiet=tally.quiet,
                handler_us=tally.handler_ns // 1000,
            )


class _Tally:
    """What a stream's end reports: messages answered, how many logged only at DEBUG, handler time."""

    def __init__(self) -> None:
        self.messages = self.quiet = self.handler_ns = 0
        self.transaction_id = ""


_QUIET = frozenset({"add_line", "change_line", "remove_line", "add_coupon", "remove_coupon", "redeem_points"})
"""Actions whose answered messages log at DEBUG (a scan); the rest log at INFO."""


def _answers(
    desk: SalesDesk,
    book: SessionBook,
    gate: AbstractContextManager[Any],
    log: Any,
    requests: Iterable[pb.SessionRequest],
    context: grpc.ServicerContext,
    stream_id: str,
    tally: _Tally,
) -> Iterator[pb.SessionReply]:
    session: TillSession | None = None
    for msg in requests:
        started = time.perf_counter_ns()
        action = msg.WhichOneof("action") or ""
        reply: pb.SessionReply | None = None
        failure: Exception | None = None
        try:
            with gate:  # the unary calls' gate: the stream waits for its next message outside it
                if session is None:
                    started_session = _start(desk, book, msg, action)
                    reply = started_session.start(msg.seq)
                    book.keep(started_session)  # only once it priced: a failed open keeps nothing
                    session = started_session
                else:
                    with session.lock:
                        reply = session.apply(msg)
                    book.touch(session)
        except Exception as exc:
            failure = exc
        status = session_status(failure, stream_id) if failure is not None else None
        tally.messages += 1
        tally.handler_ns += time.perf_counter_ns() - started
        if session is not None:
            tally.transaction_id = session.transaction_id
        if status is None and action in _QUIET:
            tally.quiet += 1
            log.debug("rpc", method="TillSession", action=action, request_id=stream_id)
        else:
            _log(log, action, status, started, stream_id, session, failure, msg)
        if status is not None:
            if session is None or status.internal:  # nothing to keep, or ours: end the stream
                context.abort(status.code, status.details)
            reply = pb.SessionReply(
                seq=msg.seq, error=pb.SessionError(code=status.code.name, details=status.details)
            )
        yield reply
        if reply.HasField("committed"):
            book.drop(session.transaction_id)  # type: ignore[union-attr]
            return


def _start(desk: SalesDesk, book: SessionBook, msg: pb.SessionRequest, action: str) -> TillSession:
    if action == "open":
        return book.open(desk, msg.open)
    if action == "resume":
        if not msg.resume:
            raise InvalidRequest("resume", "is required: the transaction_id of the sale to resume")
        return book.resume(msg.resume)
    raise NotOpened(action)


def session_status(exc: BaseException, request_id: str) -> Status:
    """status_for plus the session's own refusals."""
    match exc:
        case NotOpened():
            details = f"the first message of a session must be open or resume, not {str(exc) or 'empty'}"
            return Status(grpc.StatusCode.FAILED_PRECONDITION, details)
        case SessionNotFound():
            return Status(grpc.StatusCode.NOT_FOUND, f"resume: {exc}")
        case TooManySessions():
            return Status(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
    return status_for(exc, request_id)


def _stream_id(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and value:
            return str(value)[:128]
    return uuid.uuid4().hex


def _log(
    log: Any,
    action: str,
    status: Status | None,
    started: int,
    stream_id: str,
    session: TillSession | None,
    failure: Exception | None,
    msg: pb.SessionRequest,
) -> None:
    basket = session.basket if session is not None else msg.open
    line = {
        "method": "TillSession",
        "action": action,
        "status": "OK" if status is None else status.code.name,
        "latency_us": (time.perf_counter_ns() - started) // 1000,
        "request_id": stream_id,
        "transaction_id": basket.transaction_id,
        "ruleset": basket.ruleset,
        "lines": len(basket.lines),
        "member": mask_member(basket.member.id),
    }
    if status is None:
        log.info("rpc", **line)
    elif status.internal:
        log.error("rpc", **line, error=repr(failure), exc_info=failure)
    else:
        log.info("rpc", **line, error=status.details)
