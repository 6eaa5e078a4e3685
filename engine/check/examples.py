"""Semantic checks on a ruleset's worked examples.

An example is a basket the merchandiser writes next to the rules, with the outcome it
expects; it may only name tiers, coupons and rules the ruleset declares, use real tax
rates and rejection reasons, expect only lines it has, and redeem points only where
redemption is set up. These checks look at test data rather than at the rules themselves,
so they live apart from the ruleset-level checks in engine/check.py and report into the same
:class:`~engine.check.conditions.ConditionChecker`.
"""

from __future__ import annotations

from engine.check.conditions import ConditionChecker
from engine.errors import did_you_mean
from engine.model import COUPON_REASONS, TaxRate
from engine.money import line_amount
from engine.rules import Example, Ruleset

__all__ = ["check_example"]

_REJECTIONS = tuple(r for r in COUPON_REASONS if r not in ("accepted", "limit_reached"))
"""What an example may expect a coupon to be rejected for: no ledger there, so no use limit is reached."""


def check_example(checker: ConditionChecker, ruleset: Ruleset, ex: Example) -> None:
    """Report what ``ex`` names or asks for that ``ruleset`` does not have."""
    member = ex.member
    if member is not None and member.tier not in checker.tiers:
        checker.unknown_tier(member.tier, member.span)
    coupons = [c.id for c in ruleset.coupons]
    for code in ex.coupons:
        if code not in coupons:
            checker.unknown("coupon", code, coupons, ex.span)
    for line in ex.lines:
        if line.quantity <= 0 or line.price <= 0 or line_amount(line.price, line.quantity) <= 0:
            checker.fail(
                f"line '{line.name}' costs nothing", line.span, "give it a price and a quantity above 0"
            )
        try:
            TaxRate.parse(line.tax)
        except ValueError as exc:
            checker.fail(str(exc), line.span)
    if ex.redeem_points and ruleset.settings.redeem_points_per_yuan is None:
        checker.fail("this example redeems points but the ruleset has no `redeem` setting", ex.span)
    if ex.redeem_points and member is None:
        checker.fail("a guest cannot redeem points", ex.span, "add a member line")
    expect = ex.expect
    rule_ids = [r.id for r in ruleset.rules]
    for rule_id, _fen in expect.rules:
        if rule_id not in rule_ids:
            checker.unknown("rule", rule_id, rule_ids, expect.span)
    for _kind, rule_id, _units in expect.offers:
        if rule_id not in rule_ids:
            checker.unknown("rule", rule_id, rule_ids, expect.span)
    for code, outcome in expect.coupons:
        if code not in coupons:
            checker.unknown("coupon", code, coupons, expect.span)
        if outcome != "accepted" and outcome not in _REJECTIONS:
            hint = did_you_mean(outcome, _REJECTIONS) or "reasons are " + ", ".join(_REJECTIONS)
            checker.fail(f"unknown rejection reason '{outcome}'", expect.span, hint)
    count = len(ex.lines)
    for want in expect.lines:
        if not 1 <= want.line <= count:
            has = "1 line" if count == 1 else f"{count} lines"
            hint = (
                "write `line 1`, the example's only line"
                if count == 1
                else f"write `line 1` to `line {count}`: the example's lines, counted from the top"
            )
            checker.fail(
                f"this example has {has}; `line {want.line}` names none", want.span or expect.span, hint
            )
