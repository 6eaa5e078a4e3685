"""The caller of the call being served, as the gate authenticated it.

The gate sets it around the method in the thread that runs it; servicers read it with
:func:`caller_name` (an admin action is recorded under this name, not a free-text field).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from server.trust.tokens import Caller

__all__ = ["CURRENT", "caller_name", "current_caller"]

CURRENT: ContextVar[Caller | None] = ContextVar("promo_caller", default=None)


def current_caller() -> Caller | None:
    return CURRENT.get()


def caller_name(context: Any = None) -> str | None:
    """The authenticated caller's name, or None on a server run with ``--no-auth``."""
    caller = CURRENT.get()
    return None if caller is None else caller.name
