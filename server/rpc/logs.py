"""Structured JSON logs: one line per event, machine-readable, nothing personal in clear.

Stores ship these lines to a collector; a line per RPC carries the method, status,
latency in microseconds, ruleset version, basket size, a masked member id and the
request id, so a complaint from a till can be found and replayed.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO

import structlog

from server.trust.masking import mask_event, mask_member

__all__ = ["configure_logging", "get_logger", "mask_member"]


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """JSON lines with an ISO UTC timestamp, the level and the pid, to ``stream`` (stderr by default)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_pid,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_event,  # after the traceback is text, so it is masked too
            structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # WriteLogger writes a line and its newline in one call: print() makes two, and the
        # worker processes of `promo serve --workers N` would interleave them on a shared stderr.
        logger_factory=structlog.WriteLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def _add_pid(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """The process id: with ``promo serve --workers N`` several processes write to one stream."""
    event.setdefault("pid", os.getpid())
    return event


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger("promo").bind(**bound)
