"""Callers in the ledger: only the token's hash is stored, and a revoked token stops working."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from server.storage.callers import add_caller, revoke_caller
from server.storage.store import Ledger
from server.trust.tokens import Caller, LedgerCallers, hash_token, new_token


def test_a_token_is_found_by_its_hash_until_revoked(tmp_path: Path) -> None:
    engine = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}").engine
    try:
        token = new_token()
        add_caller(engine, "store1-till1", "till", hash_token(token))
        callers = LedgerCallers(engine, ttl=0.0)  # no cache: every lookup reads the table
        assert callers.by_token(token) == Caller("store1-till1", "till")
        assert callers.by_name("store1-till1") == Caller("store1-till1", "till")
        assert callers.by_token(token + "x") is None
        with engine.connect() as c:
            stored = c.execute(text("SELECT token_hash FROM callers")).scalar_one()
        assert stored == hash_token(token) and token not in stored
        assert revoke_caller(engine, "store1-till1")
        assert callers.by_token(token) is None and callers.by_name("store1-till1") is None
    finally:
        engine.dispose()


def test_answers_are_cached_for_a_few_seconds(tmp_path: Path) -> None:
    engine = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}").engine
    try:
        token = new_token()
        add_caller(engine, "ana", "admin", hash_token(token))
        callers = LedgerCallers(engine, ttl=60.0)
        assert callers.by_token(token) is not None
        revoke_caller(engine, "ana")
        assert callers.by_token(token) is not None  # within the cache's lifetime (5 s when serving)
    finally:
        engine.dispose()
