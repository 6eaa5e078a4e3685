"""The per-request state that compiled rules read: the basket, the member, the local time,
and each line's remaining amount and lock as the stages run.

One ``Context`` is built per evaluation and thrown away; compiled predicates are
plain functions of ``(ctx, line_index)`` (``-1`` when no line is in scope).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from engine.model import Line, Member, Request

__all__ = ["Context", "is_birthday"]


class Context:
    """Mutable evaluation state; ``remaining`` and ``locked`` change as rules apply."""

    __slots__ = (
        "amounts",
        "budget",
        "channel",
        "chosen",
        "date",
        "day",
        "hour",
        "line_count",
        "lines",
        "local",
        "locked",
        "member",
        "month",
        "notes",
        "remaining",
        "store",
        "tier_rank",
        "time",
        "weekday",
    )

    def __init__(self, request: Request, zone: ZoneInfo, amounts: list[int], tier_rank: int | None) -> None:
        local: datetime = request.at.astimezone(zone)
        self.local = local
        self.date: date = local.date()
        self.time: time = local.time()  # naive: time() drops the zone, timetz() would keep it
        self.weekday = local.weekday()
        self.day = local.day
        self.month = local.month
        self.hour = local.hour
        self.lines: tuple[Line, ...] = request.lines
        self.line_count = len(request.lines)
        self.member: Member | None = request.member
        self.tier_rank = tier_rank
        self.store = request.store
        self.channel = request.channel
        self.amounts = amounts
        self.remaining = list(amounts)
        self.locked = [False] * len(amounts)
        self.chosen: dict[object, list[int]] = {}
        # campaign id -> fen left of its money budget, and what capping said (engine.usage); None
        # when the request carries no usage: the stages then skip every budget test.
        self.budget: dict[str, int] | None = None
        self.notes: list = []

    def select(
        self, line_filter: Callable[[tuple[Line, ...]], list[int]] | None, test: Callable
    ) -> list[int]:
        """The lines a selection condition holds for, computed once per request.

        ``line_filter`` is the generated filter when the condition reads only the line
        (its answer cannot change during an evaluation); otherwise ``test`` is called per line.
        """
        if line_filter is None:
            return [i for i in range(self.line_count) if test(self, i)]
        found = self.chosen.get(line_filter)
        if found is None:
            found = self.chosen[line_filter] = line_filter(self.lines)
        return found


def is_birthday(birthday: date | None, today: date, scope: str) -> bool:
    """Whether ``today`` celebrates ``birthday``; 29 Feb is celebrated on 28 Feb in other years."""
    if birthday is None:
        return False
    if scope == "month":
        return birthday.month == today.month
    if birthday.month == 2 and birthday.day == 29 and not _leap(today.year):
        return today.month == 2 and today.day == 28
    return birthday.month == today.month and birthday.day == today.day


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
