"""The checker's fast path vouches only for invoices the full report finds nothing wrong with.

:func:`engine.invoice.check.check_invoice` first asks :func:`invoice_holds` and runs the
full report only when it says "look closer". So its answer is the report's as long as
"holds" implies "the report is empty"; these tests hold it to that on thousands of
invoices broken one field at a time, and check that sound invoices do take the fast path
(otherwise it would be dead weight, not a bug the other tests would see).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_invoice_check import AT, CODE, sale  # pytest puts tests/engine on sys.path
from test_invoice_properties import synthetic_sales

from engine.invoice.build import Invoice, InvoiceLine, LineKind, RateTotals, Totals, build_invoice
from engine.invoice.check import check_invoice, full_report
from engine.invoice.check_fast import invoice_holds
from engine.invoice.tax import TaxFlags, tax_flags
from engine.model import Discount, Evaluation, Line, LineOutcome, PointsOutcome, Request, TaxRate

RATES = tuple(TaxRate.parse(t) for t in ("13%", "9%", "0%", "exempt", "non_taxable"))


def report_or_error(invoice: Invoice, request: Request, ev: Evaluation, max_lines: int = 2000) -> object:
    try:
        return full_report(invoice, request, ev, max_lines=max_lines)
    except Exception as exc:  # the report's own errors on malformed input must stay the same
        return (type(exc), str(exc))


def check_or_error(invoice: Invoice, request: Request, ev: Evaluation, max_lines: int = 2000) -> object:
    try:
        return check_invoice(invoice, request, ev, max_lines=max_lines)
    except Exception as exc:
        return (type(exc), str(exc))


def assert_agrees(invoice: Invoice, request: Request, ev: Evaluation, max_lines: int = 2000) -> None:
    """The fast path only says yes when the report is empty, and check_invoice is the report."""
    report = report_or_error(invoice, request, ev, max_lines)
    try:
        holds = invoice_holds(invoice, request, ev, max_lines)
    except Exception:
        holds = False
    if holds:
        assert report == [], report
    assert check_or_error(invoice, request, ev, max_lines) == report


# --------------------------------------------------------------------------- one thing broken at a time

_EQUAL_13 = TaxRate(Fraction(13, 100))
_LINE_VALUES: dict[str, tuple] = {
    "no": (0, -1, 99),
    "kind": (0, 1, 2, 3, *LineKind),
    "line_id": ("L0", "L1", "zz", ""),
    "name": ("x", "", "milk"),
    "tax_code": ("123", "", "1030201000000000000", "103020100000000000０", "a" * 19),
    "rate": (*RATES, TaxRate(Fraction(7, 100)), _EQUAL_13),
    "flags": (TaxFlags(), TaxFlags(zero_rate="1"), *(tax_flags(r) for r in RATES)),
    "spec": ("", "x"),
    "unit": ("", "kg"),
    "quantity": (None, 0, -1000, 1000, 1.0, True, 1),
    "unit_price_excl": (
        None,
        Decimal("0E-8"),
        Decimal("-1.00000000"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("3.095"),
        Decimal("3.095000001"),
        Decimal("1.00000000"),
    ),
    "amount": (0, 1, -1, 10**14, 6.19),
    "tax": (0, 1, -1),
    "gross": (0, 1, -1),
}


def line_variants(x: InvoiceLine) -> list[InvoiceLine]:
    """``x`` with each field in turn set to each other value, nudged by a fen, or given equal objects."""
    out = [
        dataclasses.replace(x, **{field: value})
        for field, values in _LINE_VALUES.items()
        for value in values
        if type(value) is not type(getattr(x, field)) or value != getattr(x, field)
    ]
    for field in ("amount", "tax", "gross", "quantity"):
        value = getattr(x, field)
        if type(value) is int:
            out += [dataclasses.replace(x, **{field: value + d}) for d in (-1, 1)]
            out.append(dataclasses.replace(x, **{field: float(value)}))  # equal, but not exact (INV-19)
    for d in (-1, 1):  # a fen moved between je and se, or added to je and H alike
        out.append(dataclasses.replace(x, amount=x.amount - d, tax=x.tax + d))
        out.append(dataclasses.replace(x, amount=x.amount + d, gross=x.gross + d))
        out.append(dataclasses.replace(x, tax=x.tax + d, gross=x.gross + d))
    if x.unit_price_excl is not None:
        nudge = Decimal("1E-8")
        out += [dataclasses.replace(x, unit_price_excl=x.unit_price_excl + d) for d in (nudge, -nudge)]
        out.append(dataclasses.replace(x, unit_price_excl=x.unit_price_excl.quantize(Decimal("1E-9"))))
    out.append(dataclasses.replace(x, rate=TaxRate(Fraction(x.rate.rate), x.rate.exemption)))
    out.append(dataclasses.replace(x, flags=TaxFlags(**dataclasses.asdict(x.flags))))
    return out


def retotalled(invoice: Invoice) -> Invoice:
    """``invoice`` with header and per-rate totals made the sums of its lines, so only the lines are wrong."""
    if not all(type(x.amount) is int and type(x.tax) is int for x in invoice.lines):
        return invoice
    groups: dict[int, list] = {}
    for x in invoice.lines:
        group = groups.setdefault(id(x.rate), [x.rate, 0, 0])
        group[1] += x.amount
        group[2] += x.tax
    je, se = sum(g[1] for g in groups.values()), sum(g[2] for g in groups.values())
    rows = tuple(RateTotals(rate, a, x, a + x) for rate, a, x in groups.values())
    return dataclasses.replace(invoice, totals=Totals(je, se, je + se), by_rate=rows)


def order_variants(invoice: Invoice, k: int) -> list[Invoice]:
    """Line ``k`` swapped with the next, dropped or repeated (renumbered), or the channel limit hit."""
    out = []
    for op in ("swap", "drop", "repeat"):
        lines = list(invoice.lines)
        if op == "swap" and k + 1 < len(lines):
            lines[k], lines[k + 1] = lines[k + 1], lines[k]
        elif op == "drop":
            del lines[k]
        else:
            lines.insert(k, lines[k])
        out.append(
            dataclasses.replace(
                invoice, lines=tuple(dataclasses.replace(x, no=i + 1) for i, x in enumerate(lines))
            )
        )
    return out


def totals_variants(invoice: Invoice) -> list[Invoice]:
    """Header totals a fen off, and each per-rate row dropped, repeated, re-keyed by an equal rate or off."""
    t = invoice.totals
    out = [
        dataclasses.replace(invoice, totals=Totals(t.amount + 1, t.tax, t.gross + 1)),
        dataclasses.replace(invoice, totals=Totals(t.amount, t.tax + 1, t.gross + 1)),
        dataclasses.replace(invoice, totals=Totals(t.amount, t.tax, t.gross + 1)),
    ]
    for k, r in enumerate(invoice.by_rate):
        rows = list(invoice.by_rate)
        equal = RateTotals(TaxRate(Fraction(r.rate.rate), r.rate.exemption), r.amount, r.tax, r.gross)
        for change in ("drop", "repeat", equal, RateTotals(r.rate, r.amount + 1, r.tax, r.gross + 1)):
            changed = list(rows)
            if change == "drop":
                del changed[k]
            elif change == "repeat":
                changed.append(r)
            else:
                changed[k] = change
            out.append(dataclasses.replace(invoice, by_rate=tuple(changed)))
    return out


def books_variants(ev: Evaluation, k: int) -> list[Evaluation]:
    """The evaluation's figures a fen off at line ``k``, an entry repeated, zero or moved to the next line."""
    o = ev.lines[k]
    lines_with = [
        o._replace(amount=o.amount + 1, net=o.net + 1),
        o._replace(net=o.net - 1),
        o._replace(discount=o.discount + 1, net=o.net - 1),
        o._replace(discounts=(*o.discounts, Discount("r0", "rule", 0))),
        o._replace(
            discounts=(*o.discounts, Discount("r0", "rule", -1)), discount=o.discount - 1, net=o.net + 1
        ),
        o._replace(line_id="zz"),
    ]
    for d in o.discounts:  # each entry twice, and each split in two entries of the same source
        lines_with.append(
            o._replace(discounts=(*o.discounts, d), discount=o.discount + d.fen, net=o.net - d.fen)
        )
        if d.fen > 1:
            split = tuple(
                x
                for e in o.discounts
                for x in ((e._replace(fen=1), e._replace(fen=e.fen - 1)) if e is d else (e,))
            )
            lines_with.append(o._replace(discounts=split))
    out = [ev._replace(lines=(*ev.lines[:k], changed, *ev.lines[k + 1 :])) for changed in lines_with]
    if len(ev.lines) > 1:  # a fen of a coupon or points share moved to the next line
        j = (k + 1) % len(ev.lines)
        for d in o.discounts:
            if d.kind in ("coupon", "points") and d.fen > 1:
                lines = list(ev.lines)
                lines[k] = o._replace(
                    discounts=tuple(e._replace(fen=e.fen - 1) if e is d else e for e in o.discounts),
                    discount=o.discount - 1,
                    net=o.net + 1,
                )
                other = lines[j]
                lines[j] = other._replace(
                    discounts=(*other.discounts, d._replace(fen=1)),
                    discount=other.discount + 1,
                    net=other.net - 1,
                )
                out.append(ev._replace(lines=tuple(lines)))
    out += [
        ev._replace(payable=ev.payable + 1),
        ev._replace(discount=ev.discount + 1),
        ev._replace(redemption=ev.redemption._replace(value=ev.redemption.value + 1)),
        ev._replace(coupons=tuple(c._replace(discount=c.discount + 1) for c in ev.coupons)),
        ev._replace(coupons=tuple(c._replace(accepted=not c.accepted) for c in ev.coupons)),
    ]
    return out


class TestFastPathIsSound:
    @settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(synthetic_sales(), st.data())
    def test_yes_only_when_the_report_is_empty(self, s, data):
        """Every way of breaking one line, the order, the totals or the books: the fast path defers."""
        request, ev = s.request, s.evaluation
        invoice = build_invoice(request, ev)
        if not invoice.lines:
            return
        k = data.draw(st.integers(0, len(invoice.lines) - 1), label="line")
        for x in line_variants(invoice.lines[k]):
            broken = dataclasses.replace(invoice, lines=(*invoice.lines[:k], x, *invoice.lines[k + 1 :]))
            assert_agrees(broken, request, ev)
            assert_agrees(retotalled(broken), request, ev)
        j = data.draw(st.integers(0, len(invoice.lines) - 1), label="other line")
        if j != k:  # errors that cancel out in the totals: only the lines themselves show them
            for fields in (("amount",), ("tax",), ("amount", "gross"), ("tax", "gross")):
                lines = list(invoice.lines)
                for at, d in ((k, 1), (j, -1)):
                    lines[at] = dataclasses.replace(
                        lines[at], **{f: getattr(lines[at], f) + d for f in fields}
                    )
                assert_agrees(retotalled(dataclasses.replace(invoice, lines=tuple(lines))), request, ev)
        for broken in order_variants(invoice, k):
            assert_agrees(broken, request, ev)
            assert_agrees(retotalled(broken), request, ev)
        for broken in totals_variants(invoice):
            assert_agrees(broken, request, ev)
        b = data.draw(st.integers(0, len(ev.lines) - 1), label="basket line")
        for books in books_variants(ev, b):
            assert_agrees(invoice, request, books)
        for max_lines in (len(invoice.lines) - 1, len(invoice.lines)):
            assert_agrees(invoice, request, ev, max_lines)

    @settings(max_examples=300, deadline=None)
    @given(synthetic_sales())
    def test_sound_invoices_take_the_fast_path(self, s):
        """A built invoice the report clears is cleared by the fast path too."""
        invoice = build_invoice(s.request, s.evaluation)
        if invoice.lines:
            assert invoice_holds(invoice, s.request, s.evaluation, 2000)
            assert full_report(invoice, s.request, s.evaluation) == []


class TestFastPathDefers:
    """Cases the fast path leaves to the report: sound or not, the report has the last word."""

    def test_worked_example_holds(self):
        request, ev = sale()
        assert invoice_holds(build_invoice(request, ev), request, ev, 2000)

    def test_equal_rates_held_by_two_objects_listed_twice(self):
        """Two lines at 13% held by different objects and two 13% rows: the report counts one rate."""
        request, ev = sale()
        twin = TaxRate(Fraction(13, 100))
        lines = (request.lines[0], dataclasses.replace(request.lines[1], tax=twin), request.lines[2])
        request = dataclasses.replace(request, lines=lines)
        invoice = build_invoice(request, ev)
        assert len(invoice.by_rate) == 2  # merged by value
        assert_agrees(invoice, request, ev)
        rows = [RateTotals(line.rate, line.amount, line.tax, line.gross) for line in invoice.lines[:4:2]]
        je = [
            invoice.lines[0].amount + invoice.lines[1].amount,
            invoice.lines[2].amount + invoice.lines[3].amount,
        ]
        se = [invoice.lines[0].tax + invoice.lines[1].tax, invoice.lines[2].tax + invoice.lines[3].tax]
        rows = [RateTotals(r.rate, a, x, a + x) for r, a, x in zip(rows, je, se, strict=True)]
        split = dataclasses.replace(invoice, by_rate=(*rows, invoice.by_rate[1]))
        assert not invoice_holds(split, request, ev, 2000)
        assert any(v.startswith("INV-20 totals per rate") for v in check_invoice(split, request, ev))

    def test_duplicate_basket_ids(self):
        """Two basket lines with one id: the report looks lines up by id, so the fast path defers."""
        request, ev = sale()
        request = dataclasses.replace(
            request, lines=(request.lines[0], dataclasses.replace(request.lines[1], id="a"), request.lines[2])
        )
        ev = ev._replace(lines=(ev.lines[0], ev.lines[1]._replace(line_id="a"), ev.lines[2]))
        invoice = build_invoice(request, ev)  # sound line by line, but "a" names two basket lines
        assert not invoice_holds(invoice, request, ev, 2000)
        assert check_invoice(invoice, request, ev) != []
        assert_agrees(invoice, request, ev)

    def test_zero_amount_line(self):
        """A 0.00 goods line with a tiny price keeps INV-16 but breaks INV-09."""
        request, ev = sale()
        request = dataclasses.replace(
            request, lines=(*request.lines, Line("z", "赠品", 0, 1000, TaxRate.parse("13%"), tax_code=CODE))
        )
        ev = ev._replace(lines=(*ev.lines, LineOutcome("z", 0, (), 0, 0, 0, True)))
        invoice = build_invoice(request, ev)
        assert any(v.startswith("INV-09") for v in check_invoice(invoice, request, ev))
        tiny = dataclasses.replace(invoice.lines[-1], unit_price_excl=Decimal("0.00000001"))
        bad = dataclasses.replace(invoice, lines=(*invoice.lines[:-1], tiny))
        assert not invoice_holds(bad, request, ev, 2000)
        assert_agrees(bad, request, ev)

    def test_amount_beyond_twelve_digits(self):
        """A line of 10^12 yuan breaks INV-14, whatever else holds."""
        rate = TaxRate.parse("13%")
        request = Request(lines=(Line("a", "金条", 2 * 10**14, 1000, rate, tax_code=CODE),), at=AT)
        ev = Evaluation(
            "t", "v", (LineOutcome("a", 2 * 10**14, (), 0, 2 * 10**14, 0, True),), 2 * 10**14, 0, 2 * 10**14,
            PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)),
        )  # fmt: skip
        invoice = build_invoice(request, ev)
        assert not invoice_holds(invoice, request, ev, 2000)
        assert any(v.startswith("INV-14") for v in check_invoice(invoice, request, ev))

    def test_bad_tax_code_on_both_sides(self):
        """A code that is not 19 digits is INV-05 even when the basket line carries the same one."""
        request, ev = sale()
        invoice = build_invoice(request, ev)
        request = dataclasses.replace(
            request, lines=(dataclasses.replace(request.lines[0], tax_code="123"), *request.lines[1:])
        )
        lines = [dataclasses.replace(x, tax_code="123") if x.line_id == "a" else x for x in invoice.lines]
        bad = dataclasses.replace(invoice, lines=tuple(lines))
        assert not invoice_holds(bad, request, ev, 2000)
        assert any("tax code '123'" in v for v in check_invoice(bad, request, ev))

    def test_coupon_twice_on_one_line(self):
        """A share split in two entries: the sums hold, but the report keeps one share per coupon and line."""
        request, ev = sale()
        o = ev.lines[0]
        coupon = o.discounts[0]
        split = (coupon._replace(fen=50), coupon._replace(fen=coupon.fen - 50), *o.discounts[1:])
        bad = ev._replace(lines=(o._replace(discounts=split), *ev.lines[1:]))
        invoice = build_invoice(request, bad)
        assert not invoice_holds(invoice, request, bad, 2000)
        assert any(v.startswith("INV-24 coupon:C10") for v in check_invoice(invoice, request, bad))
        assert_agrees(invoice, request, bad)

    def test_equal_flags_object(self):
        """Flags equal to the rate's but not the same object are sound, and the fast path says so."""
        request, ev = sale()
        invoice = build_invoice(request, ev)
        lines = [dataclasses.replace(x, flags=TaxFlags(**dataclasses.asdict(x.flags))) for x in invoice.lines]
        copied = dataclasses.replace(invoice, lines=tuple(lines))
        assert invoice_holds(copied, request, ev, 2000)
        assert check_invoice(copied, request, ev) == []

    def test_refused_invoice_goes_to_the_report(self):
        request, ev = sale()
        refused = Invoice("t", "v", (), Totals(), (), "no invoice")
        assert not invoice_holds(refused, request, ev, 2000)
        assert any(v.startswith("INV-22") for v in check_invoice(refused, request, ev))

    def test_signalling_nan_price_raises_as_the_report_does(self):
        """A price the report cannot compare raises the same error through check_invoice."""
        request, ev = sale()
        invoice = build_invoice(request, ev)
        lines = list(invoice.lines)
        lines[0] = dataclasses.replace(lines[0], unit_price_excl=Decimal("sNaN"))
        bad = dataclasses.replace(invoice, lines=tuple(lines))
        assert_agrees(bad, request, ev)
