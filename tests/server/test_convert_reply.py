"""engine.model.Evaluation (+ engine.invoice.build.Invoice) -> promo.v1 EvaluateReply, every field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from engine.invoice.build import build_invoice
from engine.model import (
    Bonus,
    CouponOutcome,
    Discount,
    Evaluation,
    Line,
    LineOutcome,
    Multiplier,
    PointsOutcome,
    Redemption,
    Request,
    TaxRate,
)
from server._pb.promo.v1 import promo_pb2 as pb
from server.wire.reply import evaluation_to_proto, fraction_text

DIGEST = "ab" * 32

# VAT-DISCOUNT-LINES.md §12: coke 2 x 3.50 @13%, soybean oil 59.90 @9%, tomatoes 1.25 kg x 6.40 免税;
# a 10.00 coupon and 200 points (2.00) apportioned 1.12 / 9.60 / 1.28.
REQUEST = Request(
    lines=(
        Line(
            "A", "可口可乐330ml", 350, 2000, TaxRate.parse("13%"), tax_code="1030307020000000000", unit="瓶"
        ),
        Line("B", "大豆油5L", 5990, 1000, TaxRate.parse("9%"), tax_code="1030103010000000000", spec="5L"),
        Line("C", "西红柿", 640, 1250, TaxRate.parse("exempt"), tax_code="1010112010000000000", unit="kg"),
    ),
    at=datetime(2026, 11, 15, 10, 0, tzinfo=timezone(timedelta(hours=8))),
)


def _outcome(line_id: str, amount: int, coupon: int, points: int, share: int) -> LineOutcome:
    discounts = (Discount("coupon:C10", "coupon", coupon), Discount("points", "points", points))
    return LineOutcome(line_id, amount, discounts, coupon + points, amount - coupon - points, share, True)


EVALUATION = Evaluation(
    ruleset="ruyi-health",
    version=DIGEST[:12],
    lines=(
        _outcome("A", 700, 93, 19, 16),
        _outcome("B", 5990, 800, 160, 151),
        _outcome("C", 800, 107, 21, 31),
    ),
    subtotal=7490,
    discount=1200,
    payable=6290,
    points=PointsOutcome(
        earned=198,
        base=188,
        eligible_fen=6290,
        tier_rate=Fraction(3, 2),
        factor=Fraction(2),
        multipliers=(Multiplier("member_day", Fraction(2)),),
        bonuses=(Bonus("welcome", 10),),
    ),
    coupons=(CouponOutcome("C10", True, "accepted", 1000), CouponOutcome("C99", False, "unknown", 0)),
    redemption=Redemption(200, 200),
)


@pytest.fixture
def reply() -> pb.EvaluateReply:
    return evaluation_to_proto(
        EVALUATION, build_invoice(REQUEST, EVALUATION), digest=DIGEST, transaction_id="T-9", explain=True
    )


class TestEvaluationToProto:
    def test_ruleset_version_and_transaction_are_named(self, reply: pb.EvaluateReply) -> None:
        """The reply names the ruleset, its short version, its digest and echoes the transaction id."""
        assert reply.ruleset == pb.RulesetVersion(name="ruyi-health", version="abababababab", digest=DIGEST)
        assert reply.transaction_id == "T-9"

    def test_totals_are_fen(self, reply: pb.EvaluateReply) -> None:
        """Subtotal, discount and payable are carried in fen."""
        assert (reply.subtotal_fen, reply.discount_fen, reply.payable_fen) == (7490, 1200, 6290)

    def test_every_line_field_is_carried(self, reply: pb.EvaluateReply) -> None:
        """Each line result keeps id, amount, discounts in order, total, net, points and earns_points."""
        first = reply.lines[0]
        assert first.line_id == "A"
        assert first.amount_fen == 700
        assert [(d.source, d.kind, d.fen) for d in first.discounts] == [
            ("coupon:C10", "coupon", 93),
            ("points", "points", 19),
        ]
        assert (first.discount_fen, first.net_fen, first.points, first.earns_points) == (112, 588, 16, True)
        assert [line.line_id for line in reply.lines] == ["A", "B", "C"]

    def test_points_explanation_is_exact(self, reply: pb.EvaluateReply) -> None:
        """Rates and factors travel as exact fractions, never as floats."""
        p = reply.points
        assert (p.earned, p.base, p.eligible_fen) == (198, 188, 6290)
        assert (p.tier_rate, p.factor) == ("3/2", "2")
        assert [(m.rule, m.factor) for m in p.multipliers] == [("member_day", "2")]
        assert [(b.rule, b.points) for b in p.bonuses] == [("welcome", 10)]

    def test_coupons_and_redemption_are_carried(self, reply: pb.EvaluateReply) -> None:
        """Each coupon answer keeps its code, verdict, reason and fen; redemption keeps points and value."""
        assert [(c.code, c.accepted, c.reason, c.discount_fen) for c in reply.coupons] == [
            ("C10", True, "accepted", 1000),
            ("C99", False, "unknown", 0),
        ]
        assert (reply.redemption.points, reply.redemption.value_fen) == (200, 200)

    def test_without_explain_the_explanation_is_left_out(self) -> None:
        """explain=False keeps totals and per-line figures, drops discount lists and the points breakdown."""
        short = evaluation_to_proto(EVALUATION, explain=False)
        assert all(not line.discounts for line in short.lines)
        assert [line.discount_fen for line in short.lines] == [112, 960, 128]
        assert short.points == pb.PointsResult(earned=198)
        assert not short.HasField("invoice")

    def test_whole_rates_print_without_a_denominator(self) -> None:
        """A factor of exactly 1 and a tier rate of 0 print as "1" and "0", not "1/1"."""
        guest = evaluation_to_proto(
            Evaluation("r", "v", (), 0, 0, 0, PointsOutcome(0, 0, 0, Fraction(0), Fraction(1)))
        )
        assert (guest.points.tier_rate, guest.points.factor) == ("0", "1")

    @pytest.mark.parametrize(
        ("value", "text"),
        [(Fraction(3, 2), "3/2"), (Fraction(6, 4), "3/2"), (Fraction(1, 3), "1/3"), (Fraction(5), "5")],
    )
    def test_fraction_text_is_lowest_terms(self, value: Fraction, text: str) -> None:
        """A rate prints in lowest terms and parses back to the same Fraction."""
        assert fraction_text(value) == text
        assert Fraction(text) == value


class TestInvoiceToProto:
    def test_the_worked_example_lines(self, reply: pb.EvaluateReply) -> None:
        """The §12 fixture: goods and discount lines alternate with the exact amount/tax split."""
        rows = [
            (ln.no, ln.kind, ln.line_id, ln.tax_rate, ln.amount_fen, ln.tax_fen, ln.gross_fen)
            for ln in reply.invoice.lines
        ]
        assert rows == [
            (1, 2, "A", "13%", 619, 81, 700),
            (2, 1, "A", "13%", -99, -13, -112),
            (3, 2, "B", "9%", 5495, 495, 5990),
            (4, 1, "B", "9%", -881, -79, -960),
            (5, 2, "C", "exempt", 800, 0, 800),
            (6, 1, "C", "exempt", -128, 0, -128),
        ]

    def test_goods_lines_carry_quantity_price_unit_and_spec(self, reply: pb.EvaluateReply) -> None:
        """A goods line has its quantity, an 8-decimal unit price, unit and spec; names and codes repeat."""
        coke, coke_discount, oil = reply.invoice.lines[0], reply.invoice.lines[1], reply.invoice.lines[2]
        assert coke.HasField("quantity_milli") and coke.quantity_milli == 2000
        assert coke.unit_price_excl == "3.09500000"
        assert (coke.name, coke.tax_code, coke.unit) == ("可口可乐330ml", "1030307020000000000", "瓶")
        assert oil.spec == "5L" and oil.unit_price_excl == "54.95000000"
        assert (coke_discount.name, coke_discount.tax_code) == (coke.name, coke.tax_code)

    def test_discount_lines_have_no_quantity_price_unit_or_spec(self, reply: pb.EvaluateReply) -> None:
        """INV-06: a discount line leaves quantity (unset), unit price, unit and spec empty."""
        for line in reply.invoice.lines:
            if line.kind == 1:
                assert not line.HasField("quantity_milli")
                assert (line.unit_price_excl, line.unit, line.spec) == ("", "", "")

    def test_flags_are_repeated_on_the_discount_line(self, reply: pb.EvaluateReply) -> None:
        """The 免税 flags appear on the goods line and again on its discount line; 13% has none."""
        exempt = pb.TaxFlags(zero_rate="1", preferential="1", special="免税", yhzcbs="03")
        assert reply.invoice.lines[4].flags == exempt
        assert reply.invoice.lines[5].flags == exempt
        assert reply.invoice.lines[0].flags == pb.TaxFlags(preferential="0")

    def test_totals_and_rate_totals(self, reply: pb.EvaluateReply) -> None:
        """HJJE 58.06, HJSE 4.84, JSHJ 62.90 = payable, and one total per rate, highest first."""
        assert reply.invoice.totals == pb.InvoiceTotals(amount_fen=5806, tax_fen=484, gross_fen=6290)
        assert [(t.tax_rate, t.amount_fen, t.tax_fen, t.gross_fen) for t in reply.invoice.rate_totals] == [
            ("13%", 520, 68, 588),
            ("9%", 4614, 416, 5030),
            ("exempt", 672, 0, 672),
        ]
        assert reply.invoice.refused_reason == ""

    def test_a_refused_invoice_has_a_reason_and_no_lines(self) -> None:
        """A basket that nets to zero gets no invoice lines and a refused_reason."""
        free = Evaluation(
            "r",
            "v",
            (LineOutcome("A", 700, (Discount("r1", "rule", 700),), 700, 0, 0, True),),
            700,
            700,
            0,
            PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)),
        )
        request = Request(lines=REQUEST.lines[:1], at=REQUEST.at)
        msg = evaluation_to_proto(free, build_invoice(request, free))
        assert msg.HasField("invoice")
        assert not msg.invoice.lines
        assert "0.00" in msg.invoice.refused_reason
