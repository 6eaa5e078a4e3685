"""The rows finance's exports share: the line columns, and the period's sums per tax rate.

Used by the CSV and JSON writers of :mod:`server.finance.export` and by the workbook
(:mod:`server.finance.workbook`), so every form has the same columns and totals.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine.model import TaxRate
from engine.money import format_fen

__all__ = [
    "COLUMNS",
    "HEAD",
    "LINE_KEYS",
    "REFERRAL_TOTAL",
    "TOTAL_KINDS",
    "RateSums",
    "csv_field",
    "csv_rows_of",
    "line_dict",
    "referral_points",
    "rows_of",
]

COLUMNS = (
    "record",  # sale | return
    "transaction_id",
    "return_id",
    "date",  # the local day of the sale, or of the return
    "store",
    "till",
    "member",  # masked
    "ruleset_version",
    "payable",  # the record's: what the customer paid (a sale) or got back, negative (a return)
    "invoice_no",  # which of the sale's (or the return's red) invoices, from 1
    "line_no",
    "kind",  # 正常行 / 折扣行 / 被折扣行
    "line_id",
    "name",
    "tax_code",
    "tax_rate",
    "quantity",
    "amount",  # 金额, excluding tax
    "tax",  # 税额
    "gross",  # 价税合计 of the line
    "points",  # a referral row's: the referrer's points (negative: a return took them back)
)
TOTAL_KINDS = ("period_total_sales", "period_total_returns", "period_total")
REFERRAL_TOTAL = "period_total_referral_points"
HEAD = COLUMNS[:9]  # what a record says once, before each of its lines
LINE_KEYS = COLUMNS[10:20]  # a line is a tuple of these, then its amount, tax and gross in fen
_NO_LINE = ("",) * (len(COLUMNS) - len(HEAD) - 1)
_RATE = LINE_KEYS.index("tax_rate")
_AMOUNT_FEN = len(LINE_KEYS)


@dataclass
class RateSums:
    """Fen per tax rate for the period: [amount, tax, gross] of sales and of returns; and the
    referral points (referral entries less what returns took back of them)."""

    sales: dict[str, list[int]] = field(default_factory=dict)
    returns: dict[str, list[int]] = field(default_factory=dict)
    referral_points: int | None = None  # None: the period has no referral entries

    def add(self, record: dict[str, Any]) -> None:
        """Add the lines of a record's invoices (tuples, :data:`LINE_KEYS` then the three fen)."""
        if record["record"] not in ("sale", "return"):
            self.referral_points = (self.referral_points or 0) + referral_points(record)
            return
        book = self.sales if record["record"] == "sale" else self.returns
        for invoice in record["invoices"]:
            for line in invoice["lines"]:
                acc = book.get(line[_RATE])
                if acc is None:
                    acc = book[line[_RATE]] = [0, 0, 0]
                acc[0] += line[_AMOUNT_FEN]
                acc[1] += line[_AMOUNT_FEN + 1]
                acc[2] += line[_AMOUNT_FEN + 2]

    def rows(self) -> list[dict[str, str]]:
        """One row per rate and kind (sales, returns, net), rates highest first."""
        out = []
        for rate in sorted(self.sales.keys() | self.returns.keys(), key=_rate_order):
            s = self.sales.get(rate, [0, 0, 0])
            r = self.returns.get(rate, [0, 0, 0])
            net = [a + b for a, b in zip(s, r, strict=True)]
            for kind, sums in zip(TOTAL_KINDS, (s, r, net), strict=True):
                out.append(
                    {
                        "record": kind,
                        "tax_rate": rate,
                        "amount": format_fen(sums[0]),
                        "tax": format_fen(sums[1]),
                        "gross": format_fen(sums[2]),
                    }
                )
        if self.referral_points is not None:
            out.append({"record": REFERRAL_TOTAL, "points": str(self.referral_points)})
        return out


def referral_points(record: dict[str, Any]) -> int:
    """A referral record's points, signed: earned, or (a return's) taken back."""
    return int(record["points_earned"]) - int(record["points_clawed_back"])


def _rate_order(label: str) -> tuple:
    try:
        rate = TaxRate.parse(label)
    except ValueError:
        return (1, Fraction(0), label)
    return (0, -rate.rate, rate.exemption)


def rows_of(record: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The CSV / sheet rows of one record, values in :data:`COLUMNS` order: one per invoice line,
    or (a referral entry, which has no invoice) one with its points."""
    head = tuple(record[k] for k in HEAD)
    if record["record"] not in ("sale", "return"):
        yield head + _NO_LINE + (referral_points(record),)
        return
    for invoice in record["invoices"]:
        number = (invoice["number"],)
        for line in invoice["lines"]:
            yield head + number + line[:_AMOUNT_FEN] + ("",)


@functools.lru_cache(maxsize=1 << 16)
def csv_field(text: str) -> str:
    """``text`` as the csv module's default dialect writes it (QUOTE_MINIMAL): quoted, quotes
    doubled, only when it holds a comma, a quote or a line break. Names, ids and codes repeat,
    so each is looked at once."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_rows_of(record: dict[str, Any]) -> Iterator[str]:
    """:func:`rows_of` as CSV text, each row ending in CRLF like csv.writer's: the csv module
    looked at every field of ~9 million rows a million sales make, most of them numbers."""
    q = csv_field
    head = ",".join(q(str(record[k])) for k in HEAD)
    if record["record"] not in ("sale", "return"):
        yield f"{head}{',' * len(_NO_LINE)},{referral_points(record)}\r\n"
        return
    for invoice in record["invoices"]:
        start = f"{head},{invoice['number']},"
        for no, kind, line_id, name, code, rate, qty, amount, tax, gross, *_ in invoice["lines"]:
            text = f"{q(line_id)},{q(name)},{q(code)},{q(rate)},{qty},{amount},{tax},{gross}"
            yield f"{start}{no},{kind},{text},\r\n"


def line_dict(line: tuple[Any, ...]) -> dict[str, Any]:
    """A line as the JSON export shows it: :data:`LINE_KEYS` by name."""
    return dict(zip(LINE_KEYS, line, strict=False))
