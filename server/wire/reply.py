"""The engine's result (an evaluation, an invoice) onto the wire: promo.v1 protobuf and its JSON form.

Rates go out as exact text ("3/2", "13%"), never rounded, and every sub-message is made
in place. The other direction, the wire into the engine and its shape checks, is
:mod:`server.wire.request`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from google.protobuf import json_format

from engine.invoice.build import Invoice
from engine.model import Evaluation, LineOutcome, TaxRate
from engine.thresholds import nudge_text
from server._pb.promo.v1 import promo_pb2 as pb

__all__ = [
    "evaluation_to_proto",
    "fill_invoices",
    "fraction_text",
    "invoice_to_proto",
    "reply_to_json",
]

# --------------------------------------------------------------------------- engine -> proto


def fraction_text(value: Fraction) -> str:
    """An exact rate on the wire: "3/2", "2", "0" (lowest terms, never rounded)."""
    if type(value) is Fraction:  # immutable and hashable: the few factors a ruleset has are remembered
        text = _FRACTION_TEXT.get(value)
        if text is None:
            text = str(value)
            if len(_FRACTION_TEXT) < 1024:
                _FRACTION_TEXT[value] = text
        return text
    return str(Fraction(value))


_FRACTION_TEXT: dict[Fraction, str] = {}


def evaluation_to_proto(
    evaluation: Evaluation,
    invoices: Sequence[Invoice] | Invoice | None = None,
    *,
    digest: str = "",
    transaction_id: str = "",
    explain: bool = True,
    only: Callable[[LineOutcome], bool] | None = None,
    into: pb.EvaluateReply | None = None,
) -> pb.EvaluateReply:
    """The reply for an evaluation (and its invoices, when built: one, or several for a split sale).

    ``invoices`` fills the list; the legacy single ``invoice`` field is the one invoice of
    a sale that fits on one, and a refusal pointing at the list when the sale was split.

    Without ``explain`` the per-line discount lists and the points breakdown are left
    empty: a till that only shows totals does not pay for the explanation. Every
    sub-message is made in place (``add`` with keywords), never built and copied.

    ``only`` keeps the lines it is true of (a till session sends only the lines that changed);
    ``into`` is an empty reply to fill (one inside a SessionReply) instead of a new one.
    """
    redemption = evaluation.redemption
    reply = pb.EvaluateReply() if into is None else into
    ruleset = reply.ruleset
    ruleset.name, ruleset.version, ruleset.digest = evaluation.ruleset, evaluation.version, digest
    ruleset.SetInParent()
    reply.transaction_id = transaction_id
    reply.subtotal_fen, reply.discount_fen = evaluation.subtotal, evaluation.discount
    reply.payable_fen = evaluation.payable
    reply.redemption.points, reply.redemption.value_fen = redemption.points, redemption.value
    reply.redemption.SetInParent()
    add_line = reply.lines.add
    for outcome in evaluation.lines:
        if only is not None and not only(outcome):
            continue
        line = add_line(
            line_id=outcome.line_id,
            amount_fen=outcome.amount,
            discount_fen=outcome.discount,
            net_fen=outcome.net,
            points=outcome.points,
            earns_points=outcome.earns_points,
        )
        if explain and outcome.discounts:
            add_discount = line.discounts.add
            for d in outcome.discounts:
                add_discount(source=d.source, kind=d.kind, fen=d.fen)
    points = evaluation.points
    reply_points = reply.points
    reply_points.earned = points.earned
    if explain:
        reply_points.base = points.base
        reply_points.eligible_fen = points.eligible_fen
        reply_points.tier_rate = fraction_text(points.tier_rate)
        reply_points.factor = fraction_text(points.factor)
        for m in points.multipliers:
            reply_points.multipliers.add(rule=m.rule, factor=fraction_text(m.factor))
        for b in points.bonuses:
            reply_points.bonuses.add(rule=b.rule, points=b.points)
    if evaluation.coupons:
        add_coupon = reply.coupons.add
        for c in evaluation.coupons:
            add_coupon(code=c.code, accepted=c.accepted, reason=c.reason, discount_fen=c.discount)
    for f in evaluation.free_units:
        reply.free_units.add(rule=f.rule, units=f.units)
    for g in evaluation.gifts:
        reply.gifts.add(rule=g.rule, sku=g.sku, quantity=g.quantity)
    if evaluation.nudges:
        add_nudge = reply.nudges.add
        for n in evaluation.nudges:
            add_nudge(
                source=n.source,
                label=n.label,
                missing_fen=n.missing,
                measure=n.measure,
                threshold_fen=n.threshold,
                scope=n.scope,
                text=nudge_text(n.missing, n.scope, n.label),
            )
    if evaluation.notes:
        add_note = reply.usage_notes.add
        for n in evaluation.notes:
            add_note(source=n.source, kind=n.kind, reason=n.reason)
    if invoices is not None:
        fill_invoices(reply, (invoices,) if isinstance(invoices, Invoice) else invoices)
    return reply


SPLIT = "split into {} invoices: see EvaluateReply.invoices"
"""The legacy single invoice's refusal when a sale is on several invoices."""


def fill_invoices(reply: pb.EvaluateReply, invoices: Sequence[Invoice]) -> None:
    """``reply.invoices`` numbered from 1, and the legacy ``reply.invoice`` (see the proto)."""
    if len(invoices) == 1:
        _fill_invoice(reply.invoice, invoices[0])
        reply.invoice.number = 1
        reply.invoices.add().CopyFrom(reply.invoice)
        return
    reply.invoice.totals.SetInParent()
    reply.invoice.refused_reason = SPLIT.format(len(invoices))
    for number, invoice in enumerate(invoices, 1):
        msg = reply.invoices.add()
        _fill_invoice(msg, invoice)
        msg.number = number


def invoice_to_proto(invoice: Invoice, number: int = 0) -> pb.Invoice:
    """The wire form of an invoice (a refused invoice has no lines and a reason)."""
    msg = pb.Invoice()
    _fill_invoice(msg, invoice)
    msg.number = number
    return msg


def _fill_invoice(msg: pb.Invoice, invoice: Invoice) -> None:
    totals = invoice.totals
    msg.totals.SetInParent()  # present even when all zero, as a refused invoice's totals are
    if totals.amount or totals.tax or totals.gross:
        msg.totals.amount_fen, msg.totals.tax_fen, msg.totals.gross_fen = (
            totals.amount,
            totals.tax,
            totals.gross,
        )
    if invoice.refused:
        msg.refused_reason = invoice.refused
    add = msg.lines.add
    rate, rate_text = None, ""  # a discount line repeats its goods line's rate
    for line in invoice.lines:
        quantity, price, spec, unit = line.quantity, line.unit_price_excl, line.spec, line.unit
        if line.rate is not rate:
            rate = line.rate
            rate_text = _rate_text(rate)
        if quantity is None and price is None and not spec and not unit:  # a discount line's shape
            wire = add(
                no=line.no, kind=line.kind, line_id=line.line_id, name=line.name, tax_code=line.tax_code,
                tax_rate=rate_text, amount_fen=line.amount, tax_fen=line.tax, gross_fen=line.gross,
            )  # fmt: skip
        else:
            wire = add(
                no=line.no, kind=line.kind, line_id=line.line_id, name=line.name, tax_code=line.tax_code,
                tax_rate=rate_text, spec=spec, unit=unit,
                unit_price_excl="" if price is None else format(price, "f"),
                amount_fen=line.amount, tax_fen=line.tax, gross_fen=line.gross,
            )  # fmt: skip
            if quantity is not None:  # quantity_milli has presence: a discount line has none
                wire.quantity_milli = quantity
        # the flags, present even when all empty; only the non-empty ones are set (a taxed line has one)
        flags, wire_flags = line.flags, wire.flags
        if flags.preferential:
            wire_flags.preferential = flags.preferential
        else:
            wire_flags.SetInParent()
        if flags.zero_rate:
            wire_flags.zero_rate = flags.zero_rate
        if flags.special:
            wire_flags.special = flags.special
        if flags.yhzcbs:
            wire_flags.yhzcbs = flags.yhzcbs
    add_total = msg.rate_totals.add
    for t in invoice.by_rate:
        add_total(tax_rate=_rate_text(t.rate), amount_fen=t.amount, tax_fen=t.tax, gross_fen=t.gross)


_RATE_TEXT: dict[int, tuple[TaxRate, str]] = {}
"""``str(rate)`` by the rate object's id (the entry keeps the rate alive, so the id is not reused)."""


def _rate_text(rate: TaxRate) -> str:
    """``str(rate)`` ("13%", "exempt"), worked out once per rate object: it costs Fraction arithmetic."""
    hit = _RATE_TEXT.get(id(rate))
    if hit is not None and hit[0] is rate:
        return hit[1]
    text = str(rate)
    if len(_RATE_TEXT) >= 512:
        _RATE_TEXT.clear()
    _RATE_TEXT[id(rate)] = (rate, text)
    return text


# --------------------------------------------------------------------------- JSON

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
