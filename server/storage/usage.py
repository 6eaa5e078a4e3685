"""Budget and limit counters in SQL: read what is used, consume atomically, give back on returns.

Consuming is one conditional upsert per counter inside the sale's own transaction:
``INSERT ... ON CONFLICT (key) DO UPDATE SET used = used + n WHERE used + n <= cap``.
The row lock the upsert takes serialises tills on one counter (PostgreSQL re-checks the
WHERE against the newest row; SQLite has one writer), so no read-then-write race can
overspend by one fen or one use: a sale that would is BudgetExceeded and its transaction,
sale row included, rolls back. Counters are taken in key order, one lock order for all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.money import round_half_up
from server.storage.errors import BudgetExceeded
from server.storage.models import SaleUsage, UsageCounter
from server.storage.results import UsageTake

__all__ = ["consume", "give_back", "read_used", "usage_rows"]

_C = UsageCounter.__table__.c


def read_used(connection: Connection | Session, keys: Sequence[str]) -> dict[str, int]:
    """``used`` of each counter that exists (a missing one is unused)."""
    if not keys:
        return {}
    rows = connection.execute(select(_C.key, _C.used).where(_C.key.in_(list(keys))))
    return {key: used for key, used in rows}


def consume(connection: Connection, programme: str, transaction_id: str, takes: Iterable[UsageTake]) -> None:
    """Add every take to its counter, or raise BudgetExceeded naming the first that would overspend."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for take in takes:
        if take.amount > take.cap:
            raise BudgetExceeded(take.what)
        stmt = insert(UsageCounter).values(key=take.key, programme=programme, used=take.amount, cap=take.cap)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_C.key],
            set_={"used": _C.used + stmt.excluded.used, "cap": stmt.excluded.cap},
            where=_C.used + stmt.excluded.used <= stmt.excluded.cap,
        ).returning(_C.used)
        if connection.execute(stmt).first() is None:
            raise BudgetExceeded(take.what)
        connection.execute(
            SaleUsage.__table__.insert().values(
                transaction_id=transaction_id,
                key=take.key,
                amount=take.amount,
                returned=0,
                lines=take.lines_json,
            )
        )


def give_back(
    session: Session,
    transaction_id: str,
    before: Mapping[str, int],
    after: Mapping[str, int],
    sold: Mapping[str, int],
    completes_sale: bool,
) -> None:
    """A return's share back to the counters.

    ``before``/``after``: units (thousandths) of each line returned before and after this
    return; ``sold``: units sold. A fen counter gets back, per line, the telescoping share
    round-half-up(line fen x returned units / sold units), so the whole line gives back
    exactly what it took; a uses counter gets its use back once the whole sale is returned.
    """
    rows = session.execute(
        select(SaleUsage.key, SaleUsage.amount, SaleUsage.returned, SaleUsage.lines)
        .where(SaleUsage.transaction_id == transaction_id)
        .order_by(SaleUsage.key)
    ).all()
    for key, amount, returned, lines_json in rows:
        per_line: dict[str, int] = json.loads(lines_json)
        if per_line:
            back = 0
            for line, fen in per_line.items():
                units = sold.get(line, 1)
                back += _share(fen, after.get(line, 0), units) - _share(fen, before.get(line, 0), units)
        else:
            back = amount if completes_sale else 0
        back = min(back, amount - returned)
        if back <= 0:
            continue
        session.execute(
            update(UsageCounter).where(UsageCounter.key == key).values(used=UsageCounter.used - back)
        )
        session.execute(
            update(SaleUsage)
            .where(SaleUsage.transaction_id == transaction_id, SaleUsage.key == key)
            .values(returned=SaleUsage.returned + back)
        )


def _share(fen: int, units: int, sold: int) -> int:
    return fen if units >= sold else round_half_up(fen * units, sold)


def usage_rows(session: Session, prefix: str) -> list[dict[str, Any]]:
    """Every counter whose key starts with ``prefix`` (a programme's, or one campaign's)."""
    rows = session.execute(
        select(_C.key, _C.used, _C.cap).where(_C.key.like(prefix.replace("%", r"\%") + "%")).order_by(_C.key)
    )
    return [{"key": key, "used": used, "cap": cap} for key, used, cap in rows]
