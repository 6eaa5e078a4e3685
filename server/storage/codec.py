"""JSON for the ledger's stored lines: sold lines, per-line return amounts and red-letter lines.

Stored as text so finance reads exactly what was decided; keys are stable and
sorted, and every amount is an integer (fen, points, thousandths).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from engine.invoice.build import InvoiceLine, LineKind
from engine.invoice.tax import tax_flags
from engine.ledger.returns import LineReturn, Returned, SoldLine
from engine.model import TaxRate

__all__ = [
    "dump",
    "red_lines_from_json",
    "red_lines_to_json",
    "returns_from_json",
    "returns_to_json",
    "sold_lines_from_json",
    "sold_lines_to_json",
]


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sold_lines_to_json(lines: Iterable[SoldLine]) -> str:
    return dump(
        [
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
            }
            for s in lines
        ]
    )


def sold_lines_from_json(text: str) -> tuple[SoldLine, ...]:
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
        )
        for d in json.loads(text)
    )


_RETURNED = ("quantity", "points", "refund", "discount", "amount", "tax")


def returns_to_json(lines: Iterable[LineReturn]) -> str:
    return dump([{"line_id": lr.line_id, **{k: getattr(lr.took, k) for k in _RETURNED}} for lr in lines])


def returns_from_json(text: str) -> tuple[LineReturn, ...]:
    return tuple(LineReturn(d["line_id"], Returned(*(d[k] for k in _RETURNED))) for d in json.loads(text))


def red_lines_to_json(lines: Iterable[InvoiceLine]) -> str:
    return dump(
        [
            {
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
            for r in lines
        ]
    )


def red_lines_from_json(text: str) -> tuple[InvoiceLine, ...]:
    out = []
    for d in json.loads(text):
        rate = TaxRate.parse(d["tax_rate"])
        price = d["unit_price_excl"]
        out.append(
            InvoiceLine(
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
        )
    return tuple(out)
