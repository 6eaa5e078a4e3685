"""Checks of the coupons a programme issues (`issue COUPON on ..., valid N days`).

The coupon must be one the programme declares (an issued code prices as it), the tier one it
has, the days positive, and each (coupon, trigger) said once: a repeated line would issue twice.
"""

from __future__ import annotations

from engine.check.conditions import ConditionChecker
from engine.errors import did_you_mean
from engine.rules import Ruleset

__all__ = ["check_issued"]


def check_issued(checker: ConditionChecker, ruleset: Ruleset) -> None:
    coupons = [c.id for c in ruleset.coupons]
    tiers = [t.id for t in ruleset.tiers]
    seen: set[str] = set()
    for issued in ruleset.settings.issued:
        if issued.coupon not in coupons:
            hint = did_you_mean(issued.coupon, coupons) or 'declare it with `coupon ID "label" { ... }`'
            checker.fail(f"issue: unknown coupon '{issued.coupon}'", issued.span, hint)
        if issued.trigger == "tier" and issued.tier not in tiers:
            hint = did_you_mean(issued.tier or "", tiers) or "name one of the programme's tiers"
            checker.fail(f"issue: unknown tier '{issued.tier}'", issued.span, hint)
        if issued.trigger == "idle" and (issued.days or 0) <= 0:
            checker.fail("issue: the day without a purchase must be 1 or later", issued.span)
        if issued.valid_days <= 0:
            checker.fail(
                "issue: an issued coupon must be valid for at least 1 day",
                issued.span,
                "write `valid 14 days`",
            )
        if issued.key in seen:
            checker.fail(
                f"issue: '{issued.key}' is declared twice", issued.span, "a second line would issue it twice"
            )
        seen.add(issued.key)
