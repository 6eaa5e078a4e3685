"""Finance's two reads of the ledger: export a date range, and prove stored sales reproduce.

The export streams rows (``yield_per``) so a month of sales never sits in memory, and
shows a progress bar on stderr when it is long. Verification trusts nothing stored
but the request and the ruleset source: it compiles the source again, checks its
digest, re-prices the request and compares field by field with the stored reply
and invoice.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from google.protobuf import json_format
from sqlalchemy import func, select

from engine.compiled import CompiledRuleset
from server.storage import codec
from server.storage.models import Return, Sale
from server.storage.store import Ledger

__all__ = ["PROGRESS_FROM", "VerifyReport", "differences", "export", "verify"]

PROGRESS_FROM = 500  # records: below this an export is quick and a bar would only flicker
CSV_COLUMNS = (
    "record",
    "transaction_id",
    "return_id",
    "date",
    "ruleset_version",
    "line_no",
    "kind",
    "line_id",
    "name",
    "tax_code",
    "tax_rate",
    "quantity_milli",
    "amount_fen",
    "tax_fen",
    "gross_fen",
)


# --------------------------------------------------------------------------- export


def export(ledger: Ledger, first: date, last: date, zone: ZoneInfo, fmt: str, out: IO[str]) -> int:
    """Write every sale (by its local day) and return (by its local day in ``zone``) of [first, last]."""
    from tqdm import tqdm

    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    sales_q = select(Sale).where(Sale.local_date >= first, Sale.local_date <= last).order_by(Sale.sold_at)
    returns_q = (
        select(Return, Sale.ruleset_version)
        .join(Sale, Sale.transaction_id == Return.transaction_id)
        .where(Return.created_at >= start, Return.created_at < end)
        .order_by(Return.created_at)
    )
    with ledger.snapshots() as session:
        total = session.scalar(select(func.count()).select_from(sales_q.subquery())) + session.scalar(
            select(func.count()).select_from(returns_q.subquery())
        )
        bar = tqdm(total=total, file=sys.stderr, unit="rec", disable=total < PROGRESS_FROM, desc="export")
        records = _records(session, sales_q, returns_q, zone)
        writer = _JsonWriter(out) if fmt == "json" else _CsvWriter(out)
        n = 0
        for record in records:
            writer.write(record)
            n += 1
            bar.update(1)
        writer.close()
        bar.close()
    return n


def _records(session: Any, sales_q: Any, returns_q: Any, zone: ZoneInfo) -> Iterator[dict[str, Any]]:
    for sale in session.scalars(sales_q.execution_options(yield_per=500)):
        invoice = _json_or_none(sale.invoice) or {}
        yield {
            "record": "sale",
            "transaction_id": sale.transaction_id,
            "date": sale.local_date.isoformat(),
            "sold_at": sale.sold_at.isoformat(),
            "ruleset": sale.ruleset,
            "ruleset_version": sale.ruleset_version,
            "member_id": sale.member_id or "",
            "payable_fen": sale.payable_fen,
            "points_earned": sale.points_earned,
            "points_redeemed": sale.points_redeemed,
            "state": sale.state,
            "invoice_lines": invoice.get("lines", []),
            "rate_totals": invoice.get("rateTotals", []),
            "invoice_refused": invoice.get("refusedReason", ""),
        }
    for ret, version in session.execute(returns_q.execution_options(yield_per=500)):
        red = codec.red_lines_from_json(ret.red_lines)
        from server.wire.ledger import red_lines_to_proto

        lines = [json_format.MessageToDict(m) for m in red_lines_to_proto(red)]
        yield {
            "record": "return",
            "transaction_id": ret.transaction_id,
            "return_id": ret.return_id,
            "date": ret.created_at.astimezone(zone).date().isoformat(),
            "ruleset_version": version,
            "refund_fen": ret.refund_fen,
            "points_clawed_back": ret.points_clawed_back,
            "discount_reversed_fen": ret.discount_reversed_fen,
            "invoice_lines": lines,
            "rate_totals": _rate_totals(lines),
        }


def _rate_totals(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_rate: dict[str, dict[str, Any]] = {}
    for line in lines:
        t = by_rate.setdefault(
            line.get("taxRate", ""),
            {"taxRate": line.get("taxRate", ""), "amountFen": 0, "taxFen": 0, "grossFen": 0},
        )
        for key in ("amountFen", "taxFen", "grossFen"):
            t[key] += int(line.get(key, 0))
    return [{k: (str(v) if k != "taxRate" else v) for k, v in t.items()} for t in by_rate.values()]


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


class _JsonWriter:
    """A JSON array written one record at a time."""

    def __init__(self, out: IO[str]) -> None:
        self.out, self.first = out, True
        out.write("[")

    def write(self, record: dict[str, Any]) -> None:
        self.out.write("\n" if self.first else ",\n")
        self.out.write(json.dumps(record, ensure_ascii=False, sort_keys=True))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]\n")


class _CsvWriter:
    """One row per invoice line, then one per tax rate total of the record."""

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(CSV_COLUMNS)

    def write(self, record: dict[str, Any]) -> None:
        head = [record["record"], record["transaction_id"], record.get("return_id", ""), record["date"]]
        head.append(record["ruleset_version"])
        for line in record["invoice_lines"]:
            self.writer.writerow(
                [
                    *head,
                    line.get("no", ""),
                    line.get("kind", 0),
                    line.get("lineId", ""),
                    line.get("name", ""),
                    line.get("taxCode", ""),
                    line.get("taxRate", ""),
                    line.get("quantityMilli", ""),
                    line.get("amountFen", "0"),
                    line.get("taxFen", "0"),
                    line.get("grossFen", "0"),
                ]
            )
        for t in record["rate_totals"]:
            total = [f"{record['record']}_rate_total", *head[1:], "", "", "", "", ""]
            total += [t.get("taxRate", ""), "", t.get("amountFen", "0"), t.get("taxFen", "0")]
            self.writer.writerow([*total, t.get("grossFen", "0")])

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- verify


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def verify(
    ledger: Ledger, transaction_id: str | None, folder: Callable[[], dict[str, CompiledRuleset]]
) -> VerifyReport:
    """Re-price the sale ``transaction_id`` (or every sale) and list every difference from what is stored."""
    from server.rulesets.sources import SourceBook
    from server.sales.desk import reprice

    book = SourceBook(ledger)
    report = VerifyReport()
    where = [] if transaction_id is None else [Sale.transaction_id == transaction_id]
    query = select(
        Sale.transaction_id, Sale.ruleset, Sale.ruleset_digest, Sale.request, Sale.result, Sale.invoice
    )
    query = query.where(*where).order_by(Sale.sold_at, Sale.transaction_id).execution_options(yield_per=500)
    # One snapshot for the versions and the scan, so a sale committed meanwhile is in neither.
    with ledger.snapshots() as session:
        versions = session.execute(select(Sale.ruleset_digest, Sale.ruleset).where(*where).distinct()).all()
        compiled_by_digest: dict[str, CompiledRuleset | None] = {}
        folder_cache: dict[str, CompiledRuleset] | None = None
        for digest, name in versions:
            compiled = _from_source(book, digest, name)
            if compiled is None:
                folder_cache = folder() if folder_cache is None else folder_cache
                compiled = folder_cache.get(digest)
            compiled_by_digest[digest] = compiled
        for tid, name, digest, request, result, invoice in session.execute(query):
            report.checked += 1
            compiled = compiled_by_digest.get(digest)
            if compiled is None:
                report.problems.append(
                    f"{tid}: cannot reproduce: ruleset {name} {digest[:12]} is not stored or found"
                )
                continue
            try:
                reply, invoice_now = reprice(compiled, request)
            except Exception as exc:  # a stored request that no longer prices is itself the finding
                report.problems.append(f"{tid}: cannot reproduce: {type(exc).__name__}: {exc}")
                continue
            now = {
                "result": json_format.MessageToDict(reply),
                "invoice": json_format.MessageToDict(invoice_now),
            }
            stored = {"result": _json_or_none(result), "invoice": _json_or_none(invoice)}
            for path, was, is_now in differences(stored, now):
                report.problems.append(f"{tid}: {path}: stored {was!r}, re-priced {is_now!r}")
    return report


def _from_source(book: Any, digest: str, name: str) -> CompiledRuleset | None:
    import dsl
    from dsl.programme import is_bundle
    from engine.compiled import compile_ruleset

    found = book.load(digest)
    if found is None:
        return None
    # A multi-file version is stored as a bundle (dsl.programme): its files are named NAME/FILE.
    name = found[0] if is_bundle(found[1]) else f"{found[0]}.rules"
    compiled = compile_ruleset(dsl.load(found[1], name))
    return compiled if compiled.digest == digest else None


def differences(a: Any, b: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (path, a's value, b's value) where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from differences(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            yield from differences(a[i] if i < len(a) else None, b[i] if i < len(b) else None, f"{path}[{i}]")
    elif a != b:
        yield path, a, b
