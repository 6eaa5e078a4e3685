"""The stored sale JSON finance reads, decoded into only the fields a report uses.

A sale row keeps its wire request, its invoices (wire JSON, int64 as strings) and its sold
lines (:mod:`server.storage.codec`) as text. Finance reads a million of them; ``json.loads``
builds every dict and string of every field, most of which a report drops. msgspec decodes
straight into small typed structs and skips the rest (measured on the benchmark's rows: the
invoices about 4x, the request's store and till about 25x faster than ``json.loads``), which
is why it is a dependency.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "RedLine",
    "ReturnedLine",
    "SoldLine",
    "WireInvoice",
    "WireLine",
    "red_invoices",
    "returned_lines",
    "sale_invoices",
    "sold_lines",
    "store_till",
]

_BAD = (msgspec.DecodeError, msgspec.ValidationError)


class WireLine(msgspec.Struct, rename="camel", frozen=True):
    """An invoice line as the reply carries it (proto JSON: camelCase, int64 as strings)."""

    no: int = 0
    kind: int = 0
    line_id: str = ""
    name: str = ""
    tax_code: str = ""
    tax_rate: str = ""
    quantity_milli: int | None = None
    amount_fen: int = 0
    tax_fen: int = 0
    gross_fen: int = 0


class WireInvoice(msgspec.Struct, rename="camel", frozen=True):
    lines: list[WireLine] = []
    refused_reason: str = ""


class _Wire(msgspec.Struct, frozen=True):
    store: str = ""
    till: str = ""


class _Request(msgspec.Struct, frozen=True):
    request: _Wire = _Wire()


class SoldLine(msgspec.Struct, frozen=True):
    """What the promotion report needs of a stored sold line: what each source took from it."""

    line_id: str
    tax_rate: str
    discounts: list[tuple[str, str, int]] = []


class _SoldLines(msgspec.Struct, frozen=True):
    lines: list[SoldLine]
    points_by_rule: dict[str, int] = {}


class ReturnedLine(msgspec.Struct, frozen=True):
    line_id: str
    discount: int


class RedLine(msgspec.Struct, frozen=True):
    """A red-letter line as a return stores it (snake_case, integers)."""

    kind: int
    line_id: str
    name: str
    tax_code: str
    tax_rate: str
    quantity_milli: int | None
    amount_fen: int
    tax_fen: int
    gross_fen: int


# strict=False: proto JSON writes int64 as strings ("amountFen": "619")
_invoices = msgspec.json.Decoder(list[WireInvoice] | WireInvoice, strict=False)
_request = msgspec.json.Decoder(_Request)
_sold = msgspec.json.Decoder(_SoldLines | list[SoldLine])
_returned = msgspec.json.Decoder(list[ReturnedLine])
_red = msgspec.json.Decoder(list[list[RedLine] | RedLine])


def sale_invoices(text: str) -> list[WireInvoice]:
    """A sale's stored invoices: a list since splitting, one object before it; [] when unreadable."""
    try:
        found = _invoices.decode(text)
    except _BAD:
        return []
    return found if isinstance(found, list) else [found]


def store_till(request_json: str) -> tuple[str, str]:
    """The store and till of a stored wire request ("" when absent or not JSON)."""
    try:
        wire = _request.decode(request_json).request
    except _BAD:
        return "", ""
    return wire.store, wire.till


def sold_lines(text: str) -> tuple[list[SoldLine], dict[str, int]]:
    """A sale's sold lines and the points each rule added (none kept before the promotion report)."""
    found = _sold.decode(text)
    if isinstance(found, list):
        return found, {}
    return found.lines, found.points_by_rule


def returned_lines(text: str) -> list[ReturnedLine]:
    return _returned.decode(text)


def red_invoices(text: str) -> list[list[RedLine]]:
    """A return's red lines per invoice (a return stored before splitting kept one flat list)."""
    found = _red.decode(text)
    if not found:
        return []
    if isinstance(found[0], RedLine):
        return [found]  # type: ignore[list-item]
    return found  # type: ignore[return-value]
