"""The coupon stage: coupons in declaration order, each accepted or refused with its reason.

Reasons are tested duplicate, unknown, not_valid_now, members_only, not_eligible, min_spend,
no_eligible_amount (PRODUCT.md); value and percent coupons are apportioned alike.
"""

from __future__ import annotations

from engine.compile.compiler import Program
from engine.context import Context
from engine.evaluate.budget_caps import cap
from engine.evaluate.nudges import coupon_nudge
from engine.evaluate.spread import spread
from engine.model import CouponOutcome, Discount, Nudge, Request
from engine.money import round_half_up
from engine.rules import Coupon

__all__ = ["coupon_stage", "coupon_value"]


def coupon_stage(
    compiled: Program, ctx: Context, taken: list[list[Discount]], request: Request, nudges: list[Nudge]
) -> tuple[CouponOutcome, ...]:
    """Coupons in declaration order; unknown codes are reported after the known ones."""
    order = compiled.coupon_order
    first: dict[str, int] = {}
    repeats: list[str] = []
    unknown: list[CouponOutcome] = []
    seen_unknown: set[str] = set()
    for code in request.coupons:
        if code in first:
            repeats.append(code)
        elif code not in order:  # duplicate is tested first: a repeated unknown code is a duplicate
            reason = "duplicate" if code in seen_unknown else "unknown"
            seen_unknown.add(code)
            unknown.append(CouponOutcome(code, False, reason))
        else:
            first[code] = order[code]
    results: list[CouponOutcome] = []
    for code in sorted(first, key=first.__getitem__):
        results.append(_apply_coupon(compiled, ctx, taken, code, nudges))
        results.extend(CouponOutcome(code, False, "duplicate") for r in repeats if r == code)
    results.extend(unknown)
    return tuple(results)


def _apply_coupon(
    compiled: Program, ctx: Context, taken: list[list[Discount]], code: str, nudges: list[Nudge]
) -> CouponOutcome:
    c = compiled.coupons[code]
    coupon = c.coupon
    if c.blocked is not None:  # a use limit is reached (engine.usage)
        return CouponOutcome(code, False, "limit_reached")
    if not c.live(ctx):
        return CouponOutcome(code, False, "not_valid_now")
    if coupon.members_only and ctx.member is None:
        return CouponOutcome(code, False, "members_only")
    remaining, locked = ctx.remaining, ctx.locked
    lines = [i for i in ctx.select(c.applies_filter, c.applies) if not locked[i] and remaining[i] > 0]
    eligible = sum(remaining[i] for i in lines)
    if c.nudge is not None:
        nudge = coupon_nudge(c.nudge, ctx, eligible)
        if nudge is not None:
            nudges.append(nudge)
    if c.eligible is not None and not c.eligible(ctx, -1):
        return CouponOutcome(code, False, "not_eligible")
    if eligible < coupon.min_spend:
        return CouponOutcome(code, False, "min_spend")
    if eligible == 0:
        return CouponOutcome(code, False, "no_eligible_amount")
    amount = coupon_value(coupon, eligible)
    if amount == 0:  # a percent coupon on a few fen: nothing to take
        return CouponOutcome(code, False, "no_eligible_amount")
    if ctx.budget is not None and coupon.campaign in ctx.budget:
        amount = cap(ctx, f"coupon:{code}", coupon.campaign, amount)  # type: ignore[arg-type]
        if amount <= 0:
            return CouponOutcome(code, False, "limit_reached")
    spread(ctx, taken, lines, amount, f"coupon:{code}", "coupon")
    return CouponOutcome(code, True, "accepted", amount)


def coupon_value(coupon: Coupon, eligible: int) -> int:
    """Fen a coupon takes from lines whose remaining amounts sum to ``eligible`` (> 0).

    A percent coupon: min(round-half-up(percent x eligible), max); never more than ``eligible``.
    """
    percent = coupon.percent
    if percent is None:
        return min(coupon.value, eligible)
    amount = round_half_up(eligible * percent.numerator, percent.denominator)
    if coupon.max_value is not None and amount > coupon.max_value:
        amount = coupon.max_value
    return min(amount, eligible)
