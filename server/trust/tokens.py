"""Bearer tokens and the callers they name, looked up in the ledger with a short cache.

A token is 32 random bytes (URL-safe text, prefixed ``promo_`` so a leaked one is easy to
grep for); the ledger keeps only its SHA-256. Each server process caches lookups for
:data:`CACHE_SECONDS`, so a call costs a hash and a dict lookup, and a revoked token stops
working within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache
from sqlalchemy import Engine

from server.storage import callers as table

__all__ = [
    "CACHE_SECONDS",
    "Caller",
    "CallerBook",
    "LedgerCallers",
    "StaticCallers",
    "hash_token",
    "new_token",
]

CACHE_SECONDS = 5.0
_PREFIX = "promo_"


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    role: str


def new_token() -> str:
    return _PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class CallerBook(Protocol):
    """Where the gate finds callers: by their token's hash, or by a client certificate's name."""

    def by_token(self, token: str) -> Caller | None: ...

    def by_name(self, name: str) -> Caller | None: ...


class StaticCallers:
    """Callers held in memory (tests, benchmarks): token -> caller."""

    def __init__(self, tokens: dict[str, Caller]) -> None:
        self._by_hash = {hash_token(t): c for t, c in tokens.items()}
        self._by_name = {c.name: c for c in tokens.values()}

    def by_token(self, token: str) -> Caller | None:
        return self._by_hash.get(hash_token(token))

    def by_name(self, name: str) -> Caller | None:
        return self._by_name.get(name)


class LedgerCallers:
    """Callers from the ledger's ``callers`` table, each answer (found or not) cached a few seconds."""

    def __init__(self, engine: Engine, ttl: float = CACHE_SECONDS) -> None:
        self.engine = engine
        self._cache: TTLCache[tuple[str, str], Caller | None] = TTLCache(maxsize=4096, ttl=ttl)
        self._lock = threading.Lock()

    def by_token(self, token: str) -> Caller | None:
        return self._cached(("token", hash_token(token)), table.caller_by_hash)

    def by_name(self, name: str) -> Caller | None:
        return self._cached(("name", name), table.caller_by_name)

    def _cached(self, key: tuple[str, str], read: object) -> Caller | None:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        row = read(self.engine, key[1])  # type: ignore[operator]
        found = None if row is None else Caller(row.name, row.role)
        with self._lock:
            self._cache[key] = found
        return found
