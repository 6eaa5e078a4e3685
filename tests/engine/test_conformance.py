"""The compiled engine must give exactly the reference interpreter's answer on random baskets.

``engine.reference.interpreter`` is slow and plainly written from PRODUCT.md; ``engine.compiled``
is fast. Hypothesis generates valid rulesets and requests (tests/engine/strategies.py)
and every field of the two evaluations must agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from strategies import cases, rulesets, unit_cases  # pytest puts tests/engine on sys.path, as for tests/dsl

import dsl
import engine.compile.compiler as compiler
import engine.compiled as compiled
from engine.check import ruleset as check
from engine.check.run_examples import example_request
from engine.model import Evaluation, Line, Request, TaxRate
from engine.reference.interpreter import interpret
from engine.rules import Aggregate, Compare, Const, Field, Or, PercentOff, Rule, Ruleset, Settings

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"

FAST = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def _line(lid: str, price: int, category: str) -> Line:
    return Line(lid, lid, price, 1000, TaxRate(Fraction(13, 100)), category=category)


# An item rule whose condition reads a measure next to an item field: for every line the
# measure must see the state just before the rule (20000 >= 16000 for both lines), not the
# state after the first line was discounted (15000 for the second line).
MEASURE_PER_LINE = (
    Ruleset(
        name="edge",
        settings=Settings(),
        rules=(
            Rule(
                "half",
                "half",
                PercentOff(Fraction(1, 2)),
                condition=Or(
                    (
                        Compare("=", Field("item.category"), Const("A", "text")),
                        Compare(">=", Aggregate("subtotal"), Const(16000, "money")),
                    )
                ),
            ),
        ),
        source_text="edge\n",
    ),
    Request(
        (_line("L0", 10000, "B"), _line("L1", 10000, "B")),
        at=datetime(2026, 11, 15, 10, tzinfo=timezone(timedelta(hours=8))),
    ),
)


def assert_same(got: Evaluation, want: Evaluation) -> None:
    """Compare field by field so a failure names the first field that differs."""
    assert (got.ruleset, got.version) == (want.ruleset, want.version)
    assert len(got.lines) == len(want.lines)
    for k, (g, w) in enumerate(zip(got.lines, want.lines, strict=True)):
        assert g.discounts == w.discounts, f"lines[{k}].discounts"
        assert g == w, f"lines[{k}]"
    assert got.coupons == want.coupons, "coupons"
    assert got.redemption == want.redemption, "redemption"
    assert got.points == want.points, "points"
    assert got.free_units == want.free_units, "free_units"
    assert got.gifts == want.gifts, "gifts"
    assert (got.subtotal, got.discount, got.payable) == (want.subtotal, want.discount, want.payable)
    assert got == want


class TestCompiledMatchesInterpreter:
    @FAST
    @given(cases())
    @example(MEASURE_PER_LINE)
    def test_same_evaluation(self, case):
        """On any valid ruleset and request the compiled engine answers exactly like the interpreter."""
        ruleset, request = case
        want = interpret(ruleset, request)
        got = compiled.compile_ruleset(ruleset).evaluate(request)
        assert_same(got, want)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(FAST.suppress_health_check))
    @given(cases())
    @example(MEASURE_PER_LINE)
    def test_same_evaluation_through_the_index(self, case):
        """With every stage indexed (as in a large ruleset) the answer is still the interpreter's."""
        ruleset, request = case
        want = interpret(ruleset, request)
        with mock.patch.object(compiler, "INDEX_FROM", 0):
            program = compiled.compile_ruleset(ruleset)
        assert_same(program.evaluate(request), want)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(FAST.suppress_health_check))
    @given(unit_cases())
    def test_same_evaluation_with_unit_rules(self, case):
        """买N赠M, 第N件, 任选N件, 满赠 with groups and exclusives: discounts and prompts agree."""
        ruleset, request = case
        assert_same(compiled.compile_ruleset(ruleset).evaluate(request), interpret(ruleset, request))


class TestInterpreterInvariants:
    @settings(max_examples=200, deadline=None, suppress_health_check=list(FAST.suppress_health_check))
    @given(cases())
    def test_every_fen_and_point_is_accounted_for(self, case):
        """Discounts add up per line and overall, nets are never negative, points shares sum to earned."""
        ruleset, request = case
        ev = interpret(ruleset, request)
        for outcome in ev.lines:
            assert outcome.discount == sum(d.fen for d in outcome.discounts)
            assert all(d.fen > 0 for d in outcome.discounts)
            assert outcome.net == outcome.amount - outcome.discount >= 0
            assert outcome.points >= 0
            if not outcome.earns_points:
                assert outcome.points == 0
        assert ev.discount == sum(o.discount for o in ev.lines)
        assert ev.payable == sum(o.net for o in ev.lines) == ev.subtotal - ev.discount
        assert sum(o.points for o in ev.lines) == ev.points.earned
        assert ev.points.earned == ev.points.base + sum(b.points for b in ev.points.bonuses)
        if request.member is None:
            assert ev.points.earned == 0
        for code in set(request.coupons):
            shares = sum(d.fen for o in ev.lines for d in o.discounts if d.source == f"coupon:{code}")
            assert shares == sum(c.discount for c in ev.coupons if c.code == code and c.accepted)
        for coupon in ev.coupons:
            assert coupon.accepted == (coupon.reason == "accepted") == (coupon.discount > 0)
        points_paid = sum(d.fen for o in ev.lines for d in o.discounts if d.kind == "points")
        assert points_paid == ev.redemption.value
        assert ev.redemption.points <= request.redeem_points
        known = {cp.id for cp in ruleset.coupons}
        assert [c.code for c in ev.coupons if c.code in known] == sorted(
            (c.code for c in ev.coupons if c.code in known),
            key=lambda code: next(cp.order for cp in ruleset.coupons if cp.id == code),
        )
        assert len(ev.coupons) == len(request.coupons)


class TestGeneratedRulesetsAreValid:
    @settings(max_examples=100, deadline=None, suppress_health_check=list(FAST.suppress_health_check))
    @given(rulesets())
    def test_checker_accepts_them(self, ruleset):
        """The generator stays inside what the checker accepts, so a disagreement above is a real bug."""
        assert check.check_ruleset(ruleset) == []


class TestShippedExamples:
    @pytest.mark.parametrize(
        "path", sorted(p.parent for p in RULESETS.glob("*/programme.rules")), ids=lambda p: p.name
    )
    def test_interpreter_meets_every_hand_worked_example(self, path):
        """The examples in rulesets/ were worked out by hand; the interpreter must reproduce every figure."""
        ruleset = dsl.load_path(path)
        assert ruleset.examples, "a shipped ruleset carries examples"
        for ex in ruleset.examples:
            ev = interpret(ruleset, example_request(ruleset, ex))
            want, got = ex.expect, {}
            if want.payable is not None:
                got["payable"] = ev.payable
            if want.discount is not None:
                got["discount"] = ev.discount
            if want.points is not None:
                got["points"] = ev.points.earned
            if want.redeemed_points is not None:
                got["redeemed"] = ev.redemption.points
            for rule_id, _ in want.rules:
                got[rule_id] = sum(d.fen for o in ev.lines for d in o.discounts if d.source == rule_id)
            for code, _ in want.coupons:
                got[code] = next((c.reason for c in ev.coupons if c.code == code), "not sent")
            per_line: dict[str, int] = {}
            for term in want.lines:
                outcome = ev.lines[term.line - 1]
                for name in ("net", "discount", "points"):
                    if getattr(term, name) is not None:
                        got[f"line {term.line} {name}"] = getattr(outcome, name)
                        per_line[f"line {term.line} {name}"] = getattr(term, name)
            expected = {
                "payable": want.payable,
                "discount": want.discount,
                "points": want.points,
                "redeemed": want.redeemed_points,
                **dict(want.rules),
                **dict(want.coupons),
                **per_line,
            }
            assert got == {k: expected[k] for k in got}, ex.label
        assert any(ex.expect.lines for ex in ruleset.examples), "a shipped ruleset pins some lines"
