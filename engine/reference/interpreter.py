"""The slow, obviously-correct reference interpreter of the rule IR.

``interpret`` walks the rule tree on every call, in exact arithmetic, following
PRODUCT.md "Evaluation semantics" step by step. It shares nothing with the compiled
engine but the IR, the model and ``round_half_up``: property tests hold the fast
engine to this one, so its value is in being plainly right, not fast. It is one module because
it is read as one account of the semantics, stage after stage, top to bottom; conditions
(``engine.reference.expr``) and largest-remainder splitting (``engine.reference.share``) stand apart.

Choices where PRODUCT.md is silent (told to the lead; the compiled engine must agree):

- Best-of groups are per stage: a group name shared by rules of two stages is two groups.
- An item or basket best-of member that would take 0 fen never wins; if every member
  takes 0, the group lists nothing.
- Points groups: multipliers compete by factor, bonuses by their declared points (largest
  wins, tie: first); a winning bonus with no line to land on is not granted and the group
  grants nothing (the runner-up does not step in). A group mixing both kinds runs the two
  contests separately.
- A 满减 ladder (``BasketSteps``) applies the step with the largest threshold met, as
  PRODUCT.md words it (the same as the largest amount on any sensible ladder).
- Conditions of points rules and ``no_points`` see the final state (after redemption).
- An item rule's condition sees the state just before the rule for every line, so an
  exclusive item rule locking line 1 does not change what ``subtotal()`` reads for line 2.
- Guests earn nothing: every line has ``earns_points`` False and the outcome is
  ``PointsOutcome(0, 0, eligible_fen=0, tier_rate=1, factor=1)``.
- A member of a ruleset without tiers earns at tier rate 1 (engine.evaluate.validate accepts any tier then).
- ``version`` hashes ``source_text``; a ruleset built by hand with no text hashes ``repr(ruleset)``.
- Duplicate coupon codes are listed right after the first occurrence of their code; unknown
  codes (also repeated ones) come last in request order, each with reason ``unknown``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction
from math import ceil, floor
from zoneinfo import ZoneInfo

from engine.errors import EvaluationError, InvalidRequest
from engine.model import (
    Bonus,
    CouponOutcome,
    Discount,
    Evaluation,
    FreeUnits,
    GiftAvailable,
    LineOutcome,
    Multiplier,
    Nudge,
    PointsOutcome,
    Redemption,
    Request,
)
from engine.money import QTY_SCALE, line_amount, round_half_up
from engine.reference.expr import Scene, holds, valid_now, value_of
from engine.reference.nudges import coupon_nudge, rule_nudges
from engine.reference.share import apportion_fen, share_points
from engine.reference.units import has_unit_rule, run_unit_group
from engine.rules import (
    AmountOff,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BonusPoints,
    Coupon,
    Effect,
    Expr,
    MemberPrice,
    PercentOff,
    PointsMultiplier,
    Rule,
    Ruleset,
    TableDiscount,
)

__all__ = ["interpret"]


@dataclass(slots=True)
class _Basket:
    """The lines as the stages work through them: what is left, what is locked, what was taken."""

    ruleset: Ruleset
    request: Request
    local: datetime
    amounts: list[int]
    remaining: list[int]
    locked: list[bool]
    taken: list[list[Discount]] = field(default_factory=list)
    nudges: list[Nudge] = field(default_factory=list)

    def scene(self) -> Scene:
        """A frozen view of the state now: what a rule's conditions see just before it runs."""
        return Scene(
            self.ruleset,
            self.request,
            self.local,
            tuple(self.remaining),
            tuple(self.locked),
            tuple(self.amounts),
        )

    def take(self, line: int, source: str, kind: str, fen: int) -> None:
        if fen <= 0:
            return
        if fen > self.remaining[line]:
            left = self.remaining[line]
            raise EvaluationError(f"{source} would take {fen} fen from a line with {left} left")
        self.remaining[line] -= fen
        self.taken[line].append(Discount(source, kind, fen))  # type: ignore[arg-type]

    def eligible(self, scene: Scene, over: Expr | None) -> dict[int, int]:
        """Unlocked lines matching ``over`` (all when None) with something left: index -> remaining."""
        return {
            i: scene.remaining[i]
            for i in range(len(self.request.lines))
            if not scene.locked[i] and scene.remaining[i] > 0 and (over is None or holds(over, scene, i))
        }


def interpret(ruleset: Ruleset, request: Request) -> Evaluation:
    """Price ``request`` under ``ruleset`` exactly as PRODUCT.md says, the slow way."""
    local = _local_time(ruleset, request)
    _check_request(ruleset, request)
    amounts = [line_amount(line.unit_price, line.quantity) for line in request.lines]
    n = len(request.lines)
    basket = _Basket(ruleset, request, local, amounts, list(amounts), [False] * n, [[] for _ in range(n)])
    free_units: list[FreeUnits] = []
    gifts: list[GiftAvailable] = []
    for unit in _units(ruleset, "item"):
        if has_unit_rule(unit):  # 买N赠M, 第N件, 任选N件, 满赠: engine.reference.units
            plain = lambda rule, scene, i, left: _item_discount(rule.effect, scene, i, left)  # noqa: E731
            run_unit_group(basket, unit, plain, free_units, gifts)
        else:
            _run_item_unit(basket, unit)
    for unit in _units(ruleset, "basket"):
        _run_basket_unit(basket, unit)
    coupons = _run_coupons(basket)
    redemption = _run_redemption(basket)
    points, line_points, earns = _earn_points(basket)
    outcomes = []
    for i, line in enumerate(request.lines):
        discount = sum(d.fen for d in basket.taken[i])
        outcomes.append(
            LineOutcome(
                line_id=line.id,
                amount=amounts[i],
                discounts=tuple(basket.taken[i]),
                discount=discount,
                net=amounts[i] - discount,
                points=line_points[i],
                earns_points=earns[i],
            )
        )
    subtotal = sum(amounts)
    discount = sum(o.discount for o in outcomes)
    return Evaluation(
        ruleset=ruleset.name,
        version=hashlib.sha256((ruleset.source_text or repr(ruleset)).encode("utf-8")).hexdigest()[:12],
        lines=tuple(outcomes),
        subtotal=subtotal,
        discount=discount,
        payable=subtotal - discount,
        points=points,
        coupons=tuple(coupons),
        redemption=redemption,
        free_units=tuple(free_units),
        gifts=tuple(gifts),
        nudges=tuple(basket.nudges),
    )


# --------------------------------------------------------------------------- request checks


def _local_time(ruleset: Ruleset, request: Request) -> datetime:
    if request.at.tzinfo is None or request.at.utcoffset() is None:
        raise InvalidRequest("at", "the transaction time must carry its UTC offset")
    return request.at.astimezone(ZoneInfo(ruleset.settings.timezone))


def _check_request(ruleset: Ruleset, request: Request) -> None:
    """Only what the interpreter cannot price otherwise; the full check is engine.evaluate.validate's job."""
    for i, line in enumerate(request.lines):
        if line.unit_price < 0 or line.quantity <= 0 or line_amount(line.unit_price, line.quantity) <= 0:
            raise InvalidRequest(f"lines[{i}]", "the line amount must be at least 1 fen")
    member = request.member
    if member is not None and ruleset.tiers and member.tier not in {t.id for t in ruleset.tiers}:
        raise InvalidRequest("member.tier", f"unknown tier {member.tier!r}")
    asked = request.redeem_points
    if asked < 0:
        raise InvalidRequest("redeem_points", "cannot redeem a negative number of points")
    if asked == 0:
        return
    if member is None:
        raise InvalidRequest("redeem_points", "only a member can pay with points")
    if ruleset.settings.redeem_points_per_yuan is None:
        raise InvalidRequest("redeem_points", f"ruleset {ruleset.name!r} does not take points at checkout")
    if member.points_balance is not None and asked > member.points_balance:
        raise InvalidRequest("redeem_points", f"asks {asked} points, the member has {member.points_balance}")


# --------------------------------------------------------------------------- stage order


def _units(ruleset: Ruleset, stage: str) -> list[list[Rule]]:
    """A stage's rules by priority (higher first) then file order; a best-of group is one
    unit at the position of its first member, its members in that same order."""
    indexed = [(i, r) for i, r in enumerate(ruleset.rules) if r.stage == stage]
    ordered = [r for _, r in sorted(indexed, key=lambda p: (-p[1].priority, p[1].order, p[0]))]
    units: list[list[Rule]] = []
    groups: dict[str, list[Rule]] = {}
    for rule in ordered:
        if rule.group is None:
            units.append([rule])
        elif rule.group in groups:
            groups[rule.group].append(rule)
        else:
            groups[rule.group] = [rule]
            units.append(groups[rule.group])
    return units


# --------------------------------------------------------------------------- item rules


def _item_discount(effect: Effect, scene: Scene, line: int, left: int) -> int:
    item = scene.request.lines[line]
    if isinstance(effect, PercentOff):
        fen = round_half_up(left * effect.rate.numerator, effect.rate.denominator)
    elif isinstance(effect, AmountOff):
        fen = round_half_up(effect.per_unit * item.quantity, QTY_SCALE)
    elif isinstance(effect, MemberPrice):
        fen = left - line_amount(effect.price, item.quantity)
    elif isinstance(effect, TableDiscount):
        key = tuple(value_of(k, scene, line) for k in effect.keys)
        rate = effect.rates.get(key)  # type: ignore[arg-type]
        fen = 0 if rate is None else round_half_up(left * rate.numerator, rate.denominator)
    else:
        raise EvaluationError(f"{type(effect).__name__} is not an item effect", effect.span)
    return max(0, min(fen, left))


def _run_item_unit(basket: _Basket, unit: list[Rule]) -> None:
    """Each unlocked line: every live member whose condition matches is priced on the same
    remaining amount; the largest discount wins (tie: first); an exclusive winner locks."""
    scene = basket.scene()
    live = [r for r in unit if valid_now(r.validity, basket.local)]
    for i in range(len(basket.request.lines)):
        if scene.locked[i]:
            continue
        best: tuple[int, Rule] | None = None
        for rule in live:
            if rule.condition is not None and not holds(rule.condition, scene, i):
                continue
            fen = _item_discount(rule.effect, scene, i, scene.remaining[i])
            if fen > 0 and (best is None or fen > best[0]):
                best = (fen, rule)
        if best is not None:
            fen, rule = best
            basket.take(i, rule.id, "rule", fen)
            if rule.exclusive:
                basket.locked[i] = True


# --------------------------------------------------------------------------- basket rules


def _basket_discount(effect: Effect, eligible: dict[int, int]) -> int:
    total = sum(eligible.values())
    if isinstance(effect, BasketOff):
        fen = effect.amount
    elif isinstance(effect, BasketSteps):
        met = [(threshold, amount) for threshold, amount in effect.steps if threshold <= total]
        fen = max(met)[1] if met else 0
    elif isinstance(effect, BasketEvery):
        times = total // effect.every
        if effect.limit is not None:
            times = min(times, effect.limit)
        fen = effect.amount * times
    else:
        raise EvaluationError(f"{type(effect).__name__} is not a basket effect", effect.span)
    return max(0, min(fen, total))


def _run_basket_unit(basket: _Basket, unit: list[Rule]) -> None:
    """Every live member whose condition holds computes its discount on the same state;
    the largest wins (tie: first) and is apportioned; an exclusive winner locks the lines it took from."""
    scene = basket.scene()
    for rule in unit:  # nudges are measured just before the unit, like its thresholds
        total = sum(basket.eligible(scene, rule.effect.over).values())  # type: ignore[union-attr]
        basket.nudges.extend(rule_nudges(rule, scene, basket.local, total))
    best: tuple[int, Rule, dict[int, int]] | None = None
    for rule in unit:
        if not valid_now(rule.validity, basket.local):
            continue
        if rule.condition is not None and not holds(rule.condition, scene):
            continue
        eligible = basket.eligible(scene, rule.effect.over)  # type: ignore[union-attr]
        fen = _basket_discount(rule.effect, eligible)
        if fen > 0 and (best is None or fen > best[0]):
            best = (fen, rule, eligible)
    if best is None:
        return
    fen, rule, eligible = best
    for i, share in sorted(apportion_fen(fen, eligible).items()):
        basket.take(i, rule.id, "rule", share)
        if rule.exclusive:
            basket.locked[i] = True


# --------------------------------------------------------------------------- coupons


def _run_coupons(basket: _Basket) -> list[CouponOutcome]:
    """Known codes in the ruleset's declaration order (duplicates after their first), then unknown ones."""
    request = basket.request
    declared = [c for _, c in sorted(enumerate(basket.ruleset.coupons), key=lambda p: (p[1].order, p[0]))]
    known = {c.id for c in declared}
    outcomes: list[CouponOutcome] = []
    for coupon in declared:
        times = request.coupons.count(coupon.id)
        if times == 0:
            continue
        outcomes.append(_one_coupon(basket, coupon))
        outcomes.extend(CouponOutcome(coupon.id, False, "duplicate") for _ in range(times - 1))
    # Reasons are tested duplicate first: the second time an unknown code comes, it is a duplicate.
    unknown = [code for code in request.coupons if code not in known]
    for k, code in enumerate(unknown):
        outcomes.append(CouponOutcome(code, False, "duplicate" if code in unknown[:k] else "unknown"))
    return outcomes


def _one_coupon(basket: _Basket, coupon: Coupon) -> CouponOutcome:
    if not valid_now(coupon.validity, basket.local):
        return CouponOutcome(coupon.id, False, "not_valid_now")
    if coupon.members_only and basket.request.member is None:
        return CouponOutcome(coupon.id, False, "members_only")
    scene = basket.scene()
    eligible = basket.eligible(scene, coupon.applies_to)
    total = sum(eligible.values())
    nudge = coupon_nudge(coupon, scene, total)
    if nudge is not None:
        basket.nudges.append(nudge)
    if coupon.condition is not None and not holds(coupon.condition, scene):
        return CouponOutcome(coupon.id, False, "not_eligible")
    if total < coupon.min_spend:
        return CouponOutcome(coupon.id, False, "min_spend")
    if total == 0:
        return CouponOutcome(coupon.id, False, "no_eligible_amount")
    if coupon.percent is None:
        fen = min(coupon.value, total)
    else:  # a percent coupon: min(round-half-up(percent x eligible remaining), max)
        fen = round_half_up(total * coupon.percent.numerator, coupon.percent.denominator)
        if coupon.max_value is not None:
            fen = min(fen, coupon.max_value)
        fen = min(fen, total)
    if fen == 0:  # a percent coupon on a few fen: nothing to take, so not accepted
        return CouponOutcome(coupon.id, False, "no_eligible_amount")
    for i, share in sorted(apportion_fen(fen, eligible).items()):
        basket.take(i, f"coupon:{coupon.id}", "coupon", share)
    return CouponOutcome(coupon.id, True, "accepted", fen)


# --------------------------------------------------------------------------- points at checkout


def _run_redemption(basket: _Basket) -> Redemption:
    """cap = floor(share x eligible); used = min(asked, floor(cap x rate / 100));
    value = floor(used x 100 / rate) fen, apportioned like a coupon."""
    asked = basket.request.redeem_points
    rate = basket.ruleset.settings.redeem_points_per_yuan
    if asked == 0 or rate is None:
        return Redemption(0, 0)
    eligible = basket.eligible(basket.scene(), basket.ruleset.settings.redeem_applies_to)
    cap = floor(basket.ruleset.settings.redeem_cap * sum(eligible.values()))
    used = min(asked, floor(Fraction(cap * rate, 100)))
    value = floor(Fraction(used * 100, rate))
    for i, share in sorted(apportion_fen(value, eligible).items()):
        basket.take(i, "points", "points", share)
    return Redemption(used, value)


# --------------------------------------------------------------------------- points earned


_ROUND = {
    "floor": floor,
    "ceil": ceil,
    "half_up": lambda x: round_half_up(x.numerator, x.denominator),
}


def _combine(mode: str, factors: list[Fraction]) -> Fraction:
    if not factors:
        return Fraction(1)
    if mode == "max":
        return max(factors)
    if mode == "add":
        return 1 + sum((f - 1 for f in factors), Fraction(0))
    product = Fraction(1)
    for f in factors:
        product *= f
    return product


def _earn_points(basket: _Basket) -> tuple[PointsOutcome, list[int], list[bool]]:
    """Base points on the earning lines' nets (tier rate x combined multipliers), shared by
    largest remainder, plus unmultiplied bonuses spread over the lines each bonus selects."""
    ruleset, request = basket.ruleset, basket.request
    n = len(request.lines)
    # Earning points is unaffected by `exclusive`: the measures see every line, locked or not.
    scene = replace(basket.scene(), locked=(False,) * n)
    net = {i: basket.amounts[i] - sum(d.fen for d in basket.taken[i]) for i in range(n)}
    member = request.member
    if member is None:
        return PointsOutcome(0, 0, 0, Fraction(1), Fraction(1)), [0] * n, [False] * n
    earns = [not any(holds(np.condition, scene, i) for np in ruleset.no_points) for i in range(n)]
    earning = [i for i in range(n) if earns[i]]
    multipliers: list[Multiplier] = []
    bonuses: list[tuple[Bonus, dict[int, int]]] = []
    for unit in _units(ruleset, "points"):
        live = [
            r
            for r in unit
            if valid_now(r.validity, basket.local) and (r.condition is None or holds(r.condition, scene))
        ]
        mult = [r for r in live if isinstance(r.effect, PointsMultiplier)]
        if mult:
            best = mult[0]
            for r in mult[1:]:
                if r.effect.factor > best.effect.factor:  # type: ignore[union-attr]
                    best = r
            multipliers.append(Multiplier(best.id, best.effect.factor))  # type: ignore[union-attr]
        bonus = [r for r in live if isinstance(r.effect, BonusPoints)]
        if bonus:
            best = bonus[0]
            for r in bonus[1:]:
                if r.effect.points > best.effect.points:  # type: ignore[union-attr]
                    best = r
            spread = _spread_bonus(best.effect, scene, earning, net)  # type: ignore[arg-type]
            if spread:
                bonuses.append((Bonus(best.id, best.effect.points), spread))  # type: ignore[union-attr]
    tier_rate = next((t.rate for t in ruleset.tiers if t.id == member.tier), Fraction(1))
    factor = _combine(ruleset.settings.multipliers, [m.factor for m in multipliers])
    per_fen = ruleset.settings.points_per_yuan * tier_rate * factor / 100
    eligible_fen = sum(net[i] for i in earning)
    base = _ROUND[ruleset.settings.points_rounding](eligible_fen * per_fen)
    line_points = [0] * n
    for i, pts in share_points({i: net[i] * per_fen for i in earning}, base, net).items():
        line_points[i] += pts
    for _, spread in bonuses:
        for i, pts in spread.items():
            line_points[i] += pts
    earned = base + sum(b.points for b, _ in bonuses)
    outcome = PointsOutcome(
        earned=earned,
        base=base,
        eligible_fen=eligible_fen,
        tier_rate=tier_rate,
        factor=factor,
        multipliers=tuple(multipliers),
        bonuses=tuple(b for b, _ in bonuses),
    )
    return outcome, line_points, earns


def _spread_bonus(
    effect: BonusPoints, scene: Scene, earning: list[int], net: dict[int, int]
) -> dict[int, int]:
    """The bonus over the earning lines matching ``over`` with net > 0, by net; {} when there is none."""
    chosen = [i for i in earning if net[i] > 0 and (effect.over is None or holds(effect.over, scene, i))]
    if not chosen or effect.points <= 0:
        return {}
    total_net = sum(net[i] for i in chosen)
    return share_points({i: Fraction(effect.points * net[i], total_net) for i in chosen}, effect.points, net)
