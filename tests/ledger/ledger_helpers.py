"""Helpers the ledger tests share: basket lines, a shop that prices and commits, enrolment."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from google.protobuf import json_format

from engine.compiled import CompiledRuleset
from engine.invoice.build import build_invoice
from engine.invoice.split import split_invoice
from engine.model import Line, Member, Request, TaxRate
from server.storage.results import RulesetRef, SaleToCommit
from server.storage.store import Ledger
from server.wire.reply import invoice_to_proto

CST = timezone(timedelta(hours=8))

# --------------------------------------------------------------------------- sales


def line(line_id: str, price: int, qty: int, *, category: str = "", tax: str = "13%", name: str = "") -> Line:
    return Line(
        id=line_id,
        name=name or f"goods {line_id}",
        unit_price=price,
        quantity=qty,
        tax=TaxRate.parse(tax),
        category=category,
        tax_code="1070223000000000000",
    )


@dataclass
class Shop:
    """Prices baskets with the test ruleset and turns them into commits, as the server will."""

    compiled: CompiledRuleset

    def sale(
        self,
        transaction_id: str,
        lines: tuple[Line, ...],
        *,
        member: str | None = "M1",
        tier: str = "normal",
        balance: int | None = None,
        coupons: tuple[tuple[str, str], ...] = (),  # (ledger code, definition id)
        redeem: int = 0,
        at: datetime = datetime(2026, 5, 1, 10, 0, tzinfo=CST),
    ) -> SaleToCommit:
        engine_member = Member(tier, id=member, points_balance=balance) if member else None
        request = Request(
            lines=lines,
            at=at,
            member=engine_member,
            coupons=tuple(d for _, d in coupons),
            redeem_points=redeem,
        )
        evaluation = self.compiled.evaluate(request)
        invoices = split_invoice(build_invoice(request, evaluation))
        accepted = {c.code for c in evaluation.coupons if c.accepted}
        request_json = repr(request)  # stands in for the wire JSON
        return SaleToCommit(
            transaction_id=transaction_id,
            request_hash=hashlib.sha256(request_json.encode()).hexdigest(),
            request_json=request_json,
            ruleset=RulesetRef(self.compiled.name, self.compiled.version, self.compiled.digest),
            request=request,
            evaluation=evaluation,
            invoices=invoices,
            invoice_json=json.dumps(  # as the desk stores them: the wire JSON of each invoice
                [json_format.MessageToDict(invoice_to_proto(i, n)) for n, i in enumerate(invoices, 1)]
            ),
            result_json=f'{{"payable": {evaluation.payable}, "points": {evaluation.points.earned}}}',
            sold_at=at,
            local_date=at.astimezone(CST).date(),
            member_id=member,
            coupon_codes=tuple(code for code, d in coupons if d in accepted),
            tiers=self.compiled.ruleset.tiers,
            points_expire_days=self.compiled.ruleset.settings.points_expire_days,
        )


def enroll(ledger: Ledger, member_id: str = "M1", tier: str = "normal", **kw: object) -> None:
    ledger.enroll_member(member_id, tier, join_date=kw.pop("join_date", date(2026, 1, 1)), **kw)  # type: ignore[arg-type]
