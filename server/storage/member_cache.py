"""The members a scan prices with, remembered for a few seconds: the ledger is read once per sale.

A till calls Evaluate on every scan of a sale, each time for the same member; reading the member
row each time cost ~117 us of a ~500 us call, and the read releases the GIL into a contended pool.
A quote may be a little stale without harm: Commit reads the member again inside its transaction
and re-prices, so a quote that no longer holds fails cleanly (FAILED_PRECONDITION, payable
mismatch). What this process writes itself is never served stale: every ledger write in this
process forgets the members it touched before it returns, and a read that raced such a write is
not remembered (the generation check), so only another process's writes wait out ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from server.storage.results import MemberView

__all__ = ["DEFAULT_TTL_S", "MemberCache"]

DEFAULT_TTL_S = 30.0
"""A sale's scans come within a minute or two; another worker's write is seen after at most this."""


class MemberCache:
    """Member views by id, each kept ``ttl`` seconds; thread-safe (one lock, held for a dict step)."""

    def __init__(
        self, ttl: float = DEFAULT_TTL_S, maxsize: int = 4096, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._views: TTLCache[str, MemberView] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._lock = threading.Lock()
        self._generation = 0  # moved by every forget: a read that started before it is not kept

    def generation(self) -> int:
        """Take before a read; pass to :meth:`put` after it."""
        return self._generation

    def get(self, member_id: str) -> MemberView | None:
        with self._lock:
            return self._views.get(member_id)

    def put(self, view: MemberView, generation: int) -> None:
        """Remember ``view`` unless a write was forgotten since its read began (it may predate it)."""
        with self._lock:
            if generation == self._generation:
                self._views[view.id] = view

    def forget(self, member_id: str | None = None) -> None:
        """Drop one member (None: every member), e.g. after this process wrote to their ledger."""
        with self._lock:
            self._generation += 1
            if member_id is None:
                self._views.clear()
            else:
                self._views.pop(member_id, None)
