"""The invoice invariant checker: silent on sound invoices, loud and precise on corrupted ones."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest

from engine.invoice.build import Invoice, InvoiceLine, LineKind, RateTotals, Totals, build_invoice
from engine.invoice.check import InvoiceInvariantError, check_invoice, ensure_invoice
from engine.invoice.tax import tax_flags
from engine.model import (
    CouponOutcome,
    Discount,
    Evaluation,
    Line,
    LineOutcome,
    PointsOutcome,
    Redemption,
    Request,
    TaxRate,
)

CODE = "1030307000000000000"
AT = datetime(2026, 11, 15, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def sale() -> tuple[Request, Evaluation]:
    """The §12 worked example: three lines at 13%, 9% and exempt, a 10.00 coupon and 2.00 of points."""
    rates = (TaxRate.parse("13%"), TaxRate.parse("9%"), TaxRate.parse("exempt"))
    request = Request(
        lines=(
            Line("a", "可口可乐330ml", 350, 2000, rates[0], tax_code=CODE),
            Line("b", "大豆油5L", 5990, 1000, rates[1], tax_code=CODE),
            Line("c", "西红柿", 640, 1250, rates[2], tax_code=CODE),
        ),
        at=AT,
    )
    outcomes = []
    for line_id, amount, coupon, points in (("a", 700, 93, 19), ("b", 5990, 800, 160), ("c", 800, 107, 21)):
        ds = (Discount("coupon:C10", "coupon", coupon), Discount("points", "points", points))
        outcomes.append(LineOutcome(line_id, amount, ds, coupon + points, amount - coupon - points, 0, True))
    ev = Evaluation(
        "t",
        "v",
        tuple(outcomes),
        7490,
        1200,
        6290,
        PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)),
        (CouponOutcome("C10", True, "accepted", 1000),),
        Redemption(200, 200),
    )
    return request, ev


@pytest.fixture
def good() -> tuple[Invoice, Request, Evaluation]:
    request, ev = sale()
    return build_invoice(request, ev), request, ev


def with_line(invoice: Invoice, index: int, **changes) -> Invoice:
    lines = list(invoice.lines)
    lines[index] = dataclasses.replace(lines[index], **changes)
    return dataclasses.replace(invoice, lines=tuple(lines))


def with_lines(invoice: Invoice, lines: list[InvoiceLine]) -> Invoice:
    """Replace the lines, renumbered 1..n and with the totals kept consistent."""
    lines = [dataclasses.replace(x, no=i + 1) for i, x in enumerate(lines)]
    je, se = sum(x.amount for x in lines), sum(x.tax for x in lines)
    return dataclasses.replace(invoice, lines=tuple(lines), totals=Totals(je, se, je + se))


def found(violations: list[str], tag: str, where: str = "") -> bool:
    return any(v.startswith(tag) and where in v for v in violations)


class TestSoundInvoices:
    def test_worked_example_has_no_violations(self, good):
        """The §12 invoice passes every check."""
        assert check_invoice(*good) == []

    def test_ensure_invoice_returns_a_sound_invoice(self, good):
        """ensure_invoice hands back the invoice it checked."""
        assert ensure_invoice(*good) is good[0]


class TestStructure:
    def test_discount_line_first(self, good):
        """Swapping a pair so the discount line comes first breaks INV-02 and INV-03 at lines 1 and 2."""
        invoice, request, ev = good
        lines = list(invoice.lines)
        lines[0], lines[1] = lines[1], lines[0]
        violations = check_invoice(with_lines(invoice, lines), request, ev)
        assert found(violations, "INV-02", "line 1 (折扣行 of 'a' 可口可乐330ml)")
        assert found(violations, "INV-03", "line 2 (被折扣行 of 'a'")

    def test_items_out_of_receipt_order(self, good):
        """Moving the oil pair before the coke pair breaks receipt order (INV-07)."""
        invoice, request, ev = good
        lines = list(invoice.lines)
        violations = check_invoice(with_lines(invoice, lines[2:4] + lines[:2] + lines[4:]), request, ev)
        assert found(violations, "INV-07", "['b', 'a', 'c']")

    def test_last_line_discounted_without_its_discount_line(self, good):
        """Without its discount line the last 被折扣行 breaks INV-04 and its discount is unbooked (INV-23)."""
        invoice, request, ev = good
        violations = check_invoice(with_lines(invoice, list(invoice.lines[:5])), request, ev)
        assert found(violations, "INV-04", "line 5 (被折扣行 of 'c' 西红柿)")
        assert found(violations, "INV-23", "line 5")
        assert found(violations, "INV-22")

    def test_unknown_kind(self, good):
        """A kind outside 0, 1, 2 is INV-01."""
        invoice, request, ev = good
        assert found(check_invoice(with_line(invoice, 0, kind=3), request, ev), "INV-01", "line 1")

    def test_bad_numbering(self, good):
        """Line numbers must run 1..n."""
        invoice, request, ev = good
        assert found(
            check_invoice(with_line(invoice, 3, no=9), request, ev), "INV-08", "numbered 9, expected 4"
        )

    def test_too_many_lines_for_the_channel(self, good):
        """Six lines on a channel that takes three is INV-30."""
        assert found(check_invoice(*good, max_lines=3), "INV-30", "6 lines")

    def test_one_line_invoice_must_be_normal(self):
        """A lone 被折扣行 breaks INV-04 even if the discount is elsewhere."""
        request, ev = sale()
        invoice = build_invoice(request, ev)
        lone = with_lines(invoice, [invoice.lines[0]])
        assert found(check_invoice(lone, request, ev), "INV-04", "one-line invoice")


class TestPairs:
    def test_zero_discount_line(self, good):
        """A 0.00 discount line is reported as INV-12 and INV-10 at that line."""
        invoice, request, ev = good
        violations = check_invoice(with_line(invoice, 1, amount=0, tax=0, gross=0), request, ev)
        assert found(violations, "INV-12", "line 2 (折扣行 of 'a' 可口可乐330ml)")
        assert found(violations, "INV-10", "line 2")

    def test_discount_line_with_quantity_and_unit(self, good):
        """A discount line with a quantity, price or unit breaks INV-06."""
        invoice, request, ev = good
        bad = with_line(invoice, 3, quantity=1000, unit_price_excl=Decimal("8.81000000"), unit="桶")
        assert found(
            check_invoice(bad, request, ev),
            "INV-06",
            "line 4 (折扣行 of 'b' 大豆油5L): a discount line must have no unit, quantity",
        )

    def test_discount_line_with_other_name_or_rate(self, good):
        """A discount line named or rated differently from its 被折扣行 breaks INV-05."""
        invoice, request, ev = good
        renamed = check_invoice(with_line(invoice, 1, name="折扣"), request, ev)
        assert found(
            renamed, "INV-05", "line 2 (折扣行 of 'a' 折扣): name '折扣' differs from its 被折扣行 line 1"
        )
        rerated = with_line(invoice, 5, rate=TaxRate.parse("0%"), flags=tax_flags(TaxRate.parse("0%")))
        violations = check_invoice(rerated, request, ev)
        assert found(violations, "INV-05", "line 6 (折扣行 of 'c' 西红柿): rate")
        assert found(violations, "INV-05", "line 6 (折扣行 of 'c' 西红柿): flags")

    def test_wrong_flags_for_the_rate(self, good):
        """An exempt line without its 免税 flags breaks INV-05."""
        invoice, request, ev = good
        violations = check_invoice(with_line(invoice, 4, flags=tax_flags(TaxRate.parse("13%"))), request, ev)
        assert found(violations, "INV-05", "line 5 (被折扣行 of 'c' 西红柿): flags")

    def test_discount_larger_than_the_item(self, good):
        """A discount line above its item breaks INV-11 (and the item's books, INV-23)."""
        invoice, request, ev = good
        bad = with_line(invoice, 1, amount=-700, tax=-91, gross=-791)
        assert found(check_invoice(bad, request, ev), "INV-11", "line 2")

    def test_hundred_percent_pair_not_copied(self):
        """A 100% discount whose split differs from the item negated breaks INV-13."""
        rate = TaxRate.parse("13%")
        request = Request(
            lines=(
                Line("a", "可乐", 350, 1000, rate, tax_code=CODE),
                Line("b", "水", 200, 1000, rate, tax_code=CODE),
            ),
            at=AT,
        )
        ev = Evaluation(
            "t",
            "v",
            (
                LineOutcome("a", 350, (Discount("r", "rule", 350),), 350, 0, 0, True),
                LineOutcome("b", 200, (), 0, 200, 0, True),
            ),
            550,
            350,
            200,
            PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)),
        )
        invoice = build_invoice(request, ev)
        assert check_invoice(invoice, request, ev) == []
        bad = with_line(invoice, 1, amount=-311, tax=-39)
        violations = check_invoice(bad, request, ev)
        assert found(violations, "INV-13", "line 2 (折扣行 of 'a' 可乐): a 100% discount must copy")


class TestArithmetic:
    def test_wrong_tax(self, good):
        """Moving a fen from amount to tax keeps H but breaks INV-17 at that line."""
        invoice, request, ev = good
        violations = check_invoice(with_line(invoice, 2, amount=5494, tax=496), request, ev)
        assert found(
            violations, "INV-17", "line 3 (被折扣行 of 'b' 大豆油5L): tax 4.96 on 59.90 at 9% should be 4.95"
        )

    def test_gross_not_amount_plus_tax(self, good):
        """H must be je + se on every line."""
        invoice, request, ev = good
        assert found(check_invoice(with_line(invoice, 0, gross=701), request, ev), "INV-20", "line 1")

    def test_float_money_is_refused(self, good):
        """A float amount is reported as INV-19, not silently compared."""
        invoice, request, ev = good
        violations = check_invoice(with_line(invoice, 0, amount=6.19), request, ev)
        assert found(violations, "INV-19", "line 1 (被折扣行 of 'a' 可口可乐330ml): amount")

    def test_unit_price_off_by_more_than_a_cent(self, good):
        """A price that does not give back the amount within 0.01 breaks INV-16."""
        invoice, request, ev = good
        bad = with_line(invoice, 0, unit_price_excl=Decimal("3.10600000"))  # 6.21 vs 6.19
        assert found(check_invoice(bad, request, ev), "INV-16", "line 1")

    def test_unit_price_with_too_many_decimals(self, good):
        """A price with nine decimals breaks INV-15."""
        invoice, request, ev = good
        bad = with_line(invoice, 0, unit_price_excl=Decimal("3.095000001"))
        assert found(check_invoice(bad, request, ev), "INV-15", "more than 8 decimals")

    def test_quantity_without_price(self, good):
        """Quantity and price come together or not at all (INV-15)."""
        invoice, request, ev = good
        assert found(
            check_invoice(with_line(invoice, 2, unit_price_excl=None), request, ev), "INV-15", "line 3"
        )

    def test_goods_line_with_other_quantity_than_the_basket(self, good):
        """The goods line repeats the basket line's quantity (INV-07)."""
        invoice, request, ev = good
        bad = with_line(invoice, 0, quantity=3000, unit_price_excl=Decimal("2.06333333"))
        assert found(
            check_invoice(bad, request, ev), "INV-07", "line 1 (被折扣行 of 'a' 可口可乐330ml): quantity"
        )

    def test_missing_tax_code(self, good):
        """A line whose code is not 19 digits is reported."""
        invoice, request, ev = good
        assert found(
            check_invoice(with_line(invoice, 0, tax_code="123"), request, ev), "INV-05", "tax code '123'"
        )


class TestTotals:
    def test_total_differs_from_what_the_customer_pays(self, good):
        """An evaluation that charges 0.01 more than the invoice breaks INV-22."""
        invoice, request, ev = good
        violations = check_invoice(invoice, request, ev._replace(payable=6291))
        assert found(violations, "INV-22", "JSHJ 62.90 is not what the customer pays, 62.91")

    def test_header_totals_not_the_sum_of_lines(self, good):
        """Header totals that are not the sums of the lines break INV-20."""
        invoice, request, ev = good
        bad = dataclasses.replace(invoice, totals=Totals(5807, 484, 6291))
        violations = check_invoice(bad, request, ev)
        assert found(violations, "INV-20", "HJJE 58.07")
        assert found(violations, "INV-22")

    def test_per_rate_totals_wrong(self, good):
        """A per-rate total off by a fen, or a missing rate, breaks INV-20."""
        invoice, request, ev = good
        by_rate = list(invoice.by_rate)
        by_rate[1] = RateTotals(by_rate[1].rate, 4614, 417, 5031)
        violations = check_invoice(dataclasses.replace(invoice, by_rate=tuple(by_rate)), request, ev)
        assert found(violations, "INV-20", "totals at 9%")
        missing = check_invoice(dataclasses.replace(invoice, by_rate=invoice.by_rate[:2]), request, ev)
        assert found(missing, "INV-20", "totals per rate")

    def test_refused_although_the_customer_pays(self, good):
        """Refusing an invoice for a sale that is paid is INV-22."""
        _, request, ev = good
        refused = Invoice("t", "v", (), Totals(), (), "no invoice")
        assert found(check_invoice(refused, request, ev), "INV-22", "customer pays 62.90")

    def test_issued_without_lines(self, good):
        """An issued invoice with no lines is INV-13."""
        invoice, request, ev = good
        assert found(check_invoice(dataclasses.replace(invoice, lines=()), request, ev), "INV-13")


class TestEvaluationBooks:
    def test_coupon_shares_must_sum_to_the_coupon(self, good):
        """A coupon that took 10.00 but whose shares sum to 9.99 breaks INV-24."""
        invoice, request, ev = good
        coupons = (CouponOutcome("C10", True, "accepted", 999),)
        violations = check_invoice(invoice, request, ev._replace(coupons=coupons))
        assert found(violations, "INV-24", "coupon:C10: shares sum to 10.00 but it took 9.99")

    def test_share_above_its_pro_rata_part(self):
        """Giving one line far more of a coupon than its share of the base breaks INV-26 at that line."""
        request, ev = sale()
        lines = list(ev.lines)
        moved = 50
        a, b = lines[0], lines[1]
        a_ds = (a.discounts[0]._replace(fen=a.discounts[0].fen + moved), a.discounts[1])
        b_ds = (b.discounts[0]._replace(fen=b.discounts[0].fen - moved), b.discounts[1])
        lines[0] = a._replace(discounts=a_ds, discount=a.discount + moved, net=a.net - moved)
        lines[1] = b._replace(discounts=b_ds, discount=b.discount - moved, net=b.net + moved)
        bad = ev._replace(lines=tuple(lines))
        violations = check_invoice(build_invoice(request, bad), request, bad)
        assert found(violations, "INV-26", "coupon:C10 on basket line 'a'")
        assert not found(violations, "INV-22")

    def test_line_amount_must_be_price_times_quantity(self, good):
        """A line outcome whose gross is not round(unit price x quantity) is INV-23."""
        invoice, request, ev = good
        lines = (ev.lines[0]._replace(amount=701, net=589), *ev.lines[1:])
        violations = check_invoice(invoice, request, ev._replace(lines=lines))
        assert found(violations, "INV-23", "basket line 'a': amount 7.01")

    def test_zero_fen_discount_entry(self, good):
        """A 0.00 entry in a line's discount list is INV-25."""
        invoice, request, ev = good
        extra = (*ev.lines[0].discounts, Discount("r", "rule", 0))
        lines = (ev.lines[0]._replace(discounts=extra), *ev.lines[1:])
        violations = check_invoice(invoice, request, ev._replace(lines=lines))
        assert found(violations, "INV-25", "r takes 0.00")


class TestEnsure:
    def test_raises_with_every_violation(self, good):
        """ensure_invoice raises InvoiceInvariantError listing each violation on its own line."""
        invoice, request, ev = good
        bad = with_line(with_line(invoice, 2, amount=5494, tax=496), 1, name="x")
        with pytest.raises(InvoiceInvariantError) as info:
            ensure_invoice(bad, request, ev)
        assert any(v.startswith("INV-17 line 3") for v in info.value.violations)
        assert any(v.startswith("INV-05 line 2") for v in info.value.violations)
        assert "\n  INV-17 line 3" in str(info.value)

    def test_kind_is_a_line_kind(self, good):
        """Built lines carry LineKind values that compare equal to the interface codes."""
        invoice, _, _ = good
        assert invoice.lines[0].kind is LineKind.DISCOUNTED and invoice.lines[0].kind == 2
