"""Budget and limit counters in SQL: read what is used, consume atomically, give back on returns.

A counter every till shares (a campaign's budget) is split into :data:`STRIPES` rows so tills
commit on different rows instead of queueing on one row lock; a per-member limit is one row.
Each stripe may use up to its ``allot``, and a counter's allotments add up to at most its
``cap``, so the sum of what the stripes used can never pass the cap.

Consuming is one conditional upsert, last in the sale's own transaction, on the stripe the
sale's transaction id picks: ``... ON CONFLICT (key, stripe) DO UPDATE SET used = used + n
WHERE used + n <= allot AND cap = <this version's cap>``. The row lock serialises tills on one
stripe (PostgreSQL re-checks the WHERE against the newest row; SQLite has one writer), so no
read-then-write race can overspend by one fen or one use. When a stripe has not enough left
(or does not exist yet, or its cap is another version's) the upsert takes nothing and
:class:`StripeDry` asks the store to run the sale again with ``rebalance``: that locks every
stripe of the counter, in stripe order, takes from the total (BudgetExceeded when the total has
not enough left: the sale's transaction, sale row included, rolls back) and spreads what is
left over the stripes again. So the last fen of a budget is usable whichever stripe holds it.
Rows are taken in key order (server/sales/budgets.py sorts the takes) and stripes in stripe
order: one lock order for every till.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    TextClause,
    bindparam,
    column,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from engine.money import round_half_up
from server.storage.errors import BudgetExceeded
from server.storage.models import SaleUsage, UsageCounter
from server.storage.results import UsageTake

__all__ = ["STRIPES", "StripeDry", "consume", "give_back", "read_used", "totals", "usage_rows", "used_column"]

STRIPES = 64
"""Rows of a counter every till shares; a sale picks one from its transaction id. With 8 tills in
flight a sale meets another on its stripe about 1 time in 10 (16 stripes: 1 in 3). More stripes
make the first sale of a period (it makes them all) and each rebalance dearer, and small budgets
(a few sales' worth a stripe) rebalance on most sales; correctness does not depend on it."""

_C = UsageCounter.__table__.c


class StripeDry(Exception):
    """The stripe a sale picked could not take its share: run the sale again with ``rebalance``."""


def stripe_of(take: UsageTake, transaction_id: str) -> int:
    return zlib.crc32(transaction_id.encode()) % STRIPES if take.shared else 0


def used_column(n: int) -> Any:
    """What counter key ``:u_key{n}`` has used (0: none): a scalar subquery the pricing read carries."""
    return (
        select(func.coalesce(func.sum(_C.used), 0))
        .where(_C.key == bindparam(f"u_key{n}"))
        .scalar_subquery()
        .label(f"u{n}")
    )


def read_used(connection: Connection | Session, keys: Sequence[str]) -> dict[str, int]:
    """``used`` of each counter that exists (a missing one is unused), summed over its stripes."""
    if not keys:
        return {}
    rows = connection.execute(
        select(_C.key, func.sum(_C.used)).where(_C.key.in_(list(keys))).group_by(_C.key)
    )
    return {key: int(used) for key, used in rows}


def totals(connection: Connection | Session) -> dict[str, tuple[int, int]]:
    """Every counter's (used, cap), its stripes summed."""
    rows = connection.execute(select(_C.key, func.sum(_C.used), func.max(_C.cap)).group_by(_C.key))
    return {key: (int(used), int(cap)) for key, used, cap in rows}


def check_caps(takes: Sequence[UsageTake]) -> None:
    """BudgetExceeded for a take larger than its whole cap (no stripe or rebalance can serve it)."""
    for take in takes:
        if take.amount > take.cap:
            raise BudgetExceeded(take.what)


def params(programme: str, transaction_id: str, takes: Sequence[UsageTake]) -> dict[str, Any]:
    """The bind values of :func:`consume`'s statements (and of :func:`write_ctes`)."""
    out: dict[str, Any] = {"p": programme, "t": transaction_id}
    for n, take in enumerate(takes):
        out.update(
            {
                f"k{n}": take.key,
                f"s{n}": stripe_of(take, transaction_id),
                f"u{n}": take.amount,
                # A new row of a per-member limit is the whole counter; a new stripe has no allotment
                # yet (the upsert returns it with 0: StripeDry, and the rollback removes it).
                f"a{n}": 0 if take.shared else take.cap,
                f"c{n}": take.cap,
                f"l{n}": take.lines_json,
            }
        )
    return out


def check_taken(takes: Sequence[UsageTake], taken: int) -> None:
    """StripeDry unless all ``takes`` were taken (``taken``: rows the upsert returned with an allotment)."""
    if taken != len(takes):
        raise StripeDry()


def consume(
    connection: Connection,
    programme: str,
    transaction_id: str,
    takes: Sequence[UsageTake],
    *,
    rebalance: bool = False,
) -> None:
    """Add every take to its counter, or raise BudgetExceeded naming the first that would overspend.

    Without ``rebalance``: one multi-row upsert on the picked stripes, which also records what the
    sale took (PostgreSQL: one statement; SQLite: two), and StripeDry when a stripe could not take
    its share. With ``rebalance``: every counter in turn from all its stripes (:func:`_rebalance`).
    """
    check_caps(takes)
    values = params(programme, transaction_id, takes)
    upsert, record = _statements(len(takes))
    if rebalance:
        for n, take in enumerate(takes):
            _rebalance(connection, programme, take, values[f"s{n}"])
        connection.execute(record, values)
        return
    if connection.dialect.name == "postgresql":  # one round trip: the record is a CTE of the upsert
        done = dict(connection.execute(_one_statement(len(takes)), values).all())
    else:
        connection.execute(record, values)  # first: the shared counter rows are locked from the upsert on
        done = dict(connection.execute(upsert, values).all())
    check_taken(takes, sum(1 for allot in done.values() if allot > 0))


@functools.cache
def _statements(n: int, after: str = "") -> tuple[TextClause, TextClause]:
    """The upsert of ``n`` counters' picked stripes and the insert of the sale's ``n`` takes (the same
    SQL on both databases: INSERT .. ON CONFLICT .. DO UPDATE .. WHERE .. RETURNING). ``after``: a
    CTE of the same statement the upsert reads first (so its row lock comes before the stripes')."""
    rows = ", ".join(f"(:k{i}, :s{i}, :p, :u{i}, :a{i}, :c{i})" for i in range(n))
    source = f"VALUES {rows}"
    if after:
        source = f"SELECT v.* FROM (VALUES {rows}) AS v WHERE EXISTS (SELECT 1 FROM {after})"
    upsert = (
        f"INSERT INTO usage_counters (key, stripe, programme, used, allot, cap) {source} "
        "ON CONFLICT (key, stripe) DO UPDATE SET used = usage_counters.used + excluded.used "
        "WHERE usage_counters.used + excluded.used <= usage_counters.allot "
        "AND usage_counters.cap = excluded.cap RETURNING key, allot"
    )
    taken = ", ".join(f"(:t, :k{i}, :s{i}, :u{i}, 0, :l{i})" for i in range(n))
    record = f"INSERT INTO sale_usage (transaction_id, key, stripe, amount, returned, lines) VALUES {taken}"
    return text(upsert), text(record)


@functools.cache
def _one_statement(n: int) -> TextClause:
    """PostgreSQL: the upsert and the record as one statement (data-modifying CTEs)."""
    upsert, record = _statements(n)
    return text(f"WITH taken AS ({upsert.text}), noted AS ({record.text}) SELECT key, allot FROM taken")


@functools.cache
def write_ctes(n: int, after: str = "") -> tuple[Any, Any]:
    """PostgreSQL: the upsert (its rows: key, allot) and the record as CTEs of a commit's one statement."""
    upsert, record = _statements(n, after)
    return (
        upsert.columns(column("key"), column("allot", BigInteger())).cte("usage_taken"),
        text(record.text + " RETURNING key").columns(column("key")).cte("usage_noted"),
    )


_LOCK_STRIPES: Select[Any] = (
    select(_C.stripe, _C.used).where(_C.key == bindparam("k")).order_by(_C.stripe).with_for_update()
)
_SET_STRIPE = (
    update(UsageCounter)
    .where(_C.key == bindparam("k"), _C.stripe == bindparam("s"))
    .values(used=bindparam("u"), allot=bindparam("a"), cap=bindparam("c"))
)


def _rebalance(connection: Connection, programme: str, take: UsageTake, stripe: int) -> None:
    """Take ``take`` from the whole counter: lock every stripe (making the missing ones, with no
    allotment), refuse when their total has not enough left, else add the take to ``stripe`` and
    spread what is left of the cap evenly over the stripes as their new allotments."""
    count = STRIPES if take.shared else 1
    stripes = [
        {"key": take.key, "stripe": i, "programme": programme, "used": 0, "allot": 0, "cap": take.cap}
        for i in range(count)
    ]
    connection.execute(_insert_missing(connection.dialect.name), stripes)
    used = dict(connection.execute(_LOCK_STRIPES, {"k": take.key}).all())
    left = take.cap - sum(used.values()) - take.amount
    if left < 0:
        raise BudgetExceeded(take.what)
    used[stripe] += take.amount
    share, extra = divmod(left, len(used))
    connection.execute(
        _SET_STRIPE,
        [
            {"k": take.key, "s": s, "u": u, "a": u + share + (1 if n < extra else 0), "c": take.cap}
            for n, (s, u) in enumerate(sorted(used.items()))
        ],
    )


@functools.cache
def _insert_missing(dialect: str) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING (each dialect has its own construct; both render the same SQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(UsageCounter).on_conflict_do_nothing(index_elements=["key", "stripe"])


def give_back(
    session: Session,
    transaction_id: str,
    before: Mapping[str, int],
    after: Mapping[str, int],
    sold: Mapping[str, int],
    completes_sale: bool,
) -> None:
    """A return's share back to the stripe the sale took it from.

    ``before``/``after``: units (thousandths) of each line returned before and after this
    return; ``sold``: units sold. A fen counter gets back, per line, the telescoping share
    round-half-up(line fen x returned units / sold units), so the whole line gives back
    exactly what it took; a uses counter gets its use back once the whole sale is returned.
    The stripe's ``used`` includes what the sale took, so it stays >= 0.
    """
    rows = session.execute(
        select(SaleUsage.key, SaleUsage.stripe, SaleUsage.amount, SaleUsage.returned, SaleUsage.lines)
        .where(SaleUsage.transaction_id == transaction_id)
        .order_by(SaleUsage.key)
    ).all()
    for key, stripe, amount, returned, lines_json in rows:
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
            update(UsageCounter)
            .where(UsageCounter.key == key, UsageCounter.stripe == stripe)
            .values(used=UsageCounter.used - back)
        )
        session.execute(
            update(SaleUsage)
            .where(SaleUsage.transaction_id == transaction_id, SaleUsage.key == key)
            .values(returned=SaleUsage.returned + back)
        )


def _share(fen: int, units: int, sold: int) -> int:
    return fen if units >= sold else round_half_up(fen * units, sold)


def usage_rows(session: Session, prefix: str) -> list[dict[str, Any]]:
    """Every counter whose key starts with ``prefix`` (a programme's, or one campaign's), stripes summed."""
    rows = session.execute(
        select(_C.key, func.sum(_C.used), func.max(_C.cap))
        .where(_C.key.like(prefix.replace("%", r"\%") + "%"))
        .group_by(_C.key)
        .order_by(_C.key)
    )
    return [{"key": key, "used": int(used), "cap": int(cap)} for key, used, cap in rows]
