"""The wire (promo.v1 protobuf) into the engine's exact request values.

The till speaks protobuf: fen and thousandths as int64, rates and times as text. The
engine wants ``engine.model`` values that are already exact and well formed, so every
shape check that needs no ruleset happens here, once, and names the field the way the
integrator wrote it (``lines[2].unit_price_fen``). Checks that need the ruleset (an
unknown tier, say) belong to :func:`engine.evaluate.validate.validate_request`; their field
paths use the engine's names and :func:`wire_error` translates them. The way back, the
engine's result onto the wire, is :mod:`server.wire.reply`;
the request's JSON form (``promo eval``, files) is read by :mod:`server.wire.request_json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from engine.errors import InvalidRequest
from engine.model import Line, Member, Request, TaxRate
from engine.money import format_fen, format_qty, line_amount
from server._pb.promo.v1 import promo_pb2 as pb
from server.wire.bounds import (
    MAX_COUPON_CODES,
    MAX_FEN,
    MAX_ID,
    MAX_LINES,
    MAX_POINTS,
    MAX_QTY,
    MAX_TEXT,
    check_coupon_code,
    check_redeem_points,
    check_text,
    check_year,
    shown,
)

__all__ = [
    "basket_from_proto",
    "line_from_proto",
    "member_from_proto",
    "parse_date",
    "parse_time",
    "precheck",
    "request_from_proto",
    "wire_error",
]

TIME_EXAMPLE = "2026-11-15T10:00:00+08:00"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# --------------------------------------------------------------------------- proto -> engine


TILLS_MEMBER: Any = object()
"""``request_from_proto``'s default member: the one the till sent (converted and checked)."""


def request_from_proto(msg: pb.EvaluateRequest, *, member: Member | None = TILLS_MEMBER) -> Request:
    """The engine request for ``msg``; :class:`InvalidRequest` names the first bad field.

    Reading a protobuf field builds a new Python object each time, so each is read once.
    A ``member`` given is priced instead of the till's (the ledger's; None: none).
    """
    if not msg.lines:
        raise InvalidRequest("lines", "at least one line is required")
    return basket_from_proto(msg, member=member)


def basket_from_proto(msg: pb.EvaluateRequest, *, member: Member | None = TILLS_MEMBER) -> Request:
    """:func:`request_from_proto` for a basket that may have no lines yet (a till session's opening)."""
    wire_lines = msg.lines
    if len(wire_lines) > MAX_LINES:
        raise InvalidRequest("lines", f"at most {MAX_LINES} lines (got {len(wire_lines)})")
    seen: dict[str, int] = {}
    lines = []
    for i, wire in enumerate(wire_lines):
        line = line_from_proto(wire, i)
        if line.id in seen:
            raise InvalidRequest(
                f"lines[{i}].id", f"duplicate line id {line.id!r} (also lines[{seen[line.id]}].id)"
            )
        seen[line.id] = i
        lines.append(line)
    if member is TILLS_MEMBER:
        member = member_from_proto(msg.member) if msg.HasField("member") else None
    redeem_points = check_redeem_points(msg.redeem_points, "redeem_points")
    coupons = tuple(msg.coupon_codes)
    if len(coupons) > MAX_COUPON_CODES:
        raise InvalidRequest("coupon_codes", f"at most {MAX_COUPON_CODES} codes (got {len(coupons)})")
    for i, code in enumerate(coupons):
        check_coupon_code(code, f"coupon_codes[{i}]")
    check_text(msg.ruleset, "ruleset", MAX_TEXT)
    check_text(msg.store, "store", MAX_TEXT)
    check_text(msg.channel, "channel", MAX_TEXT)
    return Request(
        lines=tuple(lines),
        at=_time(msg.time),
        member=member,
        coupons=coupons,
        redeem_points=redeem_points,
        store=msg.store,
        channel=msg.channel,
    )


def precheck(msg: pb.EvaluateRequest) -> None:
    """The checks that must come before any ledger read: the coupon codes and the member id (the
    read looks them up; PostgreSQL refuses a NUL), and the time (so a bad time is named even for a
    member the ledger does not know)."""
    coupons = msg.coupon_codes
    if len(coupons) > MAX_COUPON_CODES:
        raise InvalidRequest("coupon_codes", f"at most {MAX_COUPON_CODES} codes (got {len(coupons)})")
    for i, code in enumerate(coupons):
        check_text(code, f"coupon_codes[{i}]")
    if msg.HasField("member"):
        check_text(msg.member.id, "member.id")
    _time(msg.time)


def _blank(text: str) -> bool:
    """``not text.strip()`` without building the stripped copy."""
    return not text or text.isspace()


def line_from_proto(msg: pb.Line, i: int) -> Line:
    """One wire line as the engine's; errors name it ``lines[i]``.

    A well-formed line (nearly every line) passes one test of all its fields at once; only a line
    that fails it is checked field by field (:func:`_check_line`), for the error that names the field.
    """
    line_id, name, price, quantity = msg.id, msg.name, msg.unit_price_fen, msg.quantity_milli
    sku, category, brand = msg.sku, msg.category, msg.brand
    tax_code, unit, spec = msg.tax_code, msg.unit, msg.spec
    tax, tags = _RATES.get(msg.tax_rate), msg.tags
    text = "".join((name, sku, category, brand, tax_code, unit, spec))  # each is at most MAX_TEXT if all are
    if (
        tax is None
        or not (0 <= price <= MAX_FEN and 0 < quantity <= MAX_QTY and line_amount(price, quantity) > 0)
        or not 0 < len(line_id) <= MAX_ID
        or not name
        or len(text) > MAX_TEXT
        or not (line_id + text).isprintable()
        or line_id.isspace()
        or name.isspace()
    ):
        tax = _check_line(msg, i)
    return Line(
        line_id,
        name,
        price,
        quantity,
        tax,
        sku,
        category,
        brand,
        _tags(tags, f"lines[{i}].tags") if tags else _NO_TAGS,
        tax_code,
        unit,
        spec,
    )  # positional: Line's field order


def _check_line(msg: pb.Line, i: int) -> TaxRate:
    """The line's fields one by one, in the order the first bad one is named; its tax rate when none is."""
    line_id, name, price, quantity = msg.id, msg.name, msg.unit_price_fen, msg.quantity_milli
    if _blank(line_id):
        raise InvalidRequest(f"lines[{i}].id", "must not be empty (the till's id for the line)")
    if _blank(name):
        raise InvalidRequest(f"lines[{i}].name", "must not be empty (the goods name printed on the invoice)")
    if price < 0:
        raise InvalidRequest(f"lines[{i}].unit_price_fen", f"must not be negative (got {price})")
    if price > MAX_FEN:
        raise InvalidRequest(f"lines[{i}].unit_price_fen", f"must be at most {MAX_FEN} (got {price})")
    if quantity > MAX_QTY:
        raise InvalidRequest(f"lines[{i}].quantity_milli", f"must be at most {MAX_QTY} (got {quantity})")
    if quantity <= 0:
        raise InvalidRequest(
            f"lines[{i}].quantity_milli",
            f"must be positive (got {quantity}); it counts thousandths: 1 piece is 1000",
        )
    if line_amount(price, quantity) <= 0:
        field = "unit_price_fen" if price == 0 else "quantity_milli"
        raise InvalidRequest(
            f"lines[{i}].{field}",
            f"the line amount rounds to 0 fen ({format_fen(price)} x "
            f"{format_qty(quantity)}); a line must be worth at least 0.01",
        )
    tax = _tax_rate(msg.tax_rate, i)
    for field, value in zip(
        _LINE_TEXTS,
        (line_id, name, msg.sku, msg.category, msg.brand, msg.tax_code, msg.unit, msg.spec),
        strict=True,
    ):
        if value:
            check_text(value, f"lines[{i}].{field}", MAX_ID if field == "id" else MAX_TEXT)
    return tax


_NO_TAGS: frozenset[str] = frozenset()
_LINE_TEXTS = ("id", "name", "sku", "category", "brand", "tax_code", "unit", "spec")


def _tax_rate(text: str, i: int) -> TaxRate:
    rate = _RATES.get(text)
    if rate is not None:
        return rate
    if _blank(text):
        raise InvalidRequest(f"lines[{i}].tax_rate", 'is required, e.g. "13%", "9%" or "exempt"')
    check_text(text, f"lines[{i}].tax_rate", MAX_ID)
    try:
        rate = TaxRate.parse(text)
    except ValueError as exc:
        raise InvalidRequest(f"lines[{i}].tax_rate", str(exc)) from None
    if len(_RATES) < 64:  # the spellings that parse are few; a bound all the same
        _RATES[text] = rate
    return rate


_RATES: dict[str, TaxRate] = {}
"""Tax-rate spellings seen on the wire, as parsed (a dict lookup is cheaper than the classmethod call)."""


def _tags(tags: Iterable[str], path: str) -> frozenset[str]:
    out = frozenset(tags)
    for k, tag in enumerate(tags):
        check_text(tag, f"{path}[{k}]", MAX_TEXT)
    if "" in out or any(tag.isspace() for tag in out):
        for k, tag in enumerate(tags):
            if _blank(tag):
                raise InvalidRequest(f"{path}[{k}]", "must not be empty")
    return out


def member_from_proto(msg: pb.Member) -> Member:
    """The till's inline member (a tier at least); errors name ``member.*``.

    A till sends the same member on every scan of a sale, so the members converted are kept by
    their wire bytes (a Member is frozen: one may be shared) and a repeat costs one serialisation.
    """
    key = msg.SerializeToString()
    if len(key) > _MEMBER_KEPT_BYTES:  # a member with a thousand tags is converted each time
        return _member(msg)
    return _member_by_bytes(key)


_MEMBER_KEPT_BYTES = 1024


@lru_cache(maxsize=1024)
def _member_by_bytes(key: bytes) -> Member:
    """A member kept by its wire bytes; lru_cache keeps answers only: a bad member is refused each time."""
    return _member(pb.Member.FromString(key))


def _member(msg: pb.Member) -> Member:
    if _blank(msg.tier):
        raise InvalidRequest("member.tier", "is required for a member (leave member unset for a guest)")
    balance = msg.points_balance if msg.HasField("points_balance") else None
    if balance is not None and balance < 0:
        raise InvalidRequest("member.points_balance", f"must not be negative (got {balance})")
    if balance is not None and balance > MAX_POINTS:
        raise InvalidRequest("member.points_balance", f"must be at most {MAX_POINTS:,} (got {balance})")
    check_text(msg.id, "member.id")
    check_text(msg.tier, "member.tier")
    check_text(msg.segment, "member.segment", MAX_TEXT)
    orders = _count(msg, "order_count", MAX_POINTS)
    spend = _count(msg, "lifetime_spend_fen", MAX_FEN)
    tags = msg.tags
    return Member(
        tier=msg.tier,
        id=msg.id,
        birthday=parse_date(msg.birthday, "member.birthday"),
        tags=_tags(tags, "member.tags") if tags else _NO_TAGS,
        segment=msg.segment,
        join_date=parse_date(msg.join_date, "member.join_date"),
        points_balance=balance,
        last_purchase=parse_date(msg.last_purchase_date, "member.last_purchase_date"),
        order_count=orders,
        lifetime_spend=spend,
    )


def _count(msg: pb.Member, name: str, most: int) -> int | None:
    """An optional history count of the member (unset: not known); never negative, at most ``most``."""
    if not msg.HasField(name):
        return None
    value = getattr(msg, name)
    if value < 0:
        raise InvalidRequest(f"member.{name}", f"must not be negative (got {value})")
    if value > most:
        raise InvalidRequest(f"member.{name}", f"must be at most {most:,} (got {value})")
    return int(value)


def parse_date(text: str, path: str) -> date | None:
    """An optional "YYYY-MM-DD" wire date; InvalidRequest names ``path`` when it is not one."""
    if not text:
        return None
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidRequest(path, f"{text!r} is not a calendar date") from None
        check_year(day.year, path)
        return day
    raise InvalidRequest(path, f'must be a date "YYYY-MM-DD" (got {shown(text)})')


def parse_time(text: str) -> datetime:
    """The request's ``time`` as an aware datetime; InvalidRequest naming ``time`` when it is not one."""
    return _time(text)


@lru_cache(maxsize=1024)
def _time(text: str) -> datetime:
    """Times kept by their text: one call reads its time up to three times (the checks before the
    ledger read, the budget day, the basket), and a till's scans of one sale often repeat it.
    lru_cache keeps answers only: a bad time is refused every time."""
    return _parse_time(text)


def _parse_time(text: str) -> datetime:
    if not text:
        raise InvalidRequest("time", f"is required: RFC 3339 with a UTC offset, e.g. {TIME_EXAMPLE}")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidRequest(
            "time", f"must be RFC 3339 with a UTC offset, e.g. {TIME_EXAMPLE} (got {shown(text)})"
        )
    if match["offset"] is None:
        raise InvalidRequest(
            "time", f"{text!r} has no UTC offset; add one (e.g. {TIME_EXAMPLE}) so the instant is unambiguous"
        )
    try:
        at = datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError as exc:
        raise InvalidRequest("time", f"{text!r} is not a valid time: {exc}") from None
    check_year(at.year, "time")
    return at


# --------------------------------------------------------------------------- engine field names

_ENGINE_TO_WIRE = {
    "unit_price": "unit_price_fen",
    "quantity": "quantity_milli",
    "tax": "tax_rate",
    "coupons": "coupon_codes",
    "at": "time",
}


def wire_error(exc: InvalidRequest) -> InvalidRequest:
    """``exc`` with its field path in wire names (``lines[0].quantity`` -> ``lines[0].quantity_milli``)."""
    parts = re.split(r"(\.|\[\d+\])", exc.field)
    renamed = "".join(_ENGINE_TO_WIRE.get(p, p) for p in parts)
    return exc if renamed == exc.field else InvalidRequest(renamed, exc.message)
