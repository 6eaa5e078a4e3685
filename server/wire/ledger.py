"""Between the ledger's values and the promo.v1 ledger messages, and how presented coupon codes resolve.

A till presents coupon codes without knowing which kind they are: a code the ledger
issued (a printed campaign code, one bought with points) prices as its coupon
definition; a code the ledger never issued is a public code, i.e. a ruleset coupon
id, as before the ledger existed. :class:`PresentedCoupons` records that resolution
so the reply speaks of the codes as presented, and so ``promo audit verify`` can
replay it exactly from what was stored with the sale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from engine.errors import InvalidRequest
from engine.rules import Coupon
from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.results import (
    AdjustResult,
    CommitResult,
    CouponStatus,
    EntryView,
    MemberView,
    OwnedCoupon,
    RedeemResult,
    ReturnResult,
)
from server.wire.bounds import MAX_ID, MAX_QTY, check_text
from server.wire.reply import invoice_to_proto
from server.wire.request import parse_date

__all__ = [
    "PresentedCoupon",
    "PresentedCoupons",
    "adjust_to_proto",
    "commit_request_hash",
    "commit_to_proto",
    "ledger_member",
    "member_to_proto",
    "parse_date",
    "redeem_to_proto",
    "required",
    "resolve_coupons",
    "return_quantities",
    "return_to_proto",
    "timestamp",
    "with_member",
]

# --------------------------------------------------------------------------- decoding


def required(value: str, field: str, what: str) -> str:
    """``value`` when it is a usable id; InvalidRequest naming ``field`` otherwise."""
    if not value.strip():
        raise InvalidRequest(field, f"is required: {what}")
    return check_text(value, field, MAX_ID)


def with_member(msg: pb.EvaluateRequest, member: MemberView, zone: ZoneInfo) -> pb.EvaluateRequest:
    """A copy of ``msg`` whose member attributes are the ledger's: the till's inline ones are ignored.

    The history fields too; the last purchase becomes a local day in ``zone`` (the ruleset's).
    """
    out = pb.EvaluateRequest()
    out.CopyFrom(msg)
    out.member.Clear()
    _fill_member(out.member, member, zone)
    return out


def ledger_member(member: MemberView, zone: ZoneInfo) -> pb.Member:
    """The member as :func:`with_member` puts it in a request (a till session prices with it)."""
    out = pb.Member()
    _fill_member(out, member, zone)
    return out


def _fill_member(out: pb.Member, member: MemberView, zone: ZoneInfo) -> None:
    out.id = member.id
    out.tier = member.tier
    out.birthday = member.birthday.isoformat() if member.birthday else ""
    out.tags.extend(sorted(member.tags))
    out.segment = member.segment
    out.join_date = member.join_date.isoformat() if member.join_date else ""
    out.points_balance = member.spendable
    if member.last_purchase_at is not None:
        out.last_purchase_date = member.last_purchase_at.astimezone(zone).date().isoformat()
    out.order_count = member.order_count
    out.lifetime_spend_fen = member.lifetime_spend_fen


def return_quantities(msg: pb.ReturnRequest) -> dict[str, int]:
    """Line id -> thousandths of a Return request; each line at most once."""
    if not msg.lines:
        raise InvalidRequest("lines", "at least one returned line is required")
    out: dict[str, int] = {}
    for i, line in enumerate(msg.lines):
        if not line.line_id:
            raise InvalidRequest(f"lines[{i}].line_id", "must not be empty (the sale's Line.id)")
        check_text(line.line_id, f"lines[{i}].line_id", MAX_ID)
        if line.line_id in out:
            raise InvalidRequest(f"lines[{i}].line_id", f"line {line.line_id!r} is listed twice")
        if not 0 < line.quantity_milli <= MAX_QTY:
            raise InvalidRequest(
                f"lines[{i}].quantity_milli", f"must be between 1 and {MAX_QTY} (got {line.quantity_milli})"
            )
        out[line.line_id] = line.quantity_milli
    return out


def commit_request_hash(msg: pb.CommitRequest) -> str:
    """What makes two Commit calls "the same payload": all but ``explain`` (it only shapes the reply)."""
    canonical = pb.CommitRequest()
    canonical.CopyFrom(msg)
    canonical.request.explain = False
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()


# --------------------------------------------------------------------------- coupons


@dataclass(frozen=True, slots=True)
class PresentedCoupon:
    """One presented code: what the engine was given for it (None: nothing) and why not, if refused."""

    code: str
    engine_code: str | None
    problem: str | None = None
    ledger: bool = False  # the ledger issued it (so a commit spends it)


@dataclass(frozen=True, slots=True)
class PresentedCoupons:
    coupons: tuple[PresentedCoupon, ...] = ()

    @property
    def engine_codes(self) -> tuple[str, ...]:
        return tuple(c.engine_code for c in self.coupons if c.engine_code is not None)

    def relabel(self, reply: pb.EvaluateReply) -> list[str]:
        """Rename the reply's coupon answers to the presented codes, add the ledger's refusals, and
        return the ledger codes that took effect (the ones a commit spends)."""
        waiting: dict[str, list[PresentedCoupon]] = {}
        for c in self.coupons:
            if c.engine_code is not None:
                waiting.setdefault(c.engine_code, []).append(c)
        spent = []
        for answer in reply.coupons:
            queue = waiting.get(answer.code)
            if not queue:
                continue
            presented = queue.pop(0)
            answer.code = presented.code
            if presented.ledger and answer.accepted:
                spent.append(presented.code)
        for c in self.coupons:
            if c.problem is not None:
                reply.coupons.add(code=c.code, accepted=False, reason=c.problem, discount_fen=0)
        return spent

    def to_json(self) -> list[list[object]]:
        return [[c.code, c.engine_code, c.problem, c.ledger] for c in self.coupons]

    @classmethod
    def from_json(cls, data: list[list[object]]) -> PresentedCoupons:
        return cls(tuple(PresentedCoupon(str(c), e, p, bool(k)) for c, e, p, k in data))  # type: ignore[arg-type]


def resolve_coupons(
    codes: list[str], statuses: Mapping[str, CouponStatus], ruleset: str, issued_only: Collection[str] = ()
) -> PresentedCoupons:
    """Each presented code as the engine should see it, given the ledger's answer for it.

    ``issued_only``: the ruleset's coupon ids that ``promo maintain`` issues (`issue ...`); such a
    coupon is owner-bound, so its bare id is no public code (``unknown``): only an issued code prices.
    """
    out = []
    for code in codes:
        status = statuses.get(code)
        if status is None or status.problem == "unknown" or status.definition_id is None:
            if code in issued_only:
                out.append(PresentedCoupon(code, None, "unknown"))
                continue
            out.append(PresentedCoupon(code, code))  # a public code: the ruleset's coupon id
        elif status.ruleset != ruleset:
            out.append(PresentedCoupon(code, None, "unknown", ledger=True))  # another ruleset's coupon
        elif status.problem is not None:
            out.append(PresentedCoupon(code, None, status.problem, ledger=True))
        else:
            out.append(PresentedCoupon(code, status.definition_id, None, ledger=True))
    return PresentedCoupons(tuple(out))


# --------------------------------------------------------------------------- encoding


def timestamp(at: datetime | None) -> str:
    return "" if at is None else at.isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def member_to_proto(view: MemberView, catalog: Mapping[str, Coupon] | None = None) -> pb.MemberReply:
    """The reply; ``catalog`` (the member's programme's coupons by id) gives each coupon its value."""
    return pb.MemberReply(
        member_id=view.id,
        tier=view.tier,
        birthday=_day(view.birthday),
        tags=sorted(view.tags),
        segment=view.segment,
        join_date=_day(view.join_date),
        points_balance=view.points_balance,
        points_owed=view.points_owed,
        lifetime_spend_fen=view.lifetime_spend_fen,
        status=view.status,
        programme=view.programme or "",
        referrer_id=view.referrer_id or "",
        referral_points=view.referral_points,
        points_pending=view.points_pending,
        last_purchase_at=timestamp(view.last_purchase_at),
        recent_entries=[_entry(e) for e in view.recent],
        coupons=[_owned(c, (catalog or {}).get(c.definition_id)) for c in view.coupons],
        segment_pinned=view.segment_pinned,
    )


def _owned(c: OwnedCoupon, definition: Coupon | None) -> pb.MemberCoupon:
    reply = pb.MemberCoupon(
        code=c.code,
        coupon=c.definition_id,
        valid_from=_day(c.valid_from),
        valid_to=_day(c.valid_to),
        state=c.state,
        used=c.state == "redeemed",
        issued_by=c.issued_by or "",
    )
    if definition is not None:
        reply.label = definition.label
        reply.value_fen = definition.value
        if definition.percent is not None:
            hundredths = definition.percent * 100
            reply.percent = f"{Decimal(hundredths.numerator) / Decimal(hundredths.denominator):f}%"
            reply.max_value_fen = definition.max_value or 0
    return reply


def _entry(e: EntryView) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        id=e.id,
        kind=e.kind,
        points=e.points,
        transaction_id=e.transaction_id or "",
        return_id=e.return_id or "",
        reason=e.reason,
        created_at=timestamp(e.created_at),
        expires_at=timestamp(e.expires_at),
    )


def commit_to_proto(result: CommitResult, sale: pb.EvaluateReply) -> pb.CommitReply:
    reply = pb.CommitReply(
        sale=sale,
        replayed=result.replayed,
        points_earned=result.points_earned,
        points_redeemed=result.points_redeemed,
        member_tier=result.tier or "",
        upgraded_from=result.upgraded_from or "",
    )
    if result.member_balance is not None:
        reply.member_points_balance = result.member_balance
    return reply


def return_to_proto(result: ReturnResult) -> pb.ReturnReply:
    reply = pb.ReturnReply(
        return_id=result.return_id,
        transaction_id=result.transaction_id,
        points_clawed_back=result.points_clawed_back,
        refund_fen=result.refund_fen,
        discount_reversed_fen=result.discount_reversed_fen,
        sale_state=result.sale_state,
        replayed=result.replayed,
    )
    for lr in result.lines:
        reply.lines.add(
            line_id=lr.line_id,
            quantity_milli=lr.took.quantity,
            points=lr.took.points,
            refund_fen=lr.took.refund,
            discount_fen=lr.took.discount,
        )
    if result.red_invoices:
        reply.red_lines.extend(red_lines_to_proto(result.red_lines))
        for number, invoice in enumerate(result.red_invoices, 1):
            reply.red_invoices.append(invoice_to_proto(invoice, number))
    if result.member_balance is not None:
        reply.member_points_balance = result.member_balance
    return reply


def red_lines_to_proto(lines: tuple) -> list[pb.InvoiceLine]:
    """Red-letter lines through the invoice encoder, so they read exactly like the sale's lines."""
    from engine.invoice.build import Invoice, Totals

    return list(invoice_to_proto(Invoice("", "", tuple(lines), Totals(), ())).lines)


def redeem_to_proto(result: RedeemResult) -> pb.RedeemPointsReply:
    return pb.RedeemPointsReply(
        coupon_code=result.coupon.code,
        coupon_id=result.coupon.definition_id or "",
        points_spent=result.points_spent,
        points_balance=result.member_balance,
        valid_from=_day(result.coupon.valid_from),
        valid_to=_day(result.coupon.valid_to),
        replayed=result.replayed,
    )


def adjust_to_proto(result: AdjustResult) -> pb.AdjustPointsReply:
    return pb.AdjustPointsReply(
        entry_id=result.entry_id, points_balance=result.member_balance, replayed=result.replayed
    )
