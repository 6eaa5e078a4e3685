"""Invoices of baskets with free units and gifts (VAT-DISCOUNT-LINES.md §11).

A gift and a free unit are rung up at their real price: the invoice shows the goods line at
its full amount with a discount line under it, never a zero or negative goods line.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dsl
from engine.compiled import compile_ruleset
from engine.invoice.build import LineKind, build_invoice
from engine.invoice.check import check_invoice
from engine.model import Line, Request, TaxRate

RULES = """\
ruleset "t" {
  currency CNY
  timezone "Asia/Shanghai"
}

rule b21 {
  when item.category = "lipstick"
  then buy 2 get 1 free
}

rule gift {
  when subtotal(item.sku != "GIFT-01") >= 300.00
  then gift "GIFT-01" qty 1
}
"""
CODE = "1070223030000000000"


def _line(n: int, price: int, qty: int, category: str, sku: str, rate: str = "13%") -> Line:
    return Line(
        str(n),
        f"goods {n}",
        price,
        qty * 1000,
        TaxRate.parse(rate),
        sku=sku,
        category=category,
        tax_code=CODE,
    )


def test_gift_and_free_unit_are_sales_with_discount_lines() -> None:
    ruleset = dsl.load(RULES, "t.rules")
    request = Request(
        (
            _line(1, 12900, 3, "lipstick", "LIP"),  # 3 x 129.00: one free -> 129.00 off
            _line(2, 5000, 1, "mask", "MASK"),
            _line(3, 3900, 1, "gift", "GIFT-01", "6%"),  # subtotal without it: 258.00 + 50.00 = 308.00
        ),
        datetime(2026, 11, 14, 10, tzinfo=UTC),
    )
    ev = compile_ruleset(ruleset).evaluate(request)
    assert [o.discount for o in ev.lines] == [12900, 0, 3900]
    assert ev.payable == 25800 + 5000
    invoice = build_invoice(request, ev)
    assert check_invoice(invoice, request, ev) == []
    kinds = [(line.line_id, line.kind) for line in invoice.lines]
    assert kinds == [
        ("1", LineKind.DISCOUNTED),
        ("1", LineKind.DISCOUNT),
        ("2", LineKind.NORMAL),
        ("3", LineKind.DISCOUNTED),
        ("3", LineKind.DISCOUNT),
    ]
    gift_goods, gift_discount = invoice.lines[3], invoice.lines[4]
    assert gift_goods.gross == 3900 > 0  # the gift is a sale at its real price
    assert gift_discount.gross == -3900  # and all of it is discounted on the same invoice
    assert gift_goods.amount == -gift_discount.amount and gift_goods.tax == -gift_discount.tax


def test_a_basket_of_only_the_free_gift_is_refused_an_invoice_not_given_a_zero_one() -> None:
    """INV-13: the invoice total must stay above 0: a lone gift meeting its own threshold is refused."""
    rules = RULES.replace('subtotal(item.sku != "GIFT-01") >= 300.00', "subtotal() >= 10.00")
    request = Request((_line(1, 3900, 1, "gift", "GIFT-01"),), datetime(2026, 11, 14, 10, tzinfo=UTC))
    ev = compile_ruleset(dsl.load(rules, "t.rules")).evaluate(request)
    assert ev.payable == 0
    invoice = build_invoice(request, ev)
    assert invoice.lines == () and invoice.refused
