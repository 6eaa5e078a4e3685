"""A sale that breaks a per-invoice limit becomes several invoices, each holding INV-01..30 (INV-29).

The two baskets of the issue (289 lines at 0.99 yuan; 413 lines of 123.45 yuan with points)
used to answer INTERNAL; here they and generated baskets up to the 1,000-line limit, at the
bounds of price and quantity, are split, and every invoice is held to the checker and to the
independent assertions of test_invoice_properties.py (run on the invoice's own share of the
sale). The fast path of the checker is held to the full report on split invoices too.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_invoice_properties import (  # pytest puts tests/engine on sys.path
    AT,
    CODES,
    EVALUATOR,
    RATES,
    SHOP,
    assert_invoice_invariants,
    dec_rate,
    needs_engine,
)

from engine.evaluate.validate import MAX_FEN, MAX_QTY
from engine.invoice.build import Invoice, InvoiceError, build_invoice
from engine.invoice.check import check_invoice, check_invoices, full_report, part_of
from engine.invoice.check_fast import invoice_holds
from engine.invoice.split import split_invoice
from engine.ledger.returns import plan_return, sold_lines
from engine.model import Line, Member, Request, TaxRate

R13 = TaxRate.parse("13%")
BIG = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

ONCE = settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
"""Fixed baskets run under hypothesis too: the shared assertions record statistics events."""


def basket(n: int, price: int, rate: TaxRate = R13, *, category: str = "C", redeem: int = 0) -> Request:
    lines = tuple(
        Line(id=f"L{k}", name="矿泉水", unit_price=price, quantity=1000, tax=rate, category=category,
             tax_code=CODES[0])
        for k in range(n)
    )  # fmt: skip
    return Request(lines=lines, at=AT, member=Member("gold"), redeem_points=redeem)


def drift(invoice: Invoice) -> Decimal:
    """|HJSE - sum(je x r)| in fen, recomputed with Decimal."""
    exact = sum(Decimal(x.amount) * dec_rate(x.rate) for x in invoice.lines)
    return abs(Decimal(invoice.hjse) - exact)


def assert_split_sound(request: Request, ev, invoices: tuple[Invoice, ...], max_lines: int = 2000) -> None:
    """Every invoice sound on its share; the sale's lines each on one invoice, in order; totals add up."""
    assert check_invoices(invoices, request, ev, max_lines=max_lines) == []
    if ev.payable == 0:
        assert len(invoices) == 1 and invoices[0].refused
        return
    carried = []
    for invoice in invoices:
        assert 0 < len(invoice.lines) <= max_lines  # INV-30
        assert drift(invoice) <= min(127, len(invoice.lines))  # INV-21
        assert re.fullmatch(r"(0|21)+", "".join(str(int(x.kind)) for x in invoice.lines))  # INV-29 pairs
        part_request, part_ev = part_of(invoice, request, ev)
        assert_invoice_invariants(invoice, part_request, part_ev)
        carried += [x.line_id for x in invoice.lines if x.kind != 1]
    assert carried == [line.id for line in request.lines]  # INV-29: each basket line once, in order
    assert sum(i.jshj for i in invoices) == ev.payable  # the invoices' totals are the sale's
    assert sum(i.hjse for i in invoices) == build_invoice(request, ev).hjse


class TestTheIssuesBaskets:
    @ONCE
    @given(st.none())
    def test_289_lines_at_099_split_in_two(self, _):
        request = basket(289, 99)
        ev = EVALUATOR(SHOP)(request)
        whole = build_invoice(request, ev)
        assert any(
            v.startswith("INV-21 totals") for v in check_invoice(whole, request, ev)
        )  # the old INTERNAL
        invoices = split_invoice(whole)
        assert len(invoices) == 2
        assert_split_sound(request, ev, invoices)

    @needs_engine
    @ONCE
    @given(st.none())
    def test_413_lines_of_12345_with_points_split(self, _):
        request = basket(413, 12345, redeem=100_000)
        ev = EVALUATOR(SHOP)(request)
        assert ev.redemption.value > 0
        whole = build_invoice(request, ev)
        assert check_invoice(whole, request, ev) != []  # one invoice could not carry it
        invoices = split_invoice(whole)
        assert len(invoices) >= 2
        assert_split_sound(request, ev, invoices)

    def test_a_sale_that_fits_is_the_builders_invoice_itself(self):
        request = basket(288, 99)
        ev = EVALUATOR(SHOP)(request)
        whole = build_invoice(request, ev)
        assert split_invoice(whole) == (whole,) and split_invoice(whole)[0] is whole

    @ONCE
    @given(st.none())
    def test_line_limit_splits_between_pairs_never_inside_one(self, _):
        request = basket(7, 12345, category="A")  # A: 9折 and 每件减0.50, so every line is a (2, 1) pair
        ev = EVALUATOR(SHOP)(request)
        invoices = split_invoice(build_invoice(request, ev), max_lines=5)
        assert [len(i.lines) for i in invoices] == [4, 4, 4, 2]
        assert_split_sound(request, ev, invoices, max_lines=5)

    def test_an_invoice_must_hold_a_pair(self):
        request = basket(3, 12345, category="A")
        ev = EVALUATOR(SHOP)(request)
        with pytest.raises(InvoiceError, match="not 1 line"):
            split_invoice(build_invoice(request, ev), max_lines=1)


@st.composite
def big_requests(draw: st.DrawFn) -> Request:
    """Up to the 1,000-line limit, prices and quantities up to their bounds, rates and rules mixed."""
    n = draw(st.one_of(st.integers(1, 1000), st.sampled_from((289, 413, 999, 1000))))
    uniform = draw(st.booleans())  # one price and rate on every line: the drift all runs one way
    price0 = draw(st.sampled_from((99, 12345, 1, 3)))
    rate0 = draw(st.sampled_from(RATES))
    lines = []
    for k in range(n):
        if uniform:
            price, qty, rate = price0, 1000, rate0
        else:
            price = draw(st.one_of(st.integers(1, 99999), st.sampled_from((99, 12345, MAX_FEN // 1000))))
            qty = draw(st.one_of(st.sampled_from((1000, 3000)), st.integers(1, 9999), st.just(1000)))
            rate = draw(st.sampled_from(RATES))
        if price * qty < 500:  # rounds to 0.00, which the till may not send
            qty = max(qty, 1000)
            price = max(price, 1)
        if (price * qty + 500) // 1000 > MAX_FEN:
            qty = 1000
        assert qty <= MAX_QTY
        lines.append(
            Line(id=f"L{k}", name="货", unit_price=price, quantity=qty, tax=rate,
                 category=draw(st.sampled_from("AABCCF")) if not uniform else "C", tax_code=CODES[k % 3])
        )  # fmt: skip
    coupons = draw(st.sampled_from(((), ("C1",), ("C2", "C1"))))
    redeem = draw(st.sampled_from((0, 200, 2_000_000)) | st.integers(0, 100_000))
    return Request(lines=tuple(lines), at=AT, member=Member("gold"), coupons=coupons, redeem_points=redeem)


@needs_engine
class TestBigBaskets:
    @BIG
    @given(big_requests())
    def test_every_invoice_of_every_basket_holds(self, request):
        """No valid basket is left without sound invoices (Evaluate would answer INTERNAL)."""
        ev = EVALUATOR(SHOP)(request)
        assert_split_sound(request, ev, split_invoice(build_invoice(request, ev)))

    @BIG
    @given(big_requests(), st.data())
    def test_returning_everything_gives_sound_red_invoices(self, request, data):
        """Red lines go back per sale invoice, cut again within INV-21 / INV-30; they negate the sale."""
        ev = EVALUATOR(SHOP)(request)
        invoices = split_invoice(build_invoice(request, ev))
        if invoices[0].refused:
            return
        sold = sold_lines(request, ev, invoices)
        asked = {s.line_id: s.quantity for s in sold if data.draw(st.booleans()) or s is sold[0]}
        plan = plan_return(sold, {}, asked)
        for red in plan.red_invoices:
            assert red.lines and all(x.kind == 0 and x.quantity < 0 for x in red.lines)  # INV-28
            assert [x.no for x in red.lines] == list(range(1, len(red.lines) + 1))
            assert drift(red) <= min(127, len(red.lines)) and len(red.lines) <= 2000
        assert sum(r.jshj for r in plan.red_invoices) == -plan.refund
        if len(asked) == len(sold):
            assert sum(r.hjse for r in plan.red_invoices) == -sum(i.hjse for i in invoices)


# --------------------------------------------------------------------------- the fast path on parts


def _broken(invoice: Invoice, k: int, field: str, value) -> Invoice:
    lines = list(invoice.lines)
    lines[k] = dataclasses.replace(lines[k], **{field: value})
    return dataclasses.replace(invoice, lines=tuple(lines))


@needs_engine
class TestFastPathOnParts:
    @BIG
    @given(big_requests(), st.data())
    def test_holds_only_when_the_report_is_empty(self, request, data):
        """On each invoice of a split sale, sound or broken one field at a time, "holds" implies no report."""
        ev = EVALUATOR(SHOP)(request)
        invoices = split_invoice(build_invoice(request, ev))
        for invoice in invoices:
            if invoice.refused:
                continue
            part_request, part_ev = part_of(invoice, request, ev)
            k = data.draw(st.integers(0, len(invoice.lines) - 1))
            field, value = data.draw(
                st.sampled_from(
                    (
                        ("amount", invoice.lines[k].amount + 1),
                        ("tax", invoice.lines[k].tax - 1),
                        ("no", invoice.lines[k].no + 1),
                        ("line_id", "elsewhere"),
                        ("gross", 0),
                    )
                )
            )
            for candidate in (invoice, _broken(invoice, k, field, value)):
                report = full_report(candidate, part_request, part_ev, part=True)
                if invoice_holds(candidate, part_request, part_ev, 2000, part=True):
                    assert report == []
                assert check_invoice(candidate, part_request, part_ev, part=True) == report
            assert invoice_holds(invoice, part_request, part_ev, 2000, part=True)  # sound parts go fast

    @needs_engine
    def test_a_part_checked_as_a_whole_sale_is_wrong_about_points(self):
        """Without ``part`` an invoice of a sale with points fails INV-24: the flag makes it a part."""
        request = basket(413, 12345, redeem=100_000)
        ev = EVALUATOR(SHOP)(request)
        first = split_invoice(build_invoice(request, ev))[0]
        part_request, part_ev = part_of(first, request, ev)
        assert any(v.startswith("INV-24 points") for v in check_invoice(first, part_request, part_ev))
        assert check_invoice(first, part_request, part_ev, part=True) == []

    def test_sale_level_breakage_is_reported(self):
        request = basket(289, 99)
        ev = EVALUATOR(SHOP)(request)
        a, b = split_invoice(build_invoice(request, ev))
        assert any(v.startswith("INV-22 totals") for v in check_invoices((a,), request, ev))  # one: the sale
        assert any(v.startswith("INV-29 sale") for v in check_invoices((b, a), request, ev))
        assert any("INV-20" in v or "INV-29" in v for v in check_invoices((a, a, b), request, ev))
