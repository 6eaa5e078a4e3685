"""Budget and limit counters in SQL: read what is used, consume atomically, give back on returns.

Consuming is one conditional upsert of the sale's counters, last in the sale's own transaction:
``INSERT ... ON CONFLICT (key) DO UPDATE SET used = used + n WHERE used + n <= cap``.
The row lock the upsert takes serialises tills on one counter (PostgreSQL re-checks the
WHERE against the newest row; SQLite has one writer), so no read-then-write race can
overspend by one fen or one use: a sale that would is BudgetExceeded and its transaction,
sale row included, rolls back. Rows are listed in key order (server/sales/budgets.py sorts the
takes), one lock order for every till.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, TextClause, select, text, update
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


def consume(connection: Connection, programme: str, transaction_id: str, takes: Sequence[UsageTake]) -> None:
    """Add every take to its counter, or raise BudgetExceeded naming the first that would overspend.

    One multi-row upsert for all the counters (one round trip; a counter whose WHERE fails is
    simply not returned) and one multi-row insert of what the sale took.
    """
    for take in takes:
        if take.amount > take.cap:
            raise BudgetExceeded(take.what)
    params: dict[str, Any] = {"p": programme, "t": transaction_id}
    for n, take in enumerate(takes):
        params.update({f"k{n}": take.key, f"u{n}": take.amount, f"c{n}": take.cap, f"l{n}": take.lines_json})
    upsert, record = _statements(len(takes))
    connection.execute(record, params)  # first: the shared counter rows are locked from the upsert on
    done = {row[0] for row in connection.execute(upsert, params)}
    for take in takes:
        if take.key not in done:
            raise BudgetExceeded(take.what)


@functools.cache
def _statements(n: int) -> tuple[TextClause, TextClause]:
    """The upsert of ``n`` counters and the insert of the sale's ``n`` takes (same SQL on both
    databases: INSERT .. ON CONFLICT .. DO UPDATE .. WHERE .. RETURNING)."""
    rows = ", ".join(f"(:k{i}, :p, :u{i}, :c{i})" for i in range(n))
    upsert = text(
        f"INSERT INTO usage_counters (key, programme, used, cap) VALUES {rows} "
        "ON CONFLICT (key) DO UPDATE SET used = usage_counters.used + excluded.used, cap = excluded.cap "
        "WHERE usage_counters.used + excluded.used <= excluded.cap RETURNING key"
    )
    taken = ", ".join(f"(:t, :k{i}, :u{i}, 0, :l{i})" for i in range(n))
    record = text(f"INSERT INTO sale_usage (transaction_id, key, amount, returned, lines) VALUES {taken}")
    return upsert, record


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
