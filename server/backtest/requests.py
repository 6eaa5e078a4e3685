"""Stored requests back to engine requests, fast: a replay reads a million of them.

:func:`engine_request` goes from the stored JSON straight to ``engine.model`` values, with no
protobuf message in between (about a third of the cost of the route below). A stored request
passed ``request_from_proto`` when its sale was committed, so only its shape is read here; any
key, missing field or value it does not expect sends it down the full route instead, which
names the bad field exactly as the till would have heard it. tests/backtest/test_requests.py
holds the two routes equal.

``json_format.ParseDict`` walks the JSON in pure Python (~150 us for a five-line basket);
building the message with keyword arguments runs in protobuf's C core. :func:`parse_stored`
does that for the shapes the sales desk stores (camelCase keys, int64 as strings, nested and
repeated messages), reading field names and types from the message descriptors, and falls
back to ``ParseDict`` for anything else (an enum, a well-known type, an unknown key), so it is
never less exact. tests/backtest/test_requests.py holds it equal to ``ParseDict``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from engine.errors import InvalidRequest
from engine.model import Line, Member, Request, TaxRate
from server._pb.promo.v1 import promo_pb2 as pb
from server.wire.request import parse_time, request_from_proto

__all__ = ["engine_request", "parse_stored"]

_INTS = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED32,
    }
)
_PLAIN = frozenset({FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BOOL})

# descriptor full name -> {json key: (python name, kind, message class, repeated)}
_FIELDS: dict[str, dict[str, tuple[str, str, Any, bool]]] = {}


class _Unsupported(Exception):
    pass


def _fields(descriptor: Descriptor, cls: Any) -> dict[str, tuple[str, str, Any, bool]]:
    known = _FIELDS.get(descriptor.full_name)
    if known is not None:
        return known
    out = {}
    for f in descriptor.fields:
        repeated = f.is_repeated
        if f.type in _INTS:
            kind, sub = "int", None
        elif f.type in _PLAIN:
            kind, sub = "plain", None
        elif f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.full_name.startswith("promo."):
            kind, sub = "message", getattr(cls, f.message_type.name, None) or getattr(pb, f.message_type.name)
        else:
            kind, sub = "other", None
        out[f.json_name] = out[f.name] = (f.name, kind, sub, repeated)
    _FIELDS[descriptor.full_name] = out
    return out


def _build(cls: Any, data: dict[str, Any]) -> Any:
    fields = _fields(cls.DESCRIPTOR, cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        spec = fields.get(key)
        if spec is None:
            raise _Unsupported(key)
        name, kind, sub, repeated = spec
        if kind == "int":
            kwargs[name] = [int(v) for v in value] if repeated else int(value)
        elif kind == "plain":
            kwargs[name] = value
        elif kind == "message":
            kwargs[name] = [_build(sub, v) for v in value] if repeated else _build(sub, value)
        else:
            raise _Unsupported(key)
    return cls(**kwargs)


def parse_stored(data: dict[str, Any]) -> pb.EvaluateRequest:
    """The ``EvaluateRequest`` of a stored request's JSON (``MessageToDict`` output)."""
    try:
        return _build(pb.EvaluateRequest, data)
    except (_Unsupported, TypeError, ValueError):
        return json_format.ParseDict(data, pb.EvaluateRequest())


# --------------------------------------------------------------------------- JSON -> engine, directly

_REQUEST_KEYS = frozenset(
    {
        *("ruleset", "transactionId", "lines", "member", "couponCodes", "redeemPoints", "store"),
        *("channel", "time", "explain", "rulesetVersion", "finalQuote", "till", "drafts"),
    }
)
_LINE_KEYS = frozenset(
    {
        *("id", "sku", "name", "category", "brand", "tags", "unitPriceFen", "quantityMilli"),
        *("taxRate", "taxCode", "unit", "spec"),
    }
)
_MEMBER_KEYS = frozenset(
    {
        *("id", "tier", "birthday", "tags", "segment", "joinDate", "pointsBalance"),
        *("lastPurchaseDate", "orderCount", "lifetimeSpendFen"),
    }
)
_NO_TAGS: frozenset[str] = frozenset()
_RATES: dict[str, TaxRate] = {}
_DATES: dict[str, date] = {}


def engine_request(data: dict[str, Any]) -> Request:
    """The engine request of a stored request's JSON; ``InvalidRequest`` as ``request_from_proto`` says."""
    try:
        return _direct(data)
    except (_Unsupported, KeyError, TypeError, ValueError, AttributeError):
        pass
    try:
        msg = parse_stored(data)
    except json_format.ParseError as exc:
        raise InvalidRequest("request", f"the stored request does not parse: {str(exc)[:120]}") from None
    return request_from_proto(msg)


def _direct(data: dict[str, Any]) -> Request:
    if not _REQUEST_KEYS.issuperset(data):
        raise _Unsupported("request")
    lines = []
    for ln in data["lines"]:
        if not _LINE_KEYS.issuperset(ln):
            raise _Unsupported("line")
        price, quantity = int(ln.get("unitPriceFen", 0)), int(ln["quantityMilli"])
        if price < 0 or quantity <= 0 or not ln["id"] or not ln["name"]:
            raise _Unsupported("line")
        tags = ln.get("tags")
        lines.append(
            Line(
                ln["id"],
                ln["name"],
                price,
                quantity,
                _rate(ln["taxRate"]),
                ln.get("sku", ""),
                ln.get("category", ""),
                ln.get("brand", ""),
                frozenset(tags) if tags else _NO_TAGS,
                ln.get("taxCode", ""),
                ln.get("unit", ""),
                ln.get("spec", ""),
            )
        )  # fmt: skip  (positional: Line's field order)
    if not lines:
        raise _Unsupported("lines")
    m = data.get("member")
    member = None if m is None else _member(m)
    redeem = int(data.get("redeemPoints", 0))
    if redeem < 0:
        raise _Unsupported("redeemPoints")
    return Request(
        lines=tuple(lines),
        at=parse_time(data["time"]),
        member=member,
        coupons=tuple(data.get("couponCodes", ())),
        redeem_points=redeem,
        store=data.get("store", ""),
        channel=data.get("channel", ""),
    )


def _member(m: dict[str, Any]) -> Member:
    if not _MEMBER_KEYS.issuperset(m) or not m["tier"]:
        raise _Unsupported("member")
    return Member(
        tier=m["tier"],
        id=m.get("id", ""),
        birthday=_date(m.get("birthday")),
        tags=frozenset(m.get("tags", ())),
        segment=m.get("segment", ""),
        join_date=_date(m.get("joinDate")),
        points_balance=_count(m.get("pointsBalance")),
        last_purchase=_date(m.get("lastPurchaseDate")),
        order_count=_count(m.get("orderCount")),
        lifetime_spend=_count(m.get("lifetimeSpendFen")),
    )


def _count(value: str | int | None) -> int | None:
    if value is None:
        return None
    n = int(value)
    if n < 0:
        raise _Unsupported("count")
    return n


def _date(text: str | None) -> date | None:
    if not text:
        return None
    day = _DATES.get(text)
    if day is None:
        day = date.fromisoformat(text)
        if len(text) != 10:
            raise _Unsupported("date")
        if len(_DATES) < 4096:
            _DATES[text] = day
    return day


def _rate(text: str) -> TaxRate:
    rate = _RATES.get(text)
    if rate is None:
        rate = TaxRate.parse(text)
        if len(_RATES) < 64:
            _RATES[text] = rate
    return rate
