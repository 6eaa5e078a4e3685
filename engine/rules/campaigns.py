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

__all__ = ["Campaign"]


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
    span: Span | None = field(default=None, compare=False)

    @property
    def draft(self) -> bool:
        return self.status == "draft"
