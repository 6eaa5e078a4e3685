"""The members a scan prices with, remembered for a few seconds: the ledger is read once per sale.

A till calls Evaluate on every scan of a sale, each time for the same member; reading the member
row each time cost ~117 us of a ~500 us call, and the read releases the GIL into a contended pool.
A quote may be a little stale without harm: Commit reads the member again inside its transaction
and re-prices, so a quote that no longer holds fails cleanly (FAILED_PRECONDITION, payable
mismatch). What this process writes itself is never served stale: every ledger write in this
process forgets the members it touched before it returns, and a read that raced such a write is
not remembered (the generation check), so only another process's writes wait out ``ttl``.
:class:`ReadCache` is that discipline for any key; the presented coupon codes use it too
(:mod:`server.storage.coupon_cache`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache

from server.storage.results import MemberView

__all__ = ["DEFAULT_TTL_S", "MISSING", "MemberCache", "ReadCache"]

DEFAULT_TTL_S = 30.0
"""A sale's scans come within a minute or two; another worker's write is seen after at most this."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MISSING = object()
"""What :meth:`ReadCache.get` answers for a key it does not hold (None may be a value kept)."""


class ReadCache(Generic[K, V]):
    """Values read from the ledger by key, each kept ``ttl`` seconds; thread-safe (one lock, held for
    a dict step). Take :meth:`generation` before the read and pass it to :meth:`keep` after it."""

    def __init__(
        self, ttl: float = DEFAULT_TTL_S, maxsize: int = 4096, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._values: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._lock = threading.Lock()
        self._generation = 0  # moved by every forget: a read that started before it is not kept

    def generation(self) -> int:
        """Take before a read; pass to :meth:`keep` after it."""
        return self._generation

    def get(self, key: K, default: object = None) -> V | object:
        with self._lock:
            return self._values.get(key, default)

    def keep(self, key: K, value: V, generation: int) -> None:
        """Remember ``value`` unless a write was forgotten since its read began (it may predate it)."""
        with self._lock:
            if generation == self._generation:
                self._values[key] = value

    def forget(self, key: K | None = None) -> None:
        """Drop one key (None: every key), e.g. after this process wrote the rows it was read from."""
        with self._lock:
            self._generation += 1
            if key is None:
                self._values.clear()
            else:
                self._values.pop(key, None)


class MemberCache(ReadCache[str, MemberView]):
    """Member views by member id."""

    def get(self, member_id: str, default: object = None) -> MemberView | None:  # type: ignore[override]
        return super().get(member_id, default)  # type: ignore[return-value]

    def put(self, view: MemberView, generation: int) -> None:
        """Remember ``view`` unless a write was forgotten since its read began (it may predate it)."""
        self.keep(view.id, view, generation)
