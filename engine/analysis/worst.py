"""The worst case: how much of one line's amount every discount together can take.

**The bound** walks the stages in the engine's order and, for each rule step, coupon and
the redemption, takes the largest share of what is left of a line it can take on any basket
(a best-of group: its best member; 满减 ``A`` off over a threshold ``T`` measured on the same
lines: ``A / T``; 每满 and ladders: their best ratio; a fixed amount per unit or a member
price: all of it; a coupon ``V`` with minimum spend ``M``: ``V / M``; redemption: its cap).
The shares compound: bound = 1 - prod(1 - share); a line an ``exclusive`` rule took from
takes nothing later, so that path stops there and the worst of the paths is the bound. It is
exact rational arithmetic and
ignores the fen rounding of each step (at most one fen per discount on a line), and it
assumes every step can meet on one line; a rule proved never to apply is left out.

**The witness** (:mod:`~engine.analysis.witness`) is a basket built from the bound's steps and
priced by the compiled engine. It is printed as an ``example`` block that pins that line's
discount, so pasting it into the file keeps it true.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from engine.model import Evaluation, Request
from engine.money import format_fen
from engine.rules import (
    Aggregate,
    AmountOff,
    And,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BuyGet,
    Compare,
    Const,
    EveryNth,
    Example,
    Gift,
    MemberPrice,
    PercentOff,
    Rule,
    Ruleset,
    TableDiscount,
    UnitsFor,
)

__all__ = ["Bound", "Witness", "bound", "example_block", "percent", "pushed", "rule_share", "threshold_of"]

_ONE = Fraction(1)


@dataclass(frozen=True, slots=True)
class Bound:
    """The worst-case share of a line's amount and the steps that make it, in stage order."""

    share: Fraction
    steps: tuple[tuple[str, Fraction], ...]  # (rule id, coupon:<id> or "points", share of what is left)


@dataclass(frozen=True, slots=True)
class Witness:
    """A basket the engine really priced, its line that lost most, and that share."""

    request: Request
    example: Example
    line: int  # 1-based
    amount: int
    discount: int
    evaluation: Evaluation

    @property
    def share(self) -> Fraction:
        return Fraction(self.discount, self.amount)


def bound(ruleset: Ruleset, dead: set[str]) -> Bound:
    """The worst-case share; ``dead`` holds the ids proved never to apply (left out)."""
    steps: list[tuple[str, Fraction]] = []
    locks: set[int] = set()  # positions of exclusive rules outside groups
    by_group: dict[tuple[str, str], int] = {}
    for rule in sorted(
        ruleset.rules, key=lambda r: ({"item": 0, "basket": 1}.get(r.stage, 2), -r.priority, r.order)
    ):
        if rule.stage == "points" or rule.id in dead:
            continue
        share = min(_ONE, rule_share(rule))
        if rule.group is not None:
            at = by_group.get((rule.stage, rule.group))
            if at is not None:
                steps[at] = (steps[at][0], max(steps[at][1], share))
                continue
            by_group[(rule.stage, rule.group)] = len(steps)
        elif rule.exclusive:
            locks.add(len(steps))
        steps.append((rule.id, share))
    for coupon in sorted(ruleset.coupons, key=lambda c: c.order):
        if coupon.id in dead:
            continue
        if coupon.percent is not None:  # a percent coupon takes its rate of every line it spreads over
            share = coupon.percent
        else:
            share = Fraction(coupon.value, coupon.min_spend) if coupon.min_spend > 0 else _ONE
        steps.append((f"coupon:{coupon.id}", min(_ONE, share)))
    if ruleset.settings.redeem_points_per_yuan:
        steps.append(("points", ruleset.settings.redeem_cap))
    # A line an exclusive rule took from takes nothing later: that path ends there. The one path
    # that goes on is the line the exclusive rule does not match.
    left, taken = _ONE, []
    worst = Bound(Fraction(0), ())
    for k, (source, share) in enumerate(steps):
        if k in locks:
            locked = Bound(1 - left * (1 - share), (*taken, (source, share)))
            worst = max(worst, locked, key=lambda b: b.share)
            continue
        left *= 1 - share
        taken.append((source, share))
    return max(worst, Bound(1 - left, tuple(taken)), key=lambda b: b.share)


def rule_share(rule: Rule) -> Fraction:
    e = rule.effect
    if isinstance(e, PercentOff):
        return e.rate
    if isinstance(e, TableDiscount):
        return max(e.rates.values(), default=Fraction(0))
    if isinstance(e, (AmountOff, MemberPrice, BuyGet, Gift, UnitsFor)):
        # A free unit or a gift can be a whole line of one unit; 任选N件's discount per unit tends
        # to the unit's whole value as the other units of the group grow.
        return _ONE
    if isinstance(e, EveryNth):  # a one-unit line at position N loses the rate of its value
        return e.rate
    if isinstance(e, BasketOff):
        threshold = threshold_of(rule)
        return Fraction(e.amount, threshold) if threshold else _ONE
    if isinstance(e, BasketSteps):
        return max((Fraction(a, t) for t, a in e.steps if t > 0), default=_ONE)
    if isinstance(e, BasketEvery):
        return Fraction(e.amount, e.every)
    return Fraction(0)


def threshold_of(rule: Rule) -> int | None:
    """``T`` of ``when subtotal(W) >= T`` when ``W`` is the discount's own ``over``."""
    over = getattr(rule.effect, "over", None)
    cond = rule.condition
    parts = cond.items if isinstance(cond, And) else (cond,)
    best = None
    for p in parts:
        if (
            isinstance(p, Compare)
            and isinstance(p.left, Aggregate)
            and p.left.kind == "subtotal"
            and p.left.where == over
            and p.op in (">=", ">")
            and isinstance(p.right, Const)
            and isinstance(p.right.value, int)
        ):
            t = p.right.value + (1 if p.op == ">" else 0)
            best = t if best is None else max(best, t)
    return best if best and best > 0 else None


def pushed(ruleset: Ruleset, example: Example) -> list[Example]:
    """The example, and the same basket with every coupon and as many points as may be redeemed."""
    out = [example]
    coupons = tuple(c.id for c in sorted(ruleset.coupons, key=lambda c: c.order))
    redeem = 10**9 if ruleset.settings.redeem_points_per_yuan and example.member is not None else 0
    member = example.member
    if member is not None and redeem:
        member = replace(member, points_balance=None)
    if coupons or redeem:
        out.append(replace(example, coupons=coupons, redeem_points=redeem, member=member))
    return out


def example_block(w: Witness) -> str:
    """The witness as an ``example`` block to paste into the ruleset."""
    ex = w.example
    pct = percent(w.share)
    out = [f'example "worst case: line {w.line} loses {pct} of its amount" {{']
    m = ex.member
    if m is None:
        out.append("  member guest")
    else:
        terms = [f"tier {m.tier}"]
        if m.birthday:
            terms.append(f"birthday {m.birthday}")
        if m.tags:
            terms.append("tags [" + ", ".join(f'"{t}"' for t in sorted(m.tags)) + "]")
        if m.segment:
            terms.append(f'segment "{m.segment}"')
        if m.join_date:
            terms.append(f"joined {m.join_date}")
        if m.points_balance is not None:
            terms.append(f"balance {m.points_balance}")
        if m.last_purchase:
            terms.append(f"last_purchase {m.last_purchase}")
        if m.order_count is not None:
            terms.append(f"orders {m.order_count}")
        if m.lifetime_spend is not None:
            terms.append(f"lifetime_spend {format_fen(m.lifetime_spend)}")
        out.append("  member " + ", ".join(terms))
    out.append(f"  at {ex.at:%Y-%m-%d %H:%M}")
    if ex.store:
        out.append(f'  store "{ex.store}"')
    if ex.channel:
        out.append(f'  channel "{ex.channel}"')
    for ln in ex.lines:
        parts = [f'  line "{ln.name}"']
        for word, value in (("sku", ln.sku), ("category", ln.category), ("brand", ln.brand)):
            if value:
                parts.append(f'{word} "{value}"')
        if ln.tags:
            parts.append("tags [" + ", ".join(f'"{t}"' for t in sorted(ln.tags)) + "]")
        whole, part = divmod(ln.quantity, 1000)
        qty = f"{whole}" if part == 0 else f"{whole}.{part:03d}"
        parts.append(f"price {format_fen(ln.price)} qty {qty} tax {ln.tax}")
        out.append(" ".join(parts))
    for code in ex.coupons:
        out.append(f"  coupon {code}")
    redeemed = w.evaluation.redemption.points
    if redeemed:
        out.append(f"  redeem {redeemed} points")
    out.append(
        f"  expect payable {format_fen(w.evaluation.payable)}, discount {format_fen(w.evaluation.discount)}"
    )
    out.append(f"  expect line {w.line} discount {format_fen(w.discount)}")
    out.append("}")
    return "\n".join(out)


def percent(share: Fraction) -> str:
    """A share as a percent with two decimals, rounded half up (display only)."""
    from engine.money import round_half_up

    basis = round_half_up(share.numerator * 10000, share.denominator)
    return f"{basis // 100}.{basis % 100:02d}%"
