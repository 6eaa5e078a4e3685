"""Budgets and use limits as the engine sees them: what is left, read by the caller beforehand.

The engine stays pure: it never counts uses. The ledger reads what is left of each
per-member limit and campaign budget and hands it in as :class:`UsageLeft` on the
request; the engine prices within it (a rule or coupon whose limit is reached is
skipped; a campaign's discounts stop at its money budget) and says so in
``Evaluation.notes``. Consuming the usage at Commit is the ledger's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal as Lit
from typing import NamedTuple

__all__ = ["UsageLeft", "UsageNote", "coupon_source"]


def coupon_source(code: str) -> str:
    """How a coupon is named among discount sources (and in ``UsageLeft.blocked``)."""
    return f"coupon:{code}"


@dataclass(frozen=True, slots=True)
class UsageLeft:
    """What may still be used, for one request."""

    # rule id, or coupon:CODE -> why it may not apply now (a limit reached, a campaign out of uses)
    blocked: Mapping[str, str] = field(default_factory=dict)
    # campaign id -> fen its money budget has left in the current period (budgeted campaigns only)
    money_left: Mapping[str, int] = field(default_factory=dict)


class UsageNote(NamedTuple):
    """One line of the explanation: a rule or coupon skipped, or a discount capped, and why."""

    source: str  # a rule id or coupon:CODE
    kind: Lit["skipped", "capped"]
    reason: str
