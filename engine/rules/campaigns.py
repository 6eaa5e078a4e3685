"""A campaign: the part of a programme merchandisers add and remove every week.

A programme folder holds the programme file (the membership contract) and one file per
campaign; dsl.programme merges them into one Ruleset whose rules, coupons and examples
name the campaign they came from (``campaign`` = the campaign's id, None for the
programme file's own). A ``draft`` campaign is checked and compiled with the rest but
applied only to calls that ask for drafts (engine.compiled keeps a second program).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal as Lit

from engine.spans import Span

__all__ = ["BUDGET_PERIODS", "LIMIT_PERIODS", "Campaign", "Limit"]

LIMIT_PERIODS = ("day", "week", "month", "campaign")  # calendar periods in the programme's timezone
BUDGET_PERIODS = ("day", "campaign")


@dataclass(frozen=True, slots=True)
class Limit:
    """`limit N per member per PERIOD` on a rule or coupon: at most ``count`` sales of one member
    in one period may use it (a sale uses it when it took a fen or gave points)."""

    count: int
    period: Lit["day", "week", "month", "campaign"]
    span: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign file's header; ``file`` is its name inside the programme folder."""

    id: str
    file: str
    label: str = ""
    owner: str = ""
    status: Lit["live", "draft"] = "live"
    date_from: date | None = None
    date_to: date | None = None
    budget_fen: int | None = None  # `budget 50000.00 per day|campaign`: discount fen per period
    budget_period: Lit["day", "campaign"] = "campaign"
    budget_uses: int | None = None  # `budget 1000 uses`: sales that used the campaign, in all
    span: Span | None = field(default=None, compare=False)

    @property
    def draft(self) -> bool:
        return self.status == "draft"
