"""The source text of every ruleset version that priced a committed sale, kept by digest.

Finance must be able to reproduce any past sale, long after its ruleset file was
edited or deleted: the sale row stores the ruleset's digest, and this table (created
by migration 0002) stores the text behind each digest once. ``promo audit verify``
compiles it again and checks the digest before trusting it.
"""

from __future__ import annotations

import threading

from sqlalchemy import Column, MetaData, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.compiled import CompiledRuleset
from server.storage.store import Ledger
from server.storage.tx import in_transaction, is_unique_violation
from server.storage.types import TZDateTime, utc_now

__all__ = ["SOURCES", "SourceBook"]

SOURCES = Table(
    "ruleset_sources",
    MetaData(),
    Column("digest", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("version", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", TZDateTime(), nullable=False),
)


class SourceBook:
    """Stores each ruleset source once per process lifetime (the digests already stored are remembered)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def remember(self, compiled: CompiledRuleset) -> None:
        """Make sure ``compiled``'s source is stored; cheap after the first call for a digest."""
        if compiled.digest in self._known:
            return
        source = compiled.ruleset.source_text
        if not source:
            return  # a ruleset built in code has no text to keep; verify then needs the rulesets folder

        def work(session: Session) -> None:
            exists = session.scalar(select(SOURCES.c.digest).where(SOURCES.c.digest == compiled.digest))
            if exists is None:
                session.execute(
                    insert(SOURCES).values(
                        digest=compiled.digest,
                        name=compiled.name,
                        version=compiled.version,
                        source=source,
                        created_at=utc_now(),
                    )
                )

        try:
            in_transaction(self.ledger.sessions, work)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise  # another process stored it first: that is the same text
        with self._lock:
            self._known.add(compiled.digest)

    def load(self, digest: str) -> tuple[str, str] | None:
        """(name, source) stored for ``digest``; None when it was never stored."""
        row = in_transaction(
            self.ledger.sessions,
            lambda s: s.execute(
                select(SOURCES.c.name, SOURCES.c.source).where(SOURCES.c.digest == digest)
            ).one_or_none(),
        )
        return None if row is None else (row[0], row[1])
