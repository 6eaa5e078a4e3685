"""Callers for in-process test servers: one token per role, and channels that send them."""

from __future__ import annotations

import grpc

from server.trust.client import BearerToken
from server.trust.gate import Gate
from server.trust.tokens import Caller, StaticCallers

TOKENS = {role: f"test-{role}-token" for role in ("till", "finance", "admin", "job")}
CALLERS = {token: Caller(f"test-{role}", role) for role, token in TOKENS.items()}


def gate_for_tests() -> Gate:
    """A gate knowing one caller per role (named ``test-<role>``)."""
    return Gate(StaticCallers(CALLERS))


def as_role(channel: grpc.Channel, role: str) -> grpc.Channel:
    """``channel`` sending the ``role`` caller's token on every call."""
    return grpc.intercept_channel(channel, BearerToken(TOKENS[role]))
