"""The one server interceptor: every call is authenticated, then checked against the roles table.

It wraps the method handler itself (unary or streaming, all four kinds alike), so the
check runs in the thread that serves the call, where the peer's TLS certificate and the
metadata are known, and the caller is set for the method (:mod:`server.trust.callers`).
A new RPC, streaming or not, needs only its line in :data:`server.trust.roles.METHOD_ROLES`.

It also owns request decoding: gRPC answers INTERNAL "Exception deserializing request!"
when a deserializer raises, so each handler gets a deserializer that never raises and the
wrapped method answers INVALID_ARGUMENT for bytes that are not the request message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from server.trust.callers import CURRENT
from server.trust.roles import OPEN_METHODS, roles_for
from server.trust.tokens import Caller, CallerBook

__all__ = ["Gate", "Malformed"]

_BEARER = "bearer "


class Malformed:
    """What a request's bytes decode to when they are not the message (a sentinel, never raised)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Gate(grpc.ServerInterceptor):
    """Authenticate (UNAUTHENTICATED) and authorise (PERMISSION_DENIED) every call but health.

    ``callers`` None is ``promo serve --no-auth``: nobody is asked who they are, but the
    request decoding is still guarded.
    """

    def __init__(self, callers: CallerBook | None) -> None:
        self.callers = callers

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        admit = None
        if self.callers is not None and method not in OPEN_METHODS:
            roles = roles_for(method)

            def admit(context: grpc.ServicerContext) -> Caller:
                return self._admit(context, method, roles)

        return _wrap(handler, admit)

    def _admit(self, context: grpc.ServicerContext, method: str, roles: frozenset[str]) -> Caller:
        assert self.callers is not None
        caller = None
        token = _bearer(context)
        if token is not None:
            caller = self.callers.by_token(token)
            if caller is None:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "the bearer token is unknown or revoked")
        else:
            name = _certificate_name(context)
            if name is not None:
                caller = self.callers.by_name(name)
            if caller is None:
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "no credentials: send 'authorization: Bearer <token>' (promo token create)",
                )
        assert caller is not None
        if caller.role not in roles:
            needed = " or ".join(sorted(roles)) or "no role (the method is closed)"
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"caller {caller.name!r} has the {caller.role} role; {method} needs the {needed} role",
            )
        return caller


def _bearer(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str) and value[:7].lower() == _BEARER:
            return value[7:].strip()
    return None


def _certificate_name(context: grpc.ServicerContext) -> str | None:
    """The common name of a verified client certificate (mutual TLS), if any."""
    names = context.auth_context().get("x509_common_name")
    return names[0].decode("utf-8", "replace") if names else None


# --------------------------------------------------------------------------- wrapping


def _safe(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:
            return Malformed(f"the request bytes are not a valid message ({type(exc).__name__})")

    return decode


def _check(request: Any, context: grpc.ServicerContext) -> None:
    if isinstance(request, Malformed):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request: {request.reason}")


def _checked(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
    for request in requests:
        _check(request, context)
        yield request


Admit = Callable[[grpc.ServicerContext], Caller] | None


def _wrap(handler: Any, admit: Admit) -> Any:
    deserialize = _safe(handler.request_deserializer)
    serialize = handler.response_serializer

    def enter(context: grpc.ServicerContext) -> Any:
        return CURRENT.set(admit(context) if admit is not None else None)

    if handler.unary_unary is not None:
        inner = handler.unary_unary

        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            token = enter(context)
            try:
                _check(request, context)
                return inner(request, context)
            finally:
                CURRENT.reset(token)

        return grpc.unary_unary_rpc_method_handler(unary_unary, deserialize, serialize)
    if handler.unary_stream is not None:
        inner = handler.unary_stream

        def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            enter(context)
            try:
                _check(request, context)
                yield from inner(request, context)
            finally:
                CURRENT.set(None)  # a generator resumes in grpc's thread: clear, do not reset

        return grpc.unary_stream_rpc_method_handler(unary_stream, deserialize, serialize)
    if handler.stream_unary is not None:
        inner = handler.stream_unary

        def stream_unary(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            token = enter(context)
            try:
                return inner(_checked(requests, context), context)
            finally:
                CURRENT.reset(token)

        return grpc.stream_unary_rpc_method_handler(stream_unary, deserialize, serialize)
    inner = handler.stream_stream

    def stream_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        enter(context)
        try:
            yield from inner(_checked(requests, context), context)
        finally:
            CURRENT.set(None)

    return grpc.stream_stream_rpc_method_handler(stream_stream, deserialize, serialize)
