"""Points expiry: lots are consumed first-in-first-out by expiry date.

Every debit (redeem, coupon purchase, clawback, expiry, negative adjustment) is taken from the
lot that expires first, and what is left of the lots due by the day expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Lot", "points_to_expire"]


@dataclass(frozen=True, slots=True)
class Lot:
    """A credit of points: an earn entry (with its expiry) or a positive adjustment (none)."""

    points: int
    expires_at: datetime | None


def points_to_expire(lots: Iterable[Lot], debits: int, due: datetime) -> int:
    """Points of ``lots`` expiring by ``due`` once ``debits`` (a positive total) are taken FIFO.

    Debits consume the lot that expires first (lots without expiry last), so points
    already spent never expire again, and previous expiry entries count among the
    debits: expiring twice for the same day finds nothing left the second time.
    """
    ordered = sorted(lots, key=lambda lot: (lot.expires_at is None, lot.expires_at or due))
    remaining_debits = debits
    expiring = 0
    for lot in ordered:
        used = min(lot.points, remaining_debits)
        remaining_debits -= used
        if lot.expires_at is not None and lot.expires_at <= due:
            expiring += lot.points - used
    return expiring
