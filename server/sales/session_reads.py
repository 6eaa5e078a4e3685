"""A till session's last pricing read, answered again while nothing in this process could have changed it.

Every scan of a sale asks the ledger for the same member and codes. The member and coupon caches
answer that without SQL, but the lookups (two locks, two TTL caches) still cost 3 us in a quiet
loop and 10-15 us of server CPU per scan under 8 tills. Those caches move a generation on every
forget (every ledger write of this process), so a session may keep the answer it got while both
generations stand still and its codes are the same: a write of this process (a commit spending a
code, an enrolment, an erasure) is seen at the next scan, as before. Another process's write is
seen when the caches see it (their TTL) plus at most :data:`FRESH_S`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from server.storage.pricing import PricingReads
from server.storage.store import Ledger

__all__ = ["FRESH_S", "KeptReads"]

FRESH_S = 1.0
"""How long a kept read is answered again without asking the caches (their TTL still applies)."""


class KeptReads:
    """One session's last ``Ledger.pricing_reads(member_id, codes, cached=True)`` answer.

    Used under the session's lock (one message at a time), so it needs none of its own.
    """

    __slots__ = ("_at", "_key", "_ledger", "_reads", "_timer")

    def __init__(self, ledger: Ledger, timer: Callable[[], float] = time.monotonic) -> None:
        self._ledger = ledger
        self._timer = timer
        self._key: tuple[int, int, str | None, tuple[str, ...]] | None = None
        self._reads: PricingReads | None = None
        self._at = 0.0

    def get(self, member_id: str | None, codes: tuple[str, ...]) -> PricingReads:
        ledger = self._ledger
        # taken before the read, as the caches do: a write racing the read moves them, so it is read again
        key = (ledger.member_cache.generation(), ledger.coupon_cache.generation(), member_id, codes)
        now = self._timer()
        if self._reads is not None and key == self._key and now - self._at < FRESH_S:
            return self._reads
        reads = ledger.pricing_reads(member_id, codes, cached=True)
        self._key, self._reads, self._at = key, reads, now
        return reads
