"""§11 invariants on thousands of generated sales: every invoice is checked twice.

Once by :func:`engine.invoice.check.check_invoice` (the code the service runs) and once
by the independent assertions below, which recompute every figure with ``Decimal``
half-up arithmetic instead of the engine's integer division. Sales come from a small
local generator that knows each promotion's eligible lines (so largest remainder,
INV-26, is checked exactly), from a fixed ruleset run by the engine, and from the
random rulesets of tests/engine/strategies.py.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.invoice.build import Invoice, build_invoice
from engine.invoice.check import check_invoice
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
from engine.rules import (
    Aggregate,
    AmountOff,
    BasketOff,
    Compare,
    Const,
    Coupon,
    Field,
    In,
    MemberPrice,
    PercentOff,
    Rule,
    Ruleset,
    Settings,
    Tier,
)


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


compiled = _optional("engine.compiled")
interpret = _optional("engine.reference.interpreter")
strategies = _optional("strategies")  # tests/engine is on sys.path under pytest

AT = datetime(2026, 11, 15, 10, 0, tzinfo=timezone(timedelta(hours=8)))
CODES = ("1030307000000000000", "1030201000000000000", "1010112000000000000")
RATES = tuple(
    TaxRate.parse(t) for t in ("13%", "9%", "6%", "5%", "3%", "1.5%", "1%", "0%", "exempt", "non_taxable")
)
ZERO_RATE_FLAG = {"": "", "zero_rated": "3", "exempt": "1", "non_taxable": "2"}
CENT = Decimal(1)
PROPS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# --------------------------------------------------------------------------- independent assertions


def dec_rate(rate: TaxRate) -> Decimal:
    return Decimal(rate.rate.numerator) / Decimal(rate.rate.denominator)


def round2(value: Decimal) -> int:
    """Fen, half away from zero, from a Decimal number of fen."""
    return int(value.quantize(CENT, ROUND_HALF_UP))


def describe(invoice: Invoice, request: Request) -> None:
    """Tell hypothesis's statistics which shapes came up, so a blind generator shows."""
    kinds = [int(x.kind) for x in invoice.lines]
    event("refused" if invoice.refused else f"{len(request.lines)} line(s)")
    if any(x.kind == 1 and x.gross == -invoice.lines[i - 1].gross for i, x in enumerate(invoice.lines)):
        event("100% discounted line")
    if 2 in kinds and 0 in kinds:
        event("normal and discounted lines mixed")
    if len({x.rate for x in invoice.lines}) >= 3:
        event("three or more rates")
    if any(line.quantity % 1000 for line in request.lines):
        event("weighed goods")


def assert_invoice_invariants(invoice: Invoice, request: Request, ev: Evaluation) -> None:
    """INV-01..INV-23 recomputed without the engine's helpers."""
    describe(invoice, request)
    assert ev.payable == sum(o.amount - o.discount for o in ev.lines)  # INV-22, INV-23
    if ev.payable == 0:
        assert not invoice.issued and invoice.lines == () and invoice.refused  # INV-13
        return
    assert invoice.issued and not invoice.refused
    lines = invoice.lines
    kinds = "".join(str(int(x.kind)) for x in lines)
    assert re.fullmatch(r"(0|21)+", kinds), kinds  # INV-01..INV-04
    assert [x.no for x in lines] == list(range(1, len(lines) + 1))
    goods = [(i, x) for i, x in enumerate(lines) if x.kind != 1]
    assert [x.line_id for _, x in goods] == [line.id for line in request.lines]  # INV-07, INV-08
    for (i, g), item, out in zip(goods, request.lines, ev.lines, strict=True):
        assert (g.name, g.tax_code, g.rate, g.spec, g.unit) == (
            item.name,
            item.tax_code,
            item.tax,
            item.spec,
            item.unit,
        )
        assert (
            g.flags.zero_rate
            == ZERO_RATE_FLAG[item.tax.exemption or ("zero_rated" if item.tax.rate == 0 else "")]
        )
        assert g.gross == out.amount  # INV-23
        assert (g.kind == 0) == (out.discount == 0)  # INV-12
        assert g.amount > 0 and g.tax >= 0  # INV-09
        assert g.quantity == item.quantity and g.quantity > 0  # INV-15
        price = g.unit_price_excl
        want = (Decimal(g.amount) / 100 / (Decimal(g.quantity) / 1000)).quantize(
            Decimal("1e-8"), ROUND_HALF_UP
        )
        assert price == want and price.as_tuple().exponent == -8 and price > 0
        assert abs(round2(price * g.quantity / 10) - g.amount) <= 1  # INV-16
        if g.kind == 2:
            d = lines[i + 1]
            assert (d.line_id, d.name, d.tax_code, d.rate, d.flags) == (
                g.line_id,
                g.name,
                g.tax_code,
                g.rate,
                g.flags,
            )
            assert (d.spec, d.unit, d.quantity, d.unit_price_excl) == ("", "", None, None)  # INV-06
            assert d.gross == -out.discount  # INV-23
            assert d.amount < 0 and d.tax <= 0  # INV-10
            assert -d.amount <= g.amount and -d.tax <= g.tax and -d.gross <= g.gross  # INV-11
            if d.gross == -g.gross:
                assert (d.amount, d.tax) == (-g.amount, -g.tax)  # INV-13
    for x in lines:
        r = dec_rate(x.rate)
        assert x.gross == x.amount + x.tax
        assert x.tax == round2(Decimal(x.gross) * r / (1 + r))  # INV-17 (a)
        assert x.amount == round2(Decimal(x.gross) / (1 + r))  # INV-17 (b), §6: the same
        assert abs(round2(Decimal(x.amount) * r) - x.tax) <= 1  # INV-18
        assert abs(x.amount) < 10**14 and type(x.amount) is int and type(x.tax) is int  # INV-14, INV-19
    je, se = sum(x.amount for x in lines), sum(x.tax for x in lines)
    assert (invoice.hjje, invoice.hjse, invoice.jshj) == (je, se, je + se)  # INV-20
    assert invoice.jshj == ev.payable > 0  # INV-22, INV-13
    drift = abs(Decimal(se) - sum(Decimal(x.amount) * dec_rate(x.rate) for x in lines))
    assert drift <= min(127, len(lines))  # INV-21
    per_rate: dict[TaxRate, list[int]] = {}
    for x in lines:
        acc = per_rate.setdefault(x.rate, [0, 0])
        acc[0] += x.amount
        acc[1] += x.tax
    assert {t.rate: [t.amount, t.tax] for t in invoice.by_rate} == per_rate
    assert all(t.gross == t.amount + t.tax for t in invoice.by_rate)
    assert build_invoice(request, ev) == invoice  # INV-08: same input, same lines


# --------------------------------------------------------------------------- apportionment (INV-24..26)


@dataclass(frozen=True)
class Promo:
    """A basket-level promotion as it ran: its source, the lines it could reach and what it took."""

    source: str
    eligible: frozenset[str]
    value: int


def largest_remainder(total: int, bases: dict[str, int], order: list[str]) -> dict[str, int]:
    """The reference split (Fractions): floors, then +1 to the largest remainders (ties: base, then line)."""
    whole = sum(bases.values())
    exact = {k: Fraction(total * b, whole) for k, b in bases.items()}
    shares = {k: x.numerator // x.denominator for k, x in exact.items()}
    rank = sorted(bases, key=lambda k: (-(exact[k] - shares[k]), -bases[k], order.index(k)))
    for k in rank[: total - sum(shares.values())]:
        shares[k] += 1
    return shares


def assert_apportioned(request: Request, ev: Evaluation, promos: list[Promo]) -> None:
    """Each promotion's shares sum to its value, stay on eligible lines and follow largest remainder."""
    order = [line.id for line in request.lines]
    sequence = [p.source for p in promos]
    for position, promo in enumerate(promos):
        bases: dict[str, int] = {}
        shares: dict[str, int] = {}
        for out in ev.lines:
            before = set(sequence[:position])
            left = out.amount - sum(
                d.fen for d in out.discounts if d.kind == "rule" and d.source not in sequence
            )
            left -= sum(d.fen for d in out.discounts if d.source in before)
            share = sum(d.fen for d in out.discounts if d.source == promo.source)
            assert share >= 0  # INV-25
            if share:
                assert out.line_id in promo.eligible, (promo.source, out.line_id)  # INV-25
                shares[out.line_id] = share
            if out.line_id in promo.eligible and left > 0:
                bases[out.line_id] = left
        assert sum(shares.values()) == promo.value  # INV-24
        if promo.value:
            expected = largest_remainder(promo.value, bases, order)
            assert {k: v for k, v in expected.items() if v} == shares, promo.source  # INV-26
            assert all(shares[k] <= bases[k] for k in shares)  # INV-25 cap
    for out in ev.lines:
        assert 0 <= out.discount <= out.amount  # INV-25


# --------------------------------------------------------------------------- local generator


@dataclass(frozen=True)
class Sale:
    request: Request
    evaluation: Evaluation
    promos: list[Promo]


def _split(
    total: int, remaining: dict[str, int], eligible: frozenset[str], order: list[str]
) -> dict[str, int]:
    bases = {k: remaining[k] for k in order if k in eligible and remaining[k] > 0}
    return largest_remainder(total, bases, order) if total else {}


@st.composite
def synthetic_sales(draw: st.DrawFn) -> Sale:
    """A priced basket built without the engine: stacked item rules, 满减, two coupons and points.

    Mixed rates (0%, 免税 and 不征税 included), weighed goods, 100%-off lines and
    one-line baskets all come up; every share is apportioned by largest remainder.
    """
    n = draw(st.integers(1, 7))
    lines = []
    for k in range(n):
        price = draw(
            st.one_of(st.integers(500, 60000), st.integers(1, 60000), st.sampled_from((1, 350, 5990)))
        )
        qty = draw(
            st.one_of(st.sampled_from((1000, 2000, 3000)), st.integers(1, 9999))
        )  # weighed: thousandths
        if price * qty < 500:  # would round to 0.00, which the till may not send
            qty = 1000
        lines.append(
            Line(
                id=f"L{k}",
                name=draw(st.sampled_from(("可口可乐330ml", "大豆油5L", "西红柿", "milk", "洗发水"))),
                unit_price=price,
                quantity=qty,
                tax=draw(st.sampled_from(RATES)),
                category=draw(st.sampled_from("ABC")),
                tax_code=draw(st.sampled_from(CODES)),
                unit=draw(st.sampled_from(("", "kg", "瓶"))),
                spec=draw(st.sampled_from(("", "330ml"))),
            )
        )
    order = [line.id for line in lines]
    amounts = {line.id: (line.unit_price * line.quantity * 2 + 1000) // 2000 for line in lines}
    remaining = dict(amounts)
    taken: dict[str, list[Discount]] = {k: [] for k in order}

    def take(line_id: str, source: str, kind: str, fen: int) -> None:
        if fen > 0:
            remaining[line_id] -= fen
            taken[line_id].append(Discount(source, kind, fen))  # type: ignore[arg-type]

    # item rules stacking on what is left of each line
    for line in lines:
        for j in range(draw(st.integers(0, 3))):
            left = remaining[line.id]
            effect = draw(st.sampled_from(("percent", "percent", "percent", "each", "price", "price", "all")))
            if effect == "percent":
                fen = (left * draw(st.integers(1, 99)) * 2 + 100) // 200
            elif effect == "each":
                fen = (draw(st.integers(1, 500)) * line.quantity * 2 + 1000) // 2000
            elif effect == "price":
                fen = left - (draw(st.integers(0, line.unit_price)) * line.quantity * 2 + 1000) // 2000
            else:
                fen = left
            take(line.id, f"item{j}", "rule", max(0, min(fen, left)))
    promos: list[Promo] = []

    def basket_level(source: str, kind: str, asked: int, eligible: frozenset[str]) -> int:
        total = sum(remaining[k] for k in eligible if remaining[k] > 0)
        value = min(asked, total)
        for line_id, share in _split(value, remaining, eligible, order).items():
            take(line_id, source, kind, share)
        promos.append(Promo(source, eligible, value))
        return value

    def eligible_set() -> frozenset[str]:
        cats = draw(st.sets(st.sampled_from("ABC"), min_size=1))
        return frozenset(line.id for line in lines if line.category in cats)

    for j in range(draw(st.integers(0, 2))):  # 满减 across rates
        basket_level(f"mj{j}", "rule", draw(st.integers(1, 5000)), eligible_set())
    coupons = []
    for j in range(draw(st.integers(0, 2))):
        value = basket_level(f"coupon:K{j}", "coupon", draw(st.integers(1, 3000)), eligible_set())
        coupons.append(CouponOutcome(f"K{j}", True, "accepted", value) if value else None)
    cap = sum(remaining.values()) // 2  # points pay at most half, as a ruleset's cap would
    points = basket_level("points", "points", min(draw(st.integers(0, 3000)), cap), frozenset(order))
    if not points:
        promos.pop()
    outcomes = []
    for line in lines:
        fen = sum(d.fen for d in taken[line.id])
        outcomes.append(
            LineOutcome(
                line.id, amounts[line.id], tuple(taken[line.id]), fen, amounts[line.id] - fen, 0, True
            )
        )
    subtotal, discount = sum(amounts.values()), sum(o.discount for o in outcomes)
    coupon_outcomes = tuple(
        c if c else CouponOutcome(f"K{j}", False, "no_eligible_amount") for j, c in enumerate(coupons)
    )
    ev = Evaluation(
        "synthetic",
        "000000000000",
        tuple(outcomes),
        subtotal,
        discount,
        subtotal - discount,
        PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)),
        coupon_outcomes,
        Redemption(points, points),
    )
    request = Request(lines=tuple(lines), at=AT, member=Member("normal"), redeem_points=points)
    return Sale(request, ev, promos)


class TestSyntheticSales:
    @settings(PROPS, max_examples=800)
    @given(synthetic_sales())
    def test_every_invoice_holds_the_invariants(self, sale):
        """On any generated sale the checker finds nothing and the independent assertions hold."""
        invoice = build_invoice(sale.request, sale.evaluation)
        assert check_invoice(invoice, sale.request, sale.evaluation) == []
        assert_invoice_invariants(invoice, sale.request, sale.evaluation)
        assert_apportioned(sale.request, sale.evaluation, sale.promos)

    @settings(max_examples=150, deadline=None)
    @given(synthetic_sales(), st.data())
    def test_checker_notices_a_fen_moved_between_amount_and_tax(self, sale, data):
        """Moving one fen from je to se on any line of any issued invoice is reported at that line."""
        invoice = build_invoice(sale.request, sale.evaluation)
        if not invoice.lines:
            return
        k = data.draw(st.integers(0, len(invoice.lines) - 1))
        lines = list(invoice.lines)
        lines[k] = dataclasses.replace(lines[k], amount=lines[k].amount - 1, tax=lines[k].tax + 1)
        violations = check_invoice(
            dataclasses.replace(invoice, lines=tuple(lines)), sale.request, sale.evaluation
        )
        assert any(v.startswith(f"INV-17 line {k + 1} ") for v in violations), violations


# --------------------------------------------------------------------------- through the engine


def _evaluator():
    if compiled is not None and hasattr(compiled, "compile_ruleset"):
        return lambda ruleset: compiled.compile_ruleset(ruleset).evaluate
    if interpret is not None and hasattr(interpret, "interpret"):
        return lambda ruleset: lambda request: interpret.interpret(ruleset, request)
    return None


EVALUATOR = _evaluator()
needs_engine = pytest.mark.skipif(
    EVALUATOR is None, reason="neither engine.compiled nor engine.reference.interpreter exists"
)


def _category(*names: str):
    return In(Field("item.category"), tuple(Const(c, "text") for c in names))


SHOP = Ruleset(
    name="invoice-shop",
    settings=Settings(redeem_points_per_yuan=100, redeem_cap=Fraction(1, 2)),
    tiers=(Tier("normal", "普通会员", Fraction(1), 0), Tier("gold", "金卡", Fraction(3, 2), 1)),
    rules=(
        Rule("a_10", "A类 9折", PercentOff(Fraction(1, 10)), _category("A"), order=0),
        Rule("a_each", "A类 每件减0.50", AmountOff(50), _category("A"), order=1),
        Rule("b_price", "B类 会员价 5.00", MemberPrice(500), _category("B"), order=2),
        Rule("free", "赠品 全免", PercentOff(Fraction(1)), _category("F"), order=3),
        Rule(
            "mj",
            "AB类 满100减20",
            BasketOff(2000, over=_category("A", "B")),
            Compare(">=", Aggregate("subtotal", _category("A", "B")), Const(10000, "money")),
            order=4,
        ),
    ),
    coupons=(
        Coupon(
            "C1",
            "10元券",
            1000,
            applies_to=Compare("!=", Field("item.category"), Const("C", "text")),
            order=0,
        ),
        Coupon("C2", "B类 3元券", 300, applies_to=_category("B"), order=1),
    ),
    source_text="# invoice-shop, built in tests\n",
)
SHOP_ELIGIBLE = {"mj": "AB", "coupon:C1": "ABF", "coupon:C2": "B", "points": "ABCF"}


@st.composite
def shop_requests(draw: st.DrawFn) -> Request:
    """Baskets for SHOP: every rule stacks, the 满减 and both coupons cross rates, points are redeemed."""
    n = draw(st.integers(1, 6))
    lines = tuple(
        Line(
            id=f"L{k}",
            name=draw(st.sampled_from(("苹果", "大豆油5L", "赠品"))),
            unit_price=draw(st.one_of(st.integers(800, 30000), st.integers(1, 30000))),
            quantity=draw(st.one_of(st.sampled_from((1000, 2000)), st.integers(1000, 3500))),
            tax=draw(st.sampled_from(RATES)),
            category=draw(st.sampled_from("AABBCCF")),
            tax_code=draw(st.sampled_from(CODES)),
        )
        for k in range(n)
    )
    coupons = draw(st.sampled_from(((), ("C2", "C1"), ("C1",), ("C2",))))
    return Request(
        lines=lines,
        at=AT,
        member=Member("gold"),
        coupons=coupons,
        redeem_points=draw(st.sampled_from((0, 200)) | st.integers(0, 5000)),
    )


@needs_engine
class TestEngineSales:
    @settings(PROPS, max_examples=600)
    @given(shop_requests())
    def test_fixed_ruleset_invoices_hold_the_invariants(self, request):
        """SHOP's evaluations by the engine give invoices that pass the checker and the independent checks."""
        ev = EVALUATOR(SHOP)(request)
        invoice = build_invoice(request, ev)
        assert check_invoice(invoice, request, ev) == []
        assert_invoice_invariants(invoice, request, ev)
        by_id = {line.id: line.category for line in request.lines}
        promos = [
            Promo(source, frozenset(k for k, c in by_id.items() if c in cats), 0)
            for source, cats in SHOP_ELIGIBLE.items()
        ]
        promos = [
            dataclasses.replace(
                p, value=sum(d.fen for o in ev.lines for d in o.discounts if d.source == p.source)
            )
            for p in promos
        ]
        assert_apportioned(request, ev, promos)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(PROPS.suppress_health_check))
    @given(st.data(), st.booleans())
    def test_random_rulesets_give_sound_invoices(self, data, unit_rules):
        """Any generated ruleset and basket, with random rates and codes, gives an invoice that passes;
        half the cases add unit rules over whole units (free units and gifts 100% off)."""
        if strategies is None:
            pytest.skip("tests/engine/strategies.py is not there")
        ruleset, request = data.draw(strategies.unit_cases() if unit_rules else strategies.cases())
        lines = tuple(
            dataclasses.replace(
                line, tax=data.draw(st.sampled_from(RATES)), tax_code=data.draw(st.sampled_from(CODES))
            )
            for line in request.lines
        )
        request = dataclasses.replace(request, lines=lines)
        ev = EVALUATOR(ruleset)(request)
        invoice = build_invoice(request, ev)
        assert check_invoice(invoice, request, ev) == []
        assert_invoice_invariants(invoice, request, ev)
