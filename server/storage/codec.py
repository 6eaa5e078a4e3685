"""JSON for the ledger's stored lines: sold lines, per-line return amounts and red-letter invoices.

Stored as text so finance reads exactly what was decided; keys are stable and
sorted, and every amount is an integer (fen, points, thousandths).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from engine.invoice.build import Invoice, InvoiceLine, LineKind
from engine.invoice.split import invoice_of_lines
from engine.invoice.tax import tax_flags
from engine.ledger.returns import LineReturn, Returned, SoldLine, flat_red_lines
from engine.model import TaxRate

__all__ = [
    "dump",
    "points_by_rule_from_json",
    "red_invoices_from_json",
    "red_invoices_to_json",
    "red_lines_from_json",
    "red_lines_to_json",
    "returns_from_json",
    "returns_to_json",
    "sold_lines_from_json",
    "sold_lines_to_json",
]


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sold_lines_to_json(lines: Iterable[SoldLine], points_by_rule: dict[str, int] | None = None) -> str:
    """``{"lines": [...], "points_by_rule": {...}}``: the sold lines and the points each rule added.

    Sales stored before the promotion report kept the bare list of lines (read by both
    :func:`sold_lines_from_json` and :func:`points_by_rule_from_json`).
    """
    return dump({"lines": _sold_lines_data(lines), "points_by_rule": points_by_rule or {}})


def _sold_lines_data(lines: Iterable[SoldLine]) -> list[dict[str, Any]]:
    return [
        {
            "line_id": s.line_id,
            "name": s.name,
            "tax_code": s.tax_code,
            "tax_rate": str(s.rate),
            "spec": s.spec,
            "unit": s.unit,
            "quantity": s.quantity,
            "amount": s.amount,
            "discount": s.discount,
            "net": s.net,
            "points": s.points,
            "net_amount": s.net_amount,
            "net_tax": s.net_tax,
            "invoice": s.invoice,
            "discounts": [list(d) for d in s.discounts],
        }
        for s in lines
    ]


def points_by_rule_from_json(text: str) -> dict[str, int]:
    data = json.loads(text)
    return data.get("points_by_rule", {}) if isinstance(data, dict) else {}


def sold_lines_from_json(text: str) -> tuple[SoldLine, ...]:
    data = json.loads(text)
    return tuple(
        SoldLine(
            line_id=d["line_id"],
            name=d["name"],
            tax_code=d["tax_code"],
            rate=TaxRate.parse(d["tax_rate"]),
            spec=d["spec"],
            unit=d["unit"],
            quantity=d["quantity"],
            amount=d["amount"],
            discount=d["discount"],
            net=d["net"],
            points=d["points"],
            net_amount=d["net_amount"],
            net_tax=d["net_tax"],
            invoice=d.get("invoice", 1),  # sales stored before invoices were split had one
            discounts=tuple((source, kind, fen) for source, kind, fen in d.get("discounts", ())),
        )
        for d in (data["lines"] if isinstance(data, dict) else data)
    )


_RETURNED = ("quantity", "points", "refund", "discount", "amount", "tax")


def returns_to_json(lines: Iterable[LineReturn]) -> str:
    return dump([{"line_id": lr.line_id, **{k: getattr(lr.took, k) for k in _RETURNED}} for lr in lines])


def returns_from_json(text: str) -> tuple[LineReturn, ...]:
    return tuple(LineReturn(d["line_id"], Returned(*(d[k] for k in _RETURNED))) for d in json.loads(text))


def red_invoices_to_json(invoices: Iterable[Invoice]) -> str:
    """A return's red invoices: a list of invoices, each a list of lines."""
    return dump([[_red_line_dict(r) for r in invoice.lines] for invoice in invoices])


def red_invoices_from_json(text: str) -> tuple[Invoice, ...]:
    """The red invoices of a stored return; a return stored before splitting (a flat list) had one."""
    data = json.loads(text)
    if not data:
        return ()
    groups = [data] if isinstance(data[0], dict) else data
    return tuple(invoice_of_lines("", "", [_red_line(d) for d in group]) for group in groups)


def red_lines_to_json(lines: Iterable[InvoiceLine]) -> str:
    return dump([_red_line_dict(r) for r in lines])


def red_lines_from_json(text: str) -> tuple[InvoiceLine, ...]:
    """Every red line of a stored return, numbered through (either storage form)."""
    return flat_red_lines(red_invoices_from_json(text))


def _red_line_dict(r: InvoiceLine) -> dict[str, Any]:
    return {
        "no": r.no,
        "kind": int(r.kind),
        "line_id": r.line_id,
        "name": r.name,
        "tax_code": r.tax_code,
        "tax_rate": str(r.rate),
        "spec": r.spec,
        "unit": r.unit,
        "quantity_milli": r.quantity,
        "unit_price_excl": None if r.unit_price_excl is None else str(r.unit_price_excl),
        "amount_fen": r.amount,
        "tax_fen": r.tax,
        "gross_fen": r.gross,
    }


def _red_line(d: dict[str, Any]) -> InvoiceLine:
    rate = TaxRate.parse(d["tax_rate"])
    price = d["unit_price_excl"]
    return InvoiceLine(
        no=d["no"],
        kind=LineKind(d["kind"]),
        line_id=d["line_id"],
        name=d["name"],
        tax_code=d["tax_code"],
        rate=rate,
        flags=tax_flags(rate),
        spec=d["spec"],
        unit=d["unit"],
        quantity=d["quantity_milli"],
        unit_price_excl=None if price is None else Decimal(price),
        amount=d["amount_fen"],
        tax=d["tax_fen"],
        gross=d["gross_fen"],
    )
