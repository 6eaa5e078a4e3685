"""The coupon rows of presented codes, remembered for a few seconds: a scan does not read them again.

A till presents a coupon once and then scans on; each scan used to read the code's row again (a
database round trip per scan). A status may be a little stale without harm, as the member's may
(:mod:`server.storage.member_cache`): Commit reads the rows afresh and spends a code with a
conditional UPDATE. This process's own writes to a coupon (spending it, issuing it, expiring it,
moving its owner) forget it before they return. A code the ledger does not hold is remembered
too (as None: a public code, the ruleset's own), so a sale with a public code reads nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.storage.member_cache import MISSING, ReadCache
from server.storage.pricing import CouponRow

__all__ = ["CouponCache"]


class CouponCache(ReadCache[str, "CouponRow | None"]):
    """Coupon rows by code; None for a code the ledger never issued."""

    def rows(self, codes: Iterable[str]) -> tuple[CouponRow, ...] | None:
        """The rows of ``codes`` (the codes without one left out), or None unless all are known here."""
        out = []
        for code in codes:
            row = self.get(code, MISSING)
            if row is MISSING:
                return None
            if row is not None:
                out.append(row)
        return tuple(out)  # type: ignore[arg-type]

    def keep_rows(self, codes: Iterable[str], rows: Iterable[CouponRow], generation: int) -> None:
        """Remember what one read found for ``codes`` (a code without a row: None)."""
        found = {row.code: row for row in rows}
        for code in codes:
            self.keep(code, found.get(code), generation)
