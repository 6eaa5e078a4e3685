"""Checks of the second-wave coupon and redemption forms: percent coupons with a cap, a coupon's
`when` (member and basket), and the redemption setting's `applies_to`.

Apart from engine.check.ruleset so the forms added together are checked together.
"""

from __future__ import annotations

from engine.check.conditions import ConditionChecker
from engine.money import format_fen
from engine.rules import Coupon, Settings

__all__ = ["check_coupon_forms", "check_redeem_on"]


def check_coupon_forms(checker: ConditionChecker, c: Coupon) -> None:
    """A percent coupon takes 0-100% (the parser refuses more), its `max` is positive and only
    follows a percent; a `when` reads the member and the basket, never a line."""
    if c.percent is not None:
        if c.percent <= 0:
            checker.fail(
                f"coupon '{c.id}' takes 0%: it does nothing",
                c.span,
                "write a percent above 0, like value 10%",
            )
        elif c.percent > 1:
            checker.fail(
                f"coupon '{c.id}' takes more than 100%", c.span, "a percent coupon takes at most 100%"
            )
    if c.max_value is not None:
        if c.percent is None:
            checker.fail(
                f"coupon '{c.id}' has a max but a fixed value",
                c.span,
                "a max caps a percent coupon: write `value 10%, max 50.00`",
            )
        elif c.max_value <= 0:
            checker.fail(
                f"coupon '{c.id}' has a max of {format_fen(c.max_value)}: it could never take a fen",
                c.span,
                "write a max above 0.00, or leave it out",
            )
    if c.condition is not None:
        checker.condition(c.condition, item_scope=False, stage="coupon")


def check_redeem_on(checker: ConditionChecker, s: Settings) -> None:
    """`redeem ..., applies_to COND` picks lines: it reads the line, and needs redemption to be set."""
    if s.redeem_applies_to is None:
        return
    checker.condition(s.redeem_applies_to, item_scope=True)
