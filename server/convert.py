"""Between the wire (promo.v1 protobuf and its JSON form) and the engine's exact values.

The till speaks protobuf: fen and thousandths as int64, rates and times as text. The
engine wants ``engine.model`` values that are already exact and well formed, so every
shape check that needs no ruleset happens here, once, and names the field the way the
integrator wrote it (``lines[2].unit_price_fen``). Checks that need the ruleset (an
unknown tier, say) belong to :func:`engine.validate.validate_request`; their field
paths use the engine's names and :func:`wire_error` translates them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from google.protobuf import json_format

from engine.errors import InvalidRequest
from engine.invoice import Invoice, InvoiceLine
from engine.model import Evaluation, Line, Member, Request, TaxRate
from engine.money import format_fen, format_qty, line_amount
from server._pb.promo.v1 import promo_pb2 as pb

__all__ = [
    "evaluation_to_proto",
    "fraction_text",
    "invoice_to_proto",
    "reply_to_json",
    "request_from_json",
    "request_from_proto",
    "wire_error",
]

TIME_EXAMPLE = "2026-11-15T10:00:00+08:00"
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# --------------------------------------------------------------------------- proto -> engine


def request_from_proto(msg: pb.EvaluateRequest) -> Request:
    """The engine request for ``msg``; :class:`InvalidRequest` names the first bad field."""
    if not msg.lines:
        raise InvalidRequest("lines", "at least one line is required")
    seen: dict[str, int] = {}
    lines = []
    for i, line in enumerate(msg.lines):
        lines.append(_line(line, f"lines[{i}]"))
        if line.id in seen:
            raise InvalidRequest(
                f"lines[{i}].id", f"duplicate line id {line.id!r} (also lines[{seen[line.id]}].id)"
            )
        seen[line.id] = i
    member = _member(msg.member) if msg.HasField("member") else None
    if msg.redeem_points < 0:
        raise InvalidRequest("redeem_points", f"must not be negative (got {msg.redeem_points})")
    for i, code in enumerate(msg.coupon_codes):
        if not code.strip():
            raise InvalidRequest(f"coupon_codes[{i}]", "must not be empty")
    return Request(
        lines=tuple(lines),
        at=_time(msg.time),
        member=member,
        coupons=tuple(msg.coupon_codes),
        redeem_points=msg.redeem_points,
        store=msg.store,
        channel=msg.channel,
    )


def _line(msg: pb.Line, path: str) -> Line:
    if not msg.id.strip():
        raise InvalidRequest(f"{path}.id", "must not be empty (the till's id for the line)")
    if not msg.name.strip():
        raise InvalidRequest(f"{path}.name", "must not be empty (the goods name printed on the invoice)")
    if msg.unit_price_fen < 0:
        raise InvalidRequest(f"{path}.unit_price_fen", f"must not be negative (got {msg.unit_price_fen})")
    if msg.quantity_milli <= 0:
        raise InvalidRequest(
            f"{path}.quantity_milli",
            f"must be positive (got {msg.quantity_milli}); it counts thousandths: 1 piece is 1000",
        )
    amount = line_amount(msg.unit_price_fen, msg.quantity_milli)
    if amount <= 0:
        field = "unit_price_fen" if msg.unit_price_fen == 0 else "quantity_milli"
        raise InvalidRequest(
            f"{path}.{field}",
            f"the line amount rounds to 0 fen ({format_fen(msg.unit_price_fen)} x "
            f"{format_qty(msg.quantity_milli)}); a line must be worth at least 0.01",
        )
    return Line(
        id=msg.id,
        name=msg.name,
        unit_price=msg.unit_price_fen,
        quantity=msg.quantity_milli,
        tax=_tax_rate(msg.tax_rate, f"{path}.tax_rate"),
        sku=msg.sku,
        category=msg.category,
        brand=msg.brand,
        tags=_tags(msg.tags, f"{path}.tags"),
        tax_code=msg.tax_code,
        unit=msg.unit,
        spec=msg.spec,
    )


def _tax_rate(text: str, path: str) -> TaxRate:
    if not text.strip():
        raise InvalidRequest(path, 'is required, e.g. "13%", "9%" or "exempt"')
    try:
        return TaxRate.parse(text)
    except ValueError as exc:
        raise InvalidRequest(path, str(exc)) from None


def _tags(tags: Iterable[str], path: str) -> frozenset[str]:
    out = set()
    for k, tag in enumerate(tags):
        if not tag.strip():
            raise InvalidRequest(f"{path}[{k}]", "must not be empty")
        out.add(tag)
    return frozenset(out)


def _member(msg: pb.Member) -> Member:
    if not msg.tier.strip():
        raise InvalidRequest("member.tier", "is required for a member (leave member unset for a guest)")
    balance = msg.points_balance if msg.HasField("points_balance") else None
    if balance is not None and balance < 0:
        raise InvalidRequest("member.points_balance", f"must not be negative (got {balance})")
    return Member(
        tier=msg.tier,
        id=msg.id,
        birthday=_date(msg.birthday, "member.birthday"),
        tags=_tags(msg.tags, "member.tags"),
        segment=msg.segment,
        join_date=_date(msg.join_date, "member.join_date"),
        points_balance=balance,
    )


def _date(text: str, path: str) -> date | None:
    if not text:
        return None
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidRequest(path, f"{text!r} is not a calendar date") from None
    raise InvalidRequest(path, f'must be a date "YYYY-MM-DD" (got {text!r})')


def _time(text: str) -> datetime:
    if not text:
        raise InvalidRequest("time", f"is required: RFC 3339 with a UTC offset, e.g. {TIME_EXAMPLE}")
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidRequest(
            "time", f"must be RFC 3339 with a UTC offset, e.g. {TIME_EXAMPLE} (got {text!r})"
        )
    if match["offset"] is None:
        raise InvalidRequest(
            "time", f"{text!r} has no UTC offset; add one (e.g. {TIME_EXAMPLE}) so the instant is unambiguous"
        )
    try:
        return datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError as exc:
        raise InvalidRequest("time", f"{text!r} is not a valid time: {exc}") from None


# --------------------------------------------------------------------------- engine -> proto


def fraction_text(value: Fraction) -> str:
    """An exact rate on the wire: "3/2", "2", "0" (lowest terms, never rounded)."""
    return str(Fraction(value))


def evaluation_to_proto(
    evaluation: Evaluation,
    invoice: Invoice | None = None,
    *,
    digest: str = "",
    transaction_id: str = "",
    explain: bool = True,
) -> pb.EvaluateReply:
    """The reply for an evaluation (and its invoice, when built).

    Without ``explain`` the per-line discount lists and the points breakdown are left
    empty: a till that only shows totals does not pay for the explanation.
    """
    reply = pb.EvaluateReply(
        ruleset=pb.RulesetVersion(name=evaluation.ruleset, version=evaluation.version, digest=digest),
        transaction_id=transaction_id,
        subtotal_fen=evaluation.subtotal,
        discount_fen=evaluation.discount,
        payable_fen=evaluation.payable,
        redemption=pb.Redemption(points=evaluation.redemption.points, value_fen=evaluation.redemption.value),
    )
    for outcome in evaluation.lines:
        line = reply.lines.add(
            line_id=outcome.line_id,
            amount_fen=outcome.amount,
            discount_fen=outcome.discount,
            net_fen=outcome.net,
            points=outcome.points,
            earns_points=outcome.earns_points,
        )
        if explain:
            for d in outcome.discounts:
                line.discounts.add(source=d.source, kind=d.kind, fen=d.fen)
    points = evaluation.points
    reply.points.earned = points.earned
    if explain:
        reply.points.base = points.base
        reply.points.eligible_fen = points.eligible_fen
        reply.points.tier_rate = fraction_text(points.tier_rate)
        reply.points.factor = fraction_text(points.factor)
        for m in points.multipliers:
            reply.points.multipliers.add(rule=m.rule, factor=fraction_text(m.factor))
        for b in points.bonuses:
            reply.points.bonuses.add(rule=b.rule, points=b.points)
    for c in evaluation.coupons:
        reply.coupons.add(code=c.code, accepted=c.accepted, reason=c.reason, discount_fen=c.discount)
    if invoice is not None:
        reply.invoice.CopyFrom(invoice_to_proto(invoice))
    return reply


def invoice_to_proto(invoice: Invoice) -> pb.Invoice:
    """The wire form of an invoice (a refused invoice has no lines and a reason)."""
    msg = pb.Invoice(
        totals=pb.InvoiceTotals(
            amount_fen=invoice.totals.amount, tax_fen=invoice.totals.tax, gross_fen=invoice.totals.gross
        ),
        refused_reason=invoice.refused,
    )
    for line in invoice.lines:
        msg.lines.append(_invoice_line(line))
    for t in invoice.by_rate:
        msg.rate_totals.add(tax_rate=str(t.rate), amount_fen=t.amount, tax_fen=t.tax, gross_fen=t.gross)
    return msg


def _invoice_line(line: InvoiceLine) -> pb.InvoiceLine:
    msg = pb.InvoiceLine(
        no=line.no,
        kind=int(line.kind),
        line_id=line.line_id,
        name=line.name,
        tax_code=line.tax_code,
        tax_rate=str(line.rate),
        flags=pb.TaxFlags(
            zero_rate=line.flags.zero_rate,
            preferential=line.flags.preferential,
            special=line.flags.special,
            yhzcbs=line.flags.yhzcbs,
        ),
        spec=line.spec,
        unit=line.unit,
        unit_price_excl="" if line.unit_price_excl is None else format(line.unit_price_excl, "f"),
        amount_fen=line.amount,
        tax_fen=line.tax,
        gross_fen=line.gross,
    )
    if line.quantity is not None:
        msg.quantity_milli = line.quantity
    return msg


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


# --------------------------------------------------------------------------- JSON


def request_from_json(text: str) -> pb.EvaluateRequest:
    """Parse a request in the canonical protobuf JSON mapping (int64 as numbers or strings).

    Unknown fields are refused; errors name the field path in wire names.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            "request", f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest("request", f"must be a JSON object {{...}}, not {type(data).__name__}")
    msg = pb.EvaluateRequest()
    rest = {k: v for k, v in data.items() if k != "lines"}
    _parse_into(rest, msg, "")
    lines = data.get("lines")
    if lines is not None:
        if not isinstance(lines, list):
            raise InvalidRequest("lines", "must be a JSON array of lines [...]")
        for i, item in enumerate(lines):
            _parse_into(item, msg.lines.add(), f"lines[{i}]")
    return msg


def _parse_into(data: Any, msg: Any, path: str) -> None:
    if not isinstance(data, dict):
        raise InvalidRequest(path or "request", f"must be a JSON object {{...}}, not {type(data).__name__}")
    try:
        json_format.ParseDict(data, msg)
    except json_format.ParseError as exc:
        field, message = _explain_parse_error(str(exc))
        raise InvalidRequest(".".join(p for p in (path, field) if p) or "request", message) from None


_FAILED = re.compile(r"Failed to parse (\w+) field: ")
_UNKNOWN = re.compile(r'Message type "[\w.]+" has no field named "([^"]+)"')
_AVAILABLE = re.compile(r"Available Fields\(except extensions\): \"\[(.*)\]\"", re.S)
_AT = re.compile(r"\s+at \"?[A-Z][\w.\[\]]*\"?\.*$")  # protobuf's " at Line.unitPriceFen" suffix


def _explain_parse_error(text: str) -> tuple[str, str]:
    """(field path, sentence) from protobuf's nested "Failed to parse x field: ..." message."""
    names = []
    while match := _FAILED.match(text):
        names.append(_snake(match[1]))
        text = text[match.end() :]
    text = text.strip()
    if unknown := _UNKNOWN.match(text):
        names.append(unknown[1])
        known = _AVAILABLE.search(text)
        fields = ", ".join(n.strip(" '") for n in known[1].split(",")) if known else ""
        return ".".join(
            names
        ), f"is not a field here; the fields are: {fields}" if fields else "unknown field"
    first = text.splitlines()[0] if text else "cannot be parsed"
    message = _AT.sub("", first).rstrip(".")
    for pattern, template in _FRIENDLY:
        if m := pattern.fullmatch(message):
            message = template.format(*m.groups())
            break
    return ".".join(names), message


_FRIENDLY = (
    (re.compile(r"invalid literal for int\(\) with base 10: (.*)"), "must be a whole number (got {0})"),
    (re.compile(r"Couldn't parse integer: (.*)"), "must be a whole number (got {0})"),
    (re.compile(r"Value out of range: (.*)"), "is out of range for a 64-bit integer (got {0})"),
)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


_EXPLANATION_ONLY = ("base", "eligibleFen", "tierRate", "factor", "multipliers", "bonuses")


def reply_to_json(msg: pb.EvaluateReply, *, explain: bool = True) -> str:
    """The reply as indented JSON: lowerCamelCase names, zero values printed, Chinese kept readable.

    Without ``explain`` the per-line discount lists and the points breakdown are left
    out of the text entirely (rather than printed empty).
    """
    data = json_format.MessageToDict(
        msg, preserving_proto_field_name=False, always_print_fields_with_no_presence=True
    )
    data = _in_field_order(msg, data)
    if not explain:
        for line in data.get("lines", []):
            line.pop("discounts", None)
        for key in _EXPLANATION_ONLY:
            data.get("points", {}).pop(key, None)
    return json.dumps(data, ensure_ascii=False, indent=2)


def _in_field_order(msg: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with keys in .proto field order (the printer puts zero values last otherwise)."""
    out: dict[str, Any] = {}
    for fd in msg.DESCRIPTOR.fields:
        if fd.json_name not in data:
            continue
        value = data[fd.json_name]
        if fd.message_type is not None and fd.is_repeated:
            value = [_in_field_order(m, v) for m, v in zip(getattr(msg, fd.name), value, strict=True)]
        elif fd.message_type is not None:
            value = _in_field_order(getattr(msg, fd.name), value)
        out[fd.json_name] = value
    return out
