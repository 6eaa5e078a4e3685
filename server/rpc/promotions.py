"""The Promotions service: each RPC decodes, delegates and encodes, and nothing else.

What every call needs (the request id, the deadline checks, the status mapping, the
timing and its one JSON log line) is in :func:`rpc`, so a method body reads as the
three steps of its RPC. Pricing itself is :func:`price`: evaluate and, for a final
quote, build the invoice and check its invariants before it leaves us (a broken invoice
is an INTERNAL error, never a wrong invoice).
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.logs import get_logger, mask_member
from server.rpc.status import DeadlineExceeded, status_for
from server.rulesets.registry import FileState, RulesetRegistry
from server.sales.pricing import Evaluator, default_evaluate, price
from server.wire.reply import evaluation_to_proto
from server.wire.request import request_from_proto

__all__ = ["PromotionsServicer", "rpc"]

REQUEST_ID_HEADER = "x-request-id"
_MAX_REQUEST_ID = 128  # a till's id is logged as given; a runaway header is cut, not refused

Handler = TypeVar("Handler", bound=Callable[..., Any])


# --------------------------------------------------------------------------- every call


def rpc(method: Handler) -> Handler:
    """Wrap a servicer method: deadline checks, status mapping, timing and one log line per call."""
    name = method.__name__

    @functools.wraps(method)
    def handler(self: PromotionsServicer, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.perf_counter_ns()
        request_id = _request_id(context)
        reply = failure = status = None
        try:
            if context.time_remaining() <= 0:
                raise DeadlineExceeded("before the call started")
            with self.gate:  # at most Deps.max_workers calls work at once; the rest wait here, asleep
                reply = method(self, request, context)
            if context.time_remaining() <= 0:
                raise DeadlineExceeded("while the call was worked on")
        except Exception as exc:
            failure, status = exc, status_for(exc, request_id)
        line = {
            "method": name,
            "status": "OK" if status is None else status.code.name,
            "latency_us": (time.perf_counter_ns() - started) // 1000,
            "request_id": request_id,
            **_call_fields(request, reply),
        }
        context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
        if status is None:
            self.log.info("rpc", **line)
            return reply
        if status.internal:  # ours: everything needed to replay it, in the log only
            self.log.error("rpc", **line, error=repr(failure), request=_loggable(request), exc_info=failure)
        else:
            self.log.info("rpc", **line, error=status.details)
        context.abort(status.code, status.details)  # raises: grpc sends the status, logs nothing

    return handler  # type: ignore[return-value]


def _request_id(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_HEADER and value:
            return str(value)[:_MAX_REQUEST_ID]
    return uuid.uuid4().hex


def _call_fields(request: Any, reply: Any) -> dict[str, Any]:
    """The ruleset, version, basket size and masked member of a call, for its log line."""
    if not isinstance(request, pb.EvaluateRequest):
        return {"ruleset": "", "version": "", "lines": 0, "member": ""}
    version = reply.ruleset.version if reply is not None else request.ruleset_version
    return {
        "ruleset": request.ruleset,
        "version": version,
        "lines": len(request.lines),
        "member": mask_member(request.member.id),
    }


def _loggable(request: Any) -> dict[str, Any]:
    """The request as logged with an INTERNAL error, so it can be replayed: member id masked."""
    data = json_format.MessageToDict(request)
    member = data.get("member")
    if isinstance(member, dict) and "id" in member:
        member["id"] = mask_member(member["id"])
    return data


# --------------------------------------------------------------------------- the service


class PromotionsServicer(pb_grpc.PromotionsServicer):
    """promo.v1.Promotions over a ruleset registry."""

    def __init__(
        self,
        registry: RulesetRegistry,
        evaluate: Evaluator = default_evaluate,
        gate: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.registry = registry
        self.evaluate = evaluate
        self.gate = gate if gate is not None else nullcontext()
        self.log = get_logger()

    @rpc
    def Evaluate(self, request: pb.EvaluateRequest, context: grpc.ServicerContext) -> pb.EvaluateReply:
        basket = request_from_proto(request)
        compiled, evaluation, invoices = price(
            self._ruleset(request), basket, self.evaluate, with_invoice=request.final_quote
        )
        reply = evaluation_to_proto(
            evaluation,
            invoices,
            digest=compiled.digest,
            transaction_id=request.transaction_id,
            explain=request.explain,
        )
        reply.drafts_applied = compiled.applies_drafts
        return reply

    @rpc
    def Ping(self, request: pb.EvaluateRequest, context: grpc.ServicerContext) -> pb.PingReply:
        request_from_proto(request)
        compiled = self._ruleset(request)
        return pb.PingReply(ruleset=_version(compiled))

    @rpc
    def ListRulesets(
        self, request: pb.ListRulesetsRequest, context: grpc.ServicerContext
    ) -> pb.ListRulesetsReply:
        files = self.registry.files()
        return pb.ListRulesetsReply(files=[_file(s, self.registry) for s in files])

    def _ruleset(self, request: pb.EvaluateRequest) -> CompiledRuleset:
        """The ruleset version the request names (the serving one unless it asks for another), with
        its draft campaigns when the request asks for drafts."""
        if not request.ruleset:
            loaded = ", ".join(self.registry.names()) or "none yet"
            raise InvalidRequest("ruleset", f"is required: the name of a loaded ruleset (loaded: {loaded})")
        compiled = self.registry.get(request.ruleset, request.ruleset_version or None)
        return compiled.with_drafts if request.drafts else compiled


# --------------------------------------------------------------------------- delegate and encode


def _version(compiled: CompiledRuleset) -> pb.RulesetVersion:
    return pb.RulesetVersion(name=compiled.name, version=compiled.version, digest=compiled.digest)


def _file(state: FileState, registry: RulesetRegistry) -> pb.RulesetFile:
    msg = pb.RulesetFile(
        path=_relative(state.path, registry),
        loaded_at=_timestamp(state.loaded_at),
        last_error=(state.last_error or "").replace(f"{registry.folder}{os.sep}", ""),
        error_at=_timestamp(state.error_at) if state.last_error else "",
        file_digest=state.source_hash,
    )
    if state.compiled is not None:
        msg.serving.CopyFrom(_version(state.compiled))
        msg.recent_versions.extend(registry.recent_versions(state.compiled.name))
    return msg


def _relative(path: str, registry: RulesetRegistry) -> str:
    """A ruleset file's path relative to the served folder: a caller need not learn the server's layout."""
    try:
        return str(Path(path).relative_to(registry.folder))
    except ValueError:
        return Path(path).name


def _timestamp(at: datetime | None) -> str:
    return "" if at is None else at.isoformat().replace("+00:00", "Z")
