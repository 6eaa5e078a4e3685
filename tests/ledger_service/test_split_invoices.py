"""A sale too big for one invoice, end to end: Evaluate, Commit's stored sale and Return all carry lists.

289 lines at 0.99 yuan (13%) used to answer INTERNAL (INV-21); now the reply has two invoices,
the legacy single field points at them, the sale row stores the list and a full return
gives red invoices that offset each sale invoice.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from svc_support import CALL_TIMEOUT, Svc, basket

from server._pb.promo.v1 import promo_pb2 as pb
from server.storage.models import Sale
from server.wire.reply import SPLIT


def big_basket(n: int = 289, price: int = 99) -> pb.EvaluateRequest:
    msg = basket()
    del msg.lines[:]
    for k in range(n):
        msg.lines.add(
            id=f"L{k}", name="*饮料*矿泉水", unit_price_fen=price, quantity_milli=1000,
            tax_rate="13%", tax_code="1070223000000000000", unit="瓶",
        )  # fmt: skip
    return msg


def test_a_big_sale_is_two_invoices_everywhere(svc: Svc) -> None:
    svc.enroll()
    final = big_basket()
    final.final_quote = True  # a scan builds no invoice; the final quote does
    quote = svc.stub.Evaluate(final, timeout=CALL_TIMEOUT)
    assert [i.number for i in quote.invoices] == [1, 2]
    assert sum(i.totals.gross_fen for i in quote.invoices) == quote.payable_fen == 289 * 99
    assert [len(i.lines) for i in quote.invoices] == [288, 1]
    assert not quote.invoice.lines and quote.invoice.refused_reason == SPLIT.format(2)
    committed = svc.commit("T1", big_basket())
    assert list(committed.sale.invoices) == list(quote.invoices)
    with svc.ledger.sessions() as s:
        stored = json.loads(s.execute(select(Sale.invoice)).scalar_one())
    assert [len(i["lines"]) for i in stored] == [288, 1] and [i["number"] for i in stored] == [1, 2]
    req = pb.ReturnRequest(
        transaction_id="T1",
        return_id="R1",
        lines=[pb.ReturnLine(line_id=f"L{k}", quantity_milli=1000) for k in (288, 0, 5)],
    )
    reply = svc.stub.Return(req, timeout=CALL_TIMEOUT)
    # red invoices follow the sale invoices they offset: L0 and L5 were on invoice 1, L288 on invoice 2
    assert [[line.line_id for line in i.lines] for i in reply.red_invoices] == [["L0", "L5"], ["L288"]]
    assert [i.number for i in reply.red_invoices] == [1, 2]
    assert sum(i.totals.gross_fen for i in reply.red_invoices) == -reply.refund_fen == -3 * 99
    assert [line.no for line in reply.red_lines] == [1, 2, 3]  # the legacy flat list, numbered through
    again = svc.stub.Return(req, timeout=CALL_TIMEOUT)
    assert again.replayed and list(again.red_invoices) == list(reply.red_invoices)


def test_a_sale_that_fits_has_the_same_invoice_in_both_fields(svc: Svc) -> None:
    final = basket(member=None)
    final.final_quote = True
    quote = svc.stub.Evaluate(final, timeout=CALL_TIMEOUT)
    assert len(quote.invoices) == 1 and quote.invoices[0] == quote.invoice and quote.invoice.number == 1
