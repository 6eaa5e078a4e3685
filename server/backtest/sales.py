"""The backtest's reads of the ledger: the sales of a period and the sources of their versions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import func, select

from server.rulesets.sources import SOURCES, SourceBook
from server.storage.models import Sale
from server.storage.store import Ledger

__all__ = ["StoredSale", "count_sales", "period_sales", "source_of_version", "sources_of"]

StoredSale = tuple[str, str, str, str, str]  # (transaction id, local day ISO, digest, request, reply JSON)


def _period(first: date, last: date):  # type: ignore[no-untyped-def]
    return (Sale.local_date >= first, Sale.local_date <= last, Sale.state == "committed")


def count_sales(ledger: Ledger, first: date, last: date) -> int:
    with ledger.snapshots() as session:
        return int(session.scalar(select(func.count()).select_from(Sale).where(*_period(first, last))) or 0)


def period_sales(ledger: Ledger, first: date, last: date, batch: int = 2000) -> Iterator[list[StoredSale]]:
    """The committed sales of [first, last] (local days), in batches, oldest first, from one snapshot."""
    query = (
        select(Sale.transaction_id, Sale.local_date, Sale.ruleset_digest, Sale.request, Sale.result)
        .where(*_period(first, last))
        .order_by(Sale.sold_at, Sale.transaction_id)
        .execution_options(yield_per=batch)
    )
    with ledger.snapshots() as session:
        rows: list[StoredSale] = []
        for tid, day, digest, request, result in session.execute(query):
            rows.append((tid, day.isoformat(), digest, request, result))
            if len(rows) == batch:
                yield rows
                rows = []
        if rows:
            yield rows


def sources_of(ledger: Ledger, first: date, last: date) -> dict[str, tuple[str, str] | None]:
    """digest -> (name, source) of every version that priced a sale of the period (None: not stored)."""
    book = SourceBook(ledger)
    with ledger.snapshots() as session:
        digests = session.scalars(select(Sale.ruleset_digest).where(*_period(first, last)).distinct()).all()
    return {d: book.load(d) for d in digests}


def source_of_version(ledger: Ledger, version: str) -> tuple[str, str, str] | None:
    """(digest, name, source) of the stored version ``version`` (a digest prefix of 12 or more)."""
    with ledger.snapshots() as session:
        rows = session.execute(
            select(SOURCES.c.digest, SOURCES.c.name, SOURCES.c.source).where(
                (SOURCES.c.version == version) | (SOURCES.c.digest == version)
            )
        ).all()
    return None if len(rows) != 1 else (rows[0][0], rows[0][1], rows[0][2])
