"""Invoice lines from an evaluation: the §12 worked example, the exact tax split, bad input, rendering."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from engine.errors import InvalidRequest
from engine.invoice.build import Invoice, InvoiceError, LineKind, build_invoice, full_return_lines
from engine.invoice.check import check_invoice
from engine.invoice.render import COLUMNS, render_csv, render_table, text_width, to_json_dict, to_rows
from engine.invoice.tax import (
    KNOWN_RATES,
    TaxFlags,
    check_rate,
    rate_label,
    split_inclusive,
    tax_exclusive,
    tax_flags,
    tax_inclusive,
    unit_price_excl,
)
from engine.model import (
    CouponOutcome,
    Discount,
    Evaluation,
    Line,
    LineOutcome,
    Member,
    PointsOutcome,
    Redemption,
    Request,
    TaxRate,
)

CODE = "1030307000000000000"  # a 19-digit 商品和服务税收分类编码 (placeholder)
AT = datetime(2026, 11, 15, 10, 0, tzinfo=timezone(timedelta(hours=8)))
R13, R9, EXEMPT = TaxRate.parse("13%"), TaxRate.parse("9%"), TaxRate.parse("exempt")


def line(id_: str, name: str, price: int, qty: int, tax: TaxRate, **kw) -> Line:
    return Line(
        id=id_, name=name, unit_price=price, quantity=qty, tax=tax, tax_code=kw.pop("tax_code", CODE), **kw
    )


def outcome(line_id: str, amount: int, *discounts: Discount) -> LineOutcome:
    total = sum(d.fen for d in discounts)
    return LineOutcome(line_id, amount, tuple(discounts), total, amount - total, 0, True)


NO_REDEMPTION = Redemption(0, 0)


def evaluation(*outcomes: LineOutcome, coupons=(), redemption=NO_REDEMPTION) -> Evaluation:
    subtotal = sum(o.amount for o in outcomes)
    discount = sum(o.discount for o in outcomes)
    points = PointsOutcome(0, 0, 0, Fraction(1), Fraction(1))
    return Evaluation(
        "t", "0123456789ab", outcomes, subtotal, discount, subtotal - discount, points, coupons, redemption
    )


def worked_example() -> tuple[Request, Evaluation]:
    """§12: coke 2 x 3.50 @13%, oil 59.90 @9%, tomatoes 1.25 kg x 6.40 exempt; coupon 10.00, 200 points."""
    request = Request(
        lines=(
            line("a", "可口可乐330ml", 350, 2000, R13, spec="330ml", unit="罐"),
            line("b", "大豆油5L", 5990, 1000, R9, unit="桶"),
            line("c", "西红柿", 640, 1250, EXEMPT, unit="kg"),
        ),
        at=AT,
        member=Member(tier="normal"),
        coupons=("C10",),
        redeem_points=200,
    )

    def shares(line_id: str, amount: int, coupon: int, points: int) -> LineOutcome:
        return outcome(
            line_id, amount, Discount("coupon:C10", "coupon", coupon), Discount("points", "points", points)
        )

    ev = evaluation(
        shares("a", 700, 93, 19),  # 1.12
        shares("b", 5990, 800, 160),  # 9.60
        shares("c", 800, 107, 21),  # 1.28
        coupons=(CouponOutcome("C10", True, "accepted", 1000),),
        redemption=Redemption(200, 200),
    )
    return request, ev


EXPECTED_12 = [
    # no, kind, name, rate, quantity, unit price, je, se, H
    (1, 2, "可口可乐330ml", R13, 2000, "3.09500000", 619, 81, 700),
    (2, 1, "可口可乐330ml", R13, None, None, -99, -13, -112),
    (3, 2, "大豆油5L", R9, 1000, "54.95000000", 5495, 495, 5990),
    (4, 1, "大豆油5L", R9, None, None, -881, -79, -960),
    (5, 2, "西红柿", EXEMPT, 1250, "6.40000000", 800, 0, 800),
    (6, 1, "西红柿", EXEMPT, None, None, -128, 0, -128),
]


def summary(invoice: Invoice) -> list[tuple]:
    return [
        (
            x.no,
            int(x.kind),
            x.name,
            x.rate,
            x.quantity,
            None if x.unit_price_excl is None else str(x.unit_price_excl),
            x.amount,
            x.tax,
            x.gross,
        )
        for x in invoice.lines
    ]


def assert_worked_example(invoice: Invoice) -> None:
    assert summary(invoice) == EXPECTED_12
    assert (invoice.hjje, invoice.hjse, invoice.jshj) == (5806, 484, 6290)
    per_rate = {str(t.rate): (t.amount, t.tax, t.gross) for t in invoice.by_rate}
    assert per_rate == {"13%": (520, 68, 588), "9%": (4614, 416, 5030), "exempt": (672, 0, 672)}
    assert invoice.rate_totals()[R9].tax == 416  # 4.95 - 0.79, not the 4.15 of the net (§12)


class TestWorkedExample:
    def test_hand_built_evaluation_gives_the_six_lines_of_section_12(self):
        """The §12 basket gives exactly its six lines, unit prices and totals 58.06 / 4.84 / 62.90."""
        request, ev = worked_example()
        assert_worked_example(build_invoice(request, ev))

    def test_worked_example_holds_every_invariant(self):
        """The checker finds nothing wrong with the §12 invoice."""
        request, ev = worked_example()
        assert check_invoice(build_invoice(request, ev), request, ev) == []

    def test_discount_lines_copy_the_goods_line_and_leave_spec_unit_qty_price_empty(self):
        """A discount line repeats name, code, rate and flags, and has no spec, unit, quantity or price."""
        request, ev = worked_example()
        lines = build_invoice(request, ev).lines
        for goods, disc in zip(lines[::2], lines[1::2], strict=True):
            assert disc.kind is LineKind.DISCOUNT and goods.kind is LineKind.DISCOUNTED
            same = ("line_id", "name", "tax_code", "rate", "flags")
            assert [getattr(disc, f) for f in same] == [getattr(goods, f) for f in same]
            assert (disc.spec, disc.unit, disc.quantity, disc.unit_price_excl) == ("", "", None, None)
        assert (lines[0].spec, lines[0].unit) == ("330ml", "罐")

    def test_exempt_lines_carry_the_exemption_flags(self):
        """免税 tomatoes carry 零税率标识 1, 优惠政策标识 1 and 增值税特殊管理 免税 on both lines."""
        request, ev = worked_example()
        lines = build_invoice(request, ev).lines
        assert lines[4].flags == lines[5].flags == TaxFlags("1", "1", "免税", "03")
        assert lines[0].flags == TaxFlags("", "0", "", "")

    def test_kinds_have_their_shudian_codes(self):
        """The 数电 codes of kinds 0, 1, 2 are "00", "01", "02"."""
        assert [k.shudian for k in LineKind] == ["00", "01", "02"]

    @pytest.mark.skipif(importlib.util.find_spec("engine.compiled") is None, reason="engine.compiled not yet")
    def test_compiled_ruleset_with_coupon_and_points_gives_the_same_invoice(self):
        """A ruleset with a 10.00 coupon and 100 points = 1 yuan, redeeming 200 points, gives §12 exactly."""
        from engine.compiled import compile_ruleset
        from engine.rules import Coupon, Ruleset, Settings, Tier

        ruleset = Ruleset(
            name="vat-example",
            settings=Settings(redeem_points_per_yuan=100),
            tiers=(Tier("normal", "普通会员", Fraction(1), 0),),
            coupons=(Coupon("C10", "10元券", 1000),),
        )
        request, _ = worked_example()
        ev = compile_ruleset(ruleset).evaluate(request)
        assert [o.discount for o in ev.lines] == [112, 960, 128]
        assert ev.payable == 6290
        invoice = build_invoice(request, ev)
        assert_worked_example(invoice)
        assert check_invoice(invoice, request, ev) == []


class TestSplitInclusive:
    def test_section_12_splits(self):
        """7.00 @13% = 6.19 + 0.81, -1.12 = -0.99 - 0.13, 59.90 @9% = 54.95 + 4.95, -9.60 = -8.81 - 0.79."""
        r13, r9 = Fraction(13, 100), Fraction(9, 100)
        assert split_inclusive(700, r13) == (619, 81)
        assert split_inclusive(-112, r13) == (-99, -13)
        assert split_inclusive(5990, r9) == (5495, 495)
        assert split_inclusive(-960, r9) == (-881, -79)
        assert split_inclusive(-128, Fraction(0)) == (-128, 0)

    def test_matches_decimal_half_up_on_a_tax_inclusive_grid(self):
        """tax = round(H x r/(1 + r)) and net = round(H/(1 + r)), half up, agree with Decimal on a grid."""
        cent = Decimal(1)
        for rate in KNOWN_RATES:
            r = Decimal(rate.numerator) / Decimal(rate.denominator)
            for gross in [*range(-3000, 3001), 199_999, 1_000_000_07, -987_654_321]:
                tax = (Decimal(gross) * r / (1 + r)).quantize(cent, ROUND_HALF_UP)
                net = (Decimal(gross) / (1 + r)).quantize(cent, ROUND_HALF_UP)
                assert split_inclusive(gross, rate) == (gross - int(tax), int(tax)), (gross, rate)
                assert gross - int(net) == int(tax), (gross, rate)  # §6: formulations (a) and (b) agree

    def test_is_odd_symmetric(self):
        """The tax of a discount -H is exactly minus the tax of H, so a 100% pair nets to zero."""
        for rate in KNOWN_RATES:
            for gross in range(1, 2000, 7):
                je, se = split_inclusive(gross, rate)
                assert split_inclusive(-gross, rate) == (-je, -se)

    def test_tax_exclusive_vectors(self):
        """§12 vectors: 0.50 @13% tax-exclusive is 0.07 (tie 0.065 rounds up) and -0.50 is -0.07."""
        assert tax_exclusive(50, Fraction(13, 100)) == 7
        assert tax_exclusive(-50, Fraction(13, 100)) == -7
        assert tax_exclusive(619, Fraction(13, 100)) == 80  # 0.8047: the 0.01 drift §12 shows on line 1

    def test_tax_inclusive_never_rounds_a_cent_into_tax_on_tiny_amounts(self):
        """0.01 @13% has 0.00 tax (0.00115), so the line amount stays positive."""
        assert tax_inclusive(1, Fraction(13, 100)) == 0
        assert tax_inclusive(9, Fraction(13, 100)) == 1


class TestUnitPrice:
    def test_derived_from_amount_exactly_to_eight_places(self):
        """6.19 over 2 units is 3.09500000; 8.00 over 1.250 kg is 6.40000000; 1.00 over 3 is 0.33333333."""
        assert str(unit_price_excl(619, 2000)) == "3.09500000"
        assert str(unit_price_excl(800, 1250)) == "6.40000000"
        assert str(unit_price_excl(100, 3000)) == "0.33333333"
        assert str(unit_price_excl(200, 3000)) == "0.66666667"  # half up on the 9th place

    def test_has_exactly_eight_decimals(self):
        """The price is a Decimal with exponent -8, even for huge amounts."""
        price = unit_price_excl(10**13 + 7, 3)
        assert price.as_tuple().exponent == -8
        assert price == (Decimal(10**13 + 7) * 10 / 3).quantize(Decimal("1e-8"), ROUND_HALF_UP)

    def test_refuses_a_zero_quantity(self):
        """A price needs a positive quantity; the message says so."""
        with pytest.raises(ValueError, match="positive quantity"):
            unit_price_excl(100, 0)


class TestRates:
    def test_labels(self):
        """Rates read as finance writes them: 13%, 1.5%, 0%, 免税, 不征税."""
        labels = [rate_label(TaxRate.parse(t)) for t in ("13%", "1.5%", "0%", "exempt", "non_taxable")]
        assert labels == ["13%", "1.5%", "0%", "免税", "不征税"]

    def test_zero_rate_flags(self):
        """普通零税率 is 零税率标识 3; 不征税 is 2 with 优惠政策标识 1; a bare 0% reads as 普通零税率."""
        assert tax_flags(TaxRate.parse("0%")) == TaxFlags("3", "0", "", "")
        assert tax_flags(TaxRate.parse("non_taxable")) == TaxFlags("2", "1", "不征税", "04")
        assert tax_flags(TaxRate(Fraction(0))) == TaxFlags("3", "0", "", "")

    def test_parse_names_the_known_rates(self):
        """An unknown rate text is refused with the list of rates we know."""
        with pytest.raises(ValueError, match=r"unknown tax rate '7%'; use one of 13%, 9%"):
            TaxRate.parse("7%")

    def test_check_rate_refuses_off_menu_rates_and_exemptions_on_taxed_rates(self):
        """7% is not on any device's menu, and 13% cannot be 免税."""
        with pytest.raises(ValueError, match="unknown tax rate 7/100; use one of 13%"):
            check_rate(TaxRate(Fraction(7, 100)))
        with pytest.raises(ValueError, match="needs a 0% rate"):
            check_rate(TaxRate(Fraction(13, 100), "exempt"))
        with pytest.raises(ValueError, match="unknown exemption"):
            check_rate(TaxRate(Fraction(0), "free"))
        check_rate(TaxRate.parse("1.5%"))


class TestDiscountLines:
    def two_lines(self, d_a: int, d_b: int = 0) -> tuple[Request, Evaluation]:
        request = Request(lines=(line("a", "可乐", 350, 1000, R13), line("b", "油", 5990, 1000, R9)), at=AT)
        ev = evaluation(
            outcome("a", 350, *([Discount("r1", "rule", d_a)] if d_a else [])),
            outcome("b", 5990, *([Discount("r2", "rule", d_b)] if d_b else [])),
        )
        return request, ev

    def test_undiscounted_line_is_a_normal_line(self):
        """A line with no discount is one kind-0 line; no 0.00 discount line is ever emitted."""
        request, ev = self.two_lines(0, 599)
        invoice = build_invoice(request, ev)
        assert [int(x.kind) for x in invoice.lines] == [0, 2, 1]
        assert check_invoice(invoice, request, ev) == []

    def test_one_line_basket_is_one_normal_line(self):
        """A single undiscounted line makes a one-line invoice of kind 0."""
        request = Request(lines=(line("a", "可乐", 350, 1000, R13),), at=AT)
        ev = evaluation(outcome("a", 350))
        invoice = build_invoice(request, ev)
        assert [(int(x.kind), x.amount, x.tax) for x in invoice.lines] == [(0, 310, 40)]
        assert check_invoice(invoice, request, ev) == []

    def test_all_discounts_of_a_line_sum_into_one_discount_line(self):
        """An item rule, a 满减 share, a coupon share and points on one line become a single discount line."""
        request = Request(lines=(line("a", "可乐", 350, 4000, R13),), at=AT)
        ds = (
            Discount("a_class", "rule", 70),
            Discount("food_100_20", "rule", 100),
            Discount("coupon:C5", "coupon", 50),
            Discount("points", "points", 30),
        )
        ev = evaluation(
            outcome("a", 1400, *ds),
            coupons=(CouponOutcome("C5", True, "accepted", 50),),
            redemption=Redemption(30, 30),
        )
        invoice = build_invoice(request, ev)
        assert [(int(x.kind), x.gross) for x in invoice.lines] == [(2, 1400), (1, -250)]
        assert (invoice.lines[1].amount, invoice.lines[1].tax) == (-221, -29)
        assert check_invoice(invoice, request, ev) == []

    def test_hundred_percent_discount_copies_the_goods_line_negated(self):
        """3.50 @13% fully discounted: 3.10 / 0.40 then -3.10 / -0.40, while the other line keeps JSHJ > 0."""
        request, ev = self.two_lines(350)
        invoice = build_invoice(request, ev)
        got = [(int(x.kind), x.amount, x.tax, x.gross) for x in invoice.lines]
        assert got == [(2, 310, 40, 350), (1, -310, -40, -350), (0, 5495, 495, 5990)]
        assert invoice.jshj == 5990
        assert check_invoice(invoice, request, ev) == []

    def test_basket_that_nets_to_zero_is_refused_with_a_reason(self):
        """When every line is 100% off there is no invoice; ``refused`` says why and there are no lines."""
        request, ev = self.two_lines(350, 5990)
        invoice = build_invoice(request, ev)
        assert not invoice.issued and invoice.lines == () and invoice.by_rate == ()
        assert "nets to 0.00" in invoice.refused and "价税合计 > 0" in invoice.refused
        assert check_invoice(invoice, request, ev) == []
        assert render_table(invoice) == invoice.refused + "\n"

    def test_same_input_gives_the_same_invoice(self):
        """Building twice gives equal invoices, line for line (INV-08)."""
        request, ev = worked_example()
        assert build_invoice(request, ev) == build_invoice(request, ev)


class TestBadInput:
    def test_missing_tax_code_names_the_line(self):
        """A line without a 19-digit tax code is refused as lines[i].tax_code, naming the line."""
        request, ev = worked_example()
        bad = dataclasses.replace(
            request, lines=(request.lines[0], dataclasses.replace(request.lines[1], tax_code=""))
        )
        bad = dataclasses.replace(bad, lines=(*bad.lines, request.lines[2]))
        with pytest.raises(InvalidRequest) as info:
            build_invoice(bad, ev)
        assert info.value.field == "lines[1].tax_code"
        assert "'b' (大豆油5L)" in info.value.message and "19-digit" in info.value.message

    @pytest.mark.parametrize(
        "code", ["103030700000000000", "10303070000000000001", "10303070000000000X0", "１" * 19]
    )
    def test_malformed_tax_code_is_refused(self, code):
        """18 or 20 digits, a letter or full-width digits are not a tax classification code."""
        request, ev = worked_example()
        bad = dataclasses.replace(
            request, lines=(dataclasses.replace(request.lines[0], tax_code=code), *request.lines[1:])
        )
        with pytest.raises(InvalidRequest, match=r"lines\[0\]\.tax_code: .*got"):
            build_invoice(bad, ev)

    def test_unknown_rate_names_the_line_and_the_known_rates(self):
        """A 7% line is refused as lines[2].tax with the rates we know."""
        request, ev = worked_example()
        seven = dataclasses.replace(request.lines[2], tax=TaxRate(Fraction(7, 100)))
        bad = dataclasses.replace(request, lines=(*request.lines[:2], seven))
        with pytest.raises(InvalidRequest) as info:
            build_invoice(bad, ev)
        assert info.value.field == "lines[2].tax"
        assert "'c' (西红柿)" in info.value.message and "13%, 9%" in info.value.message

    def test_evaluation_of_another_basket_is_an_invoice_error(self):
        """Lines that do not match the request (count or ids) raise InvoiceError, not a wrong invoice."""
        request, ev = worked_example()
        with pytest.raises(InvoiceError, match="2 line"):
            build_invoice(request, ev._replace(lines=ev.lines[:2]))
        swapped = (ev.lines[1], ev.lines[0], ev.lines[2])
        with pytest.raises(InvoiceError, match="evaluation line 0 is 'b'"):
            build_invoice(request, ev._replace(lines=swapped))


class TestFullReturnLines:
    def test_red_lines_are_normal_lines_with_negated_nets(self):
        """Returning the §12 sale gives three kind-0 lines: -(je2 + je1), -(se2 + se1), negative quantity."""
        request, ev = worked_example()
        red = full_return_lines(build_invoice(request, ev))
        got = [(int(x.kind), x.line_id, x.quantity, x.amount, x.tax, x.gross) for x in red]
        assert got == [
            (0, "a", -2000, -520, -68, -588),
            (0, "b", -1000, -4614, -416, -5030),
            (0, "c", -1250, -672, 0, -672),
        ]
        assert [str(x.unit_price_excl) for x in red] == ["2.60000000", "46.14000000", "5.37600000"]

    def test_fully_discounted_items_are_left_out(self):
        """A line that netted to zero has nothing to return."""
        request = Request(lines=(line("a", "可乐", 350, 1000, R13), line("b", "油", 5990, 1000, R9)), at=AT)
        ev = evaluation(outcome("a", 350, Discount("r", "rule", 350)), outcome("b", 5990))
        assert [x.line_id for x in full_return_lines(build_invoice(request, ev))] == ["b"]


class TestRender:
    def test_rows_have_the_finance_columns_then_totals_per_rate(self):
        """to_rows gives one row per line, one per rate and a total, with money as "6.19" strings."""
        request, ev = worked_example()
        rows = to_rows(build_invoice(request, ev))
        assert [list(r) for r in rows] == [[k for k, _ in COLUMNS]] * 10
        assert rows[0] == {
            "no": "1",
            "kind": "2",
            "name": "可口可乐330ml",
            "tax_code": CODE,
            "rate": "13%",
            "quantity": "2",
            "unit_price": "3.09500000",
            "amount": "6.19",
            "tax": "0.81",
            "gross": "7.00",
        }
        assert rows[1]["quantity"] == rows[1]["unit_price"] == "" and rows[1]["amount"] == "-0.99"
        assert [(r["kind"], r["rate"], r["gross"]) for r in rows[6:]] == [
            ("rate_total", "13%", "5.88"),
            ("rate_total", "9%", "50.30"),
            ("rate_total", "免税", "6.72"),
            ("total", "", "62.90"),
        ]

    def test_table_columns_line_up_with_chinese_names(self):
        """Every row of the table ends its amount column at the same display width, CJK counting double."""
        request, ev = worked_example()
        table = render_table(build_invoice(request, ev))
        rows = [r for r in table.splitlines() if not r.startswith("-")]
        assert "价税合计" in rows[0] and "2 被折扣行" in rows[1]
        widths = {text_width(r) for r in rows}
        assert len(widths) == 1, table
        assert text_width("可口可乐330ml") == 13

    def test_csv_reads_back(self):
        """The CSV parses back to the rows, header first."""
        request, ev = worked_example()
        invoice = build_invoice(request, ev)
        parsed = list(csv.DictReader(io.StringIO(render_csv(invoice))))
        assert parsed == to_rows(invoice)

    def test_json_has_no_floats_and_money_as_strings(self):
        """to_json_dict serialises with money as "6.19" strings and no float anywhere."""
        request, ev = worked_example()
        data = to_json_dict(build_invoice(request, ev))

        def walk(value):
            assert not isinstance(value, float)
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(data)
        assert data["totals"] == {"amount": "58.06", "tax": "4.84", "gross": "62.90"}
        assert data["lines"][5]["flags"] == {
            "zero_rate": "1",
            "preferential": "1",
            "special": "免税",
            "yhzcbs": "03",
        }
        assert data["lines"][1]["kind_shudian"] == "01" and data["lines"][1]["quantity"] is None
        assert json.loads(json.dumps(data, ensure_ascii=False)) == data
