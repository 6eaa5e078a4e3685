"""Invoice lines as finance reads them: rows, an aligned table, CSV and JSON for ``promo invoice``.

Money is rendered from fen with :func:`engine.money.format_fen` and unit prices from
their exact ``Decimal``, so what is printed is what was computed: no float ever
touches a figure.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from typing import Any

from engine.invoice.build import Invoice, InvoiceLine, LineKind
from engine.invoice.tax import rate_label
from engine.money import format_fen, format_qty

__all__ = [
    "COLUMNS",
    "render_csv",
    "render_csv_many",
    "render_table",
    "text_width",
    "to_json_dict",
    "to_rows",
]

COLUMNS: tuple[tuple[str, str], ...] = (
    ("no", "序号"),
    ("kind", "行性质"),
    ("name", "项目名称"),
    ("tax_code", "税收分类编码"),
    ("rate", "税率"),
    ("quantity", "数量"),
    ("unit_price", "单价(不含税)"),
    ("amount", "金额"),
    ("tax", "税额"),
    ("gross", "价税合计"),
)
"""(row key, header finance reads) in print order."""

_RIGHT = frozenset({"no", "quantity", "unit_price", "amount", "tax", "gross"})


def to_rows(invoice: Invoice) -> list[dict[str, str]]:
    """One dict per invoice line, then one per tax rate (kind "rate_total") and the total (kind "total")."""
    rows = [_line_row(line) for line in invoice.lines]
    if not invoice.lines:
        return rows
    for t in invoice.by_rate:
        label = rate_label(t.rate)
        rows.append(_total_row("rate_total", f"小计 {label}", label, t.amount, t.tax, t.gross))
    totals = invoice.totals
    rows.append(_total_row("total", "合计", "", totals.amount, totals.tax, totals.gross))
    return rows


def render_table(invoice: Invoice) -> str:
    """An aligned text table (CJK characters count two columns), or the reason there is no invoice."""
    if invoice.refused:
        return invoice.refused + "\n"
    header = {key: title for key, title in COLUMNS}
    rows = [header, *(_displayed(row) for row in to_rows(invoice))]
    widths = {key: max(text_width(row[key]) for row in rows) for key, _ in COLUMNS}
    rule = "  ".join("-" * widths[key] for key, _ in COLUMNS)
    out = []
    for n, row in enumerate(rows):
        starts_totals = n > 1 and not row["no"] and rows[n - 1]["no"]
        if n == 1 or starts_totals or row["name"] == "合计":
            out.append(rule)
        cells = [_pad(row[key], widths[key], key in _RIGHT and n > 0) for key, _ in COLUMNS]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def render_csv(invoice: Invoice) -> str:
    """The rows as CSV with the row keys as header; a refused invoice gives the header alone."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[key for key, _ in COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(to_rows(invoice))
    return buffer.getvalue()


def render_csv_many(invoices: Sequence[Invoice]) -> str:
    """One invoice: :func:`render_csv`. A split sale: the same rows with the invoice number first."""
    if len(invoices) == 1:
        return render_csv(invoices[0])
    buffer = io.StringIO()
    names = ["invoice", *(key for key, _ in COLUMNS)]
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for number, invoice in enumerate(invoices, 1):
        writer.writerows({"invoice": str(number), **row} for row in to_rows(invoice))
    return buffer.getvalue()


def to_json_dict(invoice: Invoice) -> dict[str, Any]:
    """Everything on the invoice as JSON-ready values; money is a string like "6.19"."""
    return {
        "ruleset": invoice.ruleset,
        "version": invoice.version,
        "issued": invoice.issued,
        "refused": invoice.refused,
        "lines": [_line_json(line) for line in invoice.lines],
        "totals": {
            "amount": format_fen(invoice.totals.amount),
            "tax": format_fen(invoice.totals.tax),
            "gross": format_fen(invoice.totals.gross),
        },
        "by_rate": [
            {
                "rate": rate_label(t.rate),
                "exemption": t.rate.exemption,
                "amount": format_fen(t.amount),
                "tax": format_fen(t.tax),
                "gross": format_fen(t.gross),
            }
            for t in invoice.by_rate
        ],
    }


def text_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK) characters two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


# --------------------------------------------------------------------------- helpers


def _line_row(line: InvoiceLine) -> dict[str, str]:
    return {
        "no": str(line.no),
        "kind": str(int(line.kind)),
        "name": line.name,
        "tax_code": line.tax_code,
        "rate": rate_label(line.rate),
        "quantity": "" if line.quantity is None else format_qty(line.quantity),
        "unit_price": "" if line.unit_price_excl is None else str(line.unit_price_excl),
        "amount": format_fen(line.amount),
        "tax": format_fen(line.tax),
        "gross": format_fen(line.gross),
    }


def _total_row(kind: str, name: str, rate: str, amount: int, tax: int, gross: int) -> dict[str, str]:
    return {
        "no": "",
        "kind": kind,
        "name": name,
        "tax_code": "",
        "rate": rate,
        "quantity": "",
        "unit_price": "",
        "amount": format_fen(amount),
        "tax": format_fen(tax),
        "gross": format_fen(gross),
    }


def _line_json(line: InvoiceLine) -> dict[str, Any]:
    return {
        "no": line.no,
        "kind": int(line.kind),
        "kind_shudian": line.kind.shudian,
        "kind_label": line.kind.label,
        "line_id": line.line_id,
        "name": line.name,
        "tax_code": line.tax_code,
        "rate": rate_label(line.rate),
        "exemption": line.rate.exemption,
        "flags": {
            "zero_rate": line.flags.zero_rate,
            "preferential": line.flags.preferential,
            "special": line.flags.special,
            "yhzcbs": line.flags.yhzcbs,
        },
        "spec": line.spec,
        "unit": line.unit,
        "quantity": None if line.quantity is None else format_qty(line.quantity),
        "unit_price_excl": None if line.unit_price_excl is None else str(line.unit_price_excl),
        "amount": format_fen(line.amount),
        "tax": format_fen(line.tax),
        "gross": format_fen(line.gross),
    }


def _displayed(row: dict[str, str]) -> dict[str, str]:
    """The table shows a line's kind with its name ("2 被折扣行") and none on total rows."""
    kind = row["kind"]
    shown = f"{kind} {LineKind(int(kind)).label}" if kind.isdigit() else ""
    return {**row, "kind": shown}


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - text_width(text))
    return gap + text if right else text + gap
