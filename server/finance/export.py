"""``promo audit export``: every invoice line of a period's sales and returns, as finance books them.

Money is yuan with two decimals ("6.19", from fen by :func:`engine.money.format_fen`,
never a float), line kinds by name (正常行 / 折扣行 / 被折扣行), and each row says its
store, till, member (masked: finance needs to tell members apart, not to know them),
the record's payable and which of the sale's invoices it is on. After the records come
the period's totals per tax rate: sales, returns (red-letter lines) and net.

Three forms: CSV (one row per line, then the total rows), JSON (an object with
``records`` and ``period_totals``; snake_case keys, every key on every record) and
xlsx (:mod:`server.finance.workbook`). All stream: rows are read ``yield_per`` from one
snapshot of the ledger, so tills keep committing and memory stays flat.
"""

from __future__ import annotations

import csv
import functools
import io
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import func, select

from engine.invoice.build import LineKind
from engine.money import format_fen, format_qty
from server.finance.rows import COLUMNS, RateSums, csv_rows_of, line_dict
from server.finance.stored import RedLine, WireInvoice, red_invoices, sale_invoices, store_till
from server.finance.stream import stream
from server.storage.models import PointsEntry, Return, Sale
from server.storage.referrals import REFERRAL_KINDS
from server.storage.store import Ledger

__all__ = [
    "PROGRESS_FROM",
    "export",
    "mask_member",
    "records",
]

PROGRESS_FROM = 500  # records: below this an export is quick and a bar would only flicker


def mask_member(member_id: str | None) -> str:
    """ "M0012345" -> "M0****45": the first two and last two characters; "" for a guest."""
    if not member_id:
        return ""
    if len(member_id) <= 4:
        return member_id[0] + "*" * (len(member_id) - 1)
    return member_id[:2] + "*" * (len(member_id) - 4) + member_id[-2:]


# --------------------------------------------------------------------------- reading


def queries(session: Any, first: date, last: date, zone: ZoneInfo) -> tuple[Any, Any, Any]:
    """The export's three queries: the period's sales (by local day), returns and referral
    entries (by time)."""
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    sales_q = (
        select(
            Sale.transaction_id, Sale.local_date, Sale.request, Sale.member_id, Sale.ruleset_version,
            Sale.payable_fen, Sale.points_earned, Sale.points_redeemed, Sale.state, Sale.invoice,
        )
        .where(Sale.local_date >= first, Sale.local_date <= last)
        .order_by(Sale.local_date, Sale.sold_at, Sale.transaction_id)  # ix_sales_day_time: no sort
    )  # fmt: skip
    returns_q = (
        select(
            Return.return_id, Return.transaction_id, Return.created_at, Return.refund_fen,
            Return.points_clawed_back, Return.red_lines, Sale.request, Sale.member_id, Sale.ruleset_version,
        )
        .join(Sale, Sale.transaction_id == Return.transaction_id)
        .where(Return.created_at >= start, Return.created_at < end)
        .order_by(Return.created_at, Return.return_id)
    )  # fmt: skip
    referrals_q = (
        select(
            PointsEntry.kind, PointsEntry.transaction_id, PointsEntry.return_id, PointsEntry.created_at,
            PointsEntry.points, Sale.request, PointsEntry.member_id, Sale.ruleset_version,
        )
        .join(Sale, Sale.transaction_id == PointsEntry.transaction_id)
        .where(PointsEntry.kind.in_(REFERRAL_KINDS))
        .where(PointsEntry.created_at >= start, PointsEntry.created_at < end)
        .order_by(PointsEntry.created_at, PointsEntry.id)
    )  # fmt: skip
    return sales_q, returns_q, referrals_q


def records(session: Any, first: date, last: date, zone: ZoneInfo) -> tuple[int, Iterator[dict[str, Any]]]:
    """How many records the period has, and the records (sales by local day, then returns)."""
    found = queries(session, first, last, zone)
    total = sum(session.scalar(select(func.count()).select_from(q.subquery())) for q in found)
    return total, _records(session, *found, zone)


def _records(
    session: Any, sales_q: Any, returns_q: Any, referrals_q: Any, zone: ZoneInfo
) -> Iterator[dict[str, Any]]:
    for tid, day, request, member, version, payable, earned, redeemed, state, invoice in stream(
        session, sales_q
    ):
        store, till = store_till(request)
        yield {
            "record": "sale",
            "transaction_id": tid,
            "return_id": "",
            "date": day.isoformat(),
            "store": store,
            "till": till,
            "member": mask_member(member),
            "ruleset_version": version,
            "payable": format_fen(payable),
            "points_earned": earned,
            "points_redeemed": redeemed,
            "points_clawed_back": 0,
            "state": state,
            "invoices": [_sale_invoice(n, inv) for n, inv in enumerate(sale_invoices(invoice), 1)],
        }
    for rid, tid, created, refund, clawed, red, request, member, version in stream(session, returns_q):
        store, till = store_till(request)
        yield {
            "record": "return",
            "transaction_id": tid,
            "return_id": rid,
            "date": created.astimezone(zone).date().isoformat(),
            "store": store,
            "till": till,
            "member": mask_member(member),
            "ruleset_version": version,
            "payable": format_fen(-refund),
            "points_earned": 0,
            "points_redeemed": 0,
            "points_clawed_back": clawed,
            "state": "",
            "invoices": [_red_invoice(n, inv) for n, inv in enumerate(red_invoices(red), 1)],
        }
    for kind, tid, rid, created, points, request, referrer, version in stream(session, referrals_q):
        store, till = store_till(request)
        yield {  # a referrer's points from a referred member's sale, or what a return took back
            "record": kind,
            "transaction_id": tid,
            "return_id": rid or "",
            "date": created.astimezone(zone).date().isoformat(),
            "store": store,
            "till": till,
            "member": mask_member(referrer),
            "ruleset_version": version,
            "payable": format_fen(0),
            "points_earned": max(points, 0),
            "points_redeemed": 0,
            "points_clawed_back": max(-points, 0),
            "state": "",
            "invoices": [],
        }


# The yuan of a fen amount: amounts repeat (prices, discounts), so most are formatted once.
_yuan = functools.lru_cache(maxsize=1 << 16)(format_fen)
_qty = functools.lru_cache(maxsize=1 << 12)(format_qty)
_KIND = tuple(kind.label for kind in LineKind)


def _sale_invoice(number: int, wire: WireInvoice) -> dict[str, Any]:
    """A stored invoice in the export's terms, yuan; a line is a tuple (LINE_KEYS, then fen)."""
    lines = [
        (
            x.no, _KIND[x.kind], x.line_id, x.name, x.tax_code, x.tax_rate,
            "" if x.quantity_milli is None else _qty(x.quantity_milli),
            _yuan(x.amount_fen), _yuan(x.tax_fen), _yuan(x.gross_fen), x.amount_fen, x.tax_fen, x.gross_fen,
        )
        for x in wire.lines
    ]  # fmt: skip
    return {"number": number, "refused": wire.refused_reason, "lines": lines}


def _red_invoice(number: int, group: list[RedLine]) -> dict[str, Any]:
    """A red invoice as stored (:mod:`server.storage.codec`), its lines numbered from 1."""
    lines = [
        (
            no, _KIND[x.kind], x.line_id, x.name, x.tax_code, x.tax_rate,
            "" if x.quantity_milli is None else _qty(x.quantity_milli),
            _yuan(x.amount_fen), _yuan(x.tax_fen), _yuan(x.gross_fen), x.amount_fen, x.tax_fen, x.gross_fen,
        )
        for no, x in enumerate(group, 1)
    ]  # fmt: skip
    return {"number": number, "refused": "", "lines": lines}


# --------------------------------------------------------------------------- writing


def export(ledger: Ledger, first: date, last: date, zone: ZoneInfo, fmt: str, out: IO[Any]) -> int:
    """Write every sale (by its local day) and return (by its local day in ``zone``) of [first, last].

    ``out`` is text for csv and json, binary for xlsx. Returns the number of records.
    """
    from tqdm import tqdm

    with ledger.snapshots() as session:
        total, found = records(session, first, last, zone)
        bar = tqdm(total=total, file=sys.stderr, unit="rec", disable=total < PROGRESS_FROM, desc="export")
        if fmt == "xlsx":
            from server.finance.workbook import write_workbook

            n = write_workbook(found, out, bar)
        else:
            writer = _JsonWriter(out) if fmt == "json" else _CsvWriter(out)
            sums = RateSums()
            n = 0
            for record in found:
                sums.add(record)
                writer.write(record)
                n += 1
                bar.update(1)
            writer.close(sums)
        bar.close()
    return n


class _Buffered:
    """Text gathered in memory and handed to ``out`` 64 KiB at a time: a write per line into a
    file's encoder cost more than forming the line."""

    FLUSH_AT = 1 << 16

    def __init__(self, out: IO[str]) -> None:
        self.out, self.buffer = out, io.StringIO()

    def flush(self, at_least: int = 0) -> None:
        if self.buffer.tell() >= at_least:
            self.out.write(self.buffer.getvalue())
            self.buffer.seek(0)
            self.buffer.truncate()


class _JsonWriter(_Buffered):
    """``{"records": [...], "period_totals": [...]}``, written one record at a time, keys sorted.

    msgspec encodes a record about three times faster than ``json.dumps``; at a million sales
    that is the difference between the JSON export fitting in a minute or not.
    """

    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self.first = True
        self.encode = msgspec.json.Encoder(order="sorted").encode
        out.write('{"records": [')

    def write(self, record: dict[str, Any]) -> None:
        shown = {
            **record,
            "invoices": [
                {**inv, "lines": [line_dict(line) for line in inv["lines"]]} for inv in record["invoices"]
            ],
        }
        self.buffer.write("\n" if self.first else ",\n")
        self.buffer.write(self.encode(shown).decode())
        self.first = False
        self.flush(self.FLUSH_AT)

    def close(self, sums: RateSums) -> None:
        totals = self.encode(sums.rows()).decode()
        self.buffer.write(f'\n],\n"period_totals": {totals}}}\n')
        self.flush()


class _CsvWriter(_Buffered):
    """One row per invoice line; then, per tax rate, the period's sales, returns and net totals."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self.writer = csv.writer(self.buffer)
        self.writer.writerow(COLUMNS)
        self.flush()

    def write(self, record: dict[str, Any]) -> None:
        self.buffer.writelines(csv_rows_of(record))
        self.flush(self.FLUSH_AT)

    def close(self, sums: RateSums) -> None:
        self.writer.writerows([row.get(k, "") for k in COLUMNS] for row in sums.rows())
        self.flush()
