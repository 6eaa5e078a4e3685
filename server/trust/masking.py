"""Personal data out of log lines: member ids, phone-like numbers and birthdays are masked.

:func:`mask_member` keeps the ends of an id (enough to correlate lines, not to identify
anyone). :func:`mask_text` cleans free text that may quote them (an error message:
``no member '13800138000' in the ledger``). :func:`mask_event` is a structlog processor
applying both to every string of a log line.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["mask_event", "mask_member", "mask_text", "mask_url"]

_QUOTED_MEMBER = re.compile(r"(member(?:_id)?:? ?)'([^']*)'")
_PHONE_LIKE = re.compile(r"(?<![\w.-])\+?\d[\d -]{5,}\d(?![\w.-])")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BIRTHDAY = re.compile(r"(birthday[\"']?\s*[:=]\s*[\"']?)(\d{4}-\d{2}-\d{2})")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
_KEEP = frozenset({"timestamp", "level", "event", "request_id", "latency_us", "pid", "version"})


def mask_member(member_id: str) -> str:
    """Keep enough of a member id to correlate log lines, not enough to identify anyone."""
    if not member_id:
        return ""
    if len(member_id) <= 4:
        return "*" * len(member_id)
    return f"{member_id[:2]}{'*' * (len(member_id) - 4)}{member_id[-2:]}"


def mask_url(url: str) -> str:
    """A database URL with its password replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***\3", url)


def mask_text(text: str) -> str:
    """``text`` with member ids, birthdays, phone-like numbers and URL passwords masked.

    A short text is remembered: most strings of a log line repeat on every call (the method, the
    ruleset, a masked member), and the four regular expressions were half the cost of a line. A
    long one (a traceback) is masked afresh, so the memory stays small.
    """
    return _mask_short(text) if len(text) <= 256 else _mask(text)


@functools.lru_cache(maxsize=4096)
def _mask_short(text: str) -> str:
    return _mask(text)


def _mask(text: str) -> str:
    text = _QUOTED_MEMBER.sub(lambda m: f"{m[1]}'{mask_member(m[2])}'", text)
    text = _BIRTHDAY.sub(r"\1****-**-**", text)
    text = _PHONE_LIKE.sub(_phone, text)
    return mask_url(text)


def _phone(match: re.Match[str]) -> str:
    """Seven digits or more, not a date: masked like a member id."""
    text = match[0]
    if _DATE_LIKE.fullmatch(text) or sum(c.isdigit() for c in text) < 7:
        return text
    return mask_member(text)


def mask_event(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: every string value but the line's own bookkeeping is masked."""
    for key, value in event.items():
        if key not in _KEEP:
            event[key] = _masked(value)
    return event


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: ("****-**-**" if k == "birthday" and v else _masked(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value
