"""The health-chain ruleset written by hand in plain Python: the speed an expert would get.

This is what rulesets/health/ means, coded directly for the baskets the
benchmark sends (no coupons, no redemption): the clearance 6折 (exclusive), the
protein-powder member price, the A-class 9.5折 for gold and above, 买二赠一 on the
goods tagged for it (with the "one more is free" prompt), 满300减30 on
A-class goods, member day and birthday double points, tier rates, no points on
gift cards. It returns the same :class:`~engine.model.Evaluation` the engine
returns (each line's discounts with the rules behind them, net and points; the
points explanation; payable), and the benchmark checks the two are equal before
timing, so the ratio compares equal work.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone
from fractions import Fraction

from engine.model import (
    NO_REDEMPTION,
    Discount,
    Evaluation,
    FreeUnits,
    LineOutcome,
    Multiplier,
    Nudge,
    PointsOutcome,
    Request,
)

__all__ = ["HEALTH_RULESET", "evaluate_by_hand"]

HEALTH_RULESET = "health"  # the programme folder

_SHANGHAI = timezone(timedelta(hours=8))  # no DST in China, so a fixed offset is exact
_TIER_RANK = {"normal": 0, "silver": 1, "gold": 2, "diamond": 3}
# per_yuan 1 x tier rate / 100, as (numerator, denominator)
_TIER_POINTS = {"normal": (1, 100), "silver": (6, 500), "gold": (3, 200), "diamond": (3, 100)}
_TIER_RATE = {"normal": Fraction(1), "silver": Fraction(6, 5), "gold": Fraction(3, 2), "diamond": Fraction(3)}
_ONE, _TWO = Fraction(1), Fraction(2)
_A300_FROM, _A300_TO = date(2026, 1, 1), date(2026, 12, 31)
_A300_LABEL = "A类商品 满300减30"


def evaluate_by_hand(request: Request, version: str) -> Evaluation:
    """The health-chain evaluation of ``request``, labelled with the ruleset ``version``."""
    local = request.at.astimezone(_SHANGHAI)
    today = local.date()
    member = request.member
    rank = _TIER_RANK[member.tier] if member is not None else -1
    lines = request.lines
    n = len(lines)
    amounts = [0] * n
    remaining = [0] * n
    locked = [False] * n
    taken: list[list[Discount]] = [[] for _ in range(n)]

    for i, line in enumerate(lines):
        q = line.quantity
        left = amounts[i] = (line.unit_price * q * 2 + 1000) // 2000  # round half up, non-negative
        if "临期" in line.tags:
            off = (left * 4 + 5) // 10  # 6折 is 40% off, half up
            left -= off
            taken[i].append(Discount("clearance", "rule", off))
            locked[i] = True
            remaining[i] = left
            continue
        if line.sku == "TCBJ-DBF-450" and rank >= 0:
            target = (16800 * q * 2 + 1000) // 2000
            if target < left:
                taken[i].append(Discount("protein_member_price", "rule", left - target))
                left = target
        if line.category == "A类" and rank >= 2:
            off = (left * 2 + 20) // 40  # 5% half up
            if off:
                left -= off
                taken[i].append(Discount("a_class", "rule", off))
        remaining[i] = left

    free_units = _buy2_get1(lines, remaining, locked, taken)

    nudges: list[Nudge] = []
    if _A300_FROM <= today <= _A300_TO:
        eligible = [i for i in range(n) if not locked[i] and remaining[i] > 0 and lines[i].category == "A类"]
        subtotal = sum(remaining[i] for i in eligible)
        if subtotal >= 30000:
            _spread(3000, eligible, remaining, taken, "a_class_300_30")
        else:  # the nudge: how much more A类 would trigger 满300减30
            nudges.append(Nudge("a_class_300_30", _A300_LABEL, 30000 - subtotal, "subtotal", 30000, "A类"))

    shares = [0] * n
    earns = [False] * n
    if member is None:
        points = PointsOutcome(0, 0, 0, _ONE, _ONE)
    else:
        num, den = _TIER_POINTS[member.tier]
        multipliers = []
        if local.day == 15:
            num *= 2
            multipliers.append(Multiplier("member_day", _TWO))
        b = member.birthday
        if b is not None and _is_birthday(b, today):
            num *= 2
            multipliers.append(Multiplier("birthday", _TWO))
        earns = [line.category != "礼品卡" for line in lines]
        earning = [i for i in range(n) if earns[i] and remaining[i]]
        total = sum(remaining[i] for i in earning)
        base = total * num // den
        fractions = [0] * n
        given = 0
        for i in earning:
            shares[i], fractions[i] = divmod(remaining[i] * num, den)
            given += shares[i]
        if base > given:
            for k in sorted(earning, key=lambda k: (-fractions[k], -remaining[k], k))[: base - given]:
                shares[k] += 1
        factor = _TWO ** len(multipliers) if multipliers else _ONE
        points = PointsOutcome(base, base, total, _TIER_RATE[member.tier], factor, tuple(multipliers), ())
    outcomes = tuple(
        LineOutcome(
            lines[i].id,
            amounts[i],
            tuple(taken[i]),
            amounts[i] - remaining[i],
            remaining[i],
            shares[i],
            earns[i],
        )
        for i in range(n)
    )
    subtotal = sum(amounts)
    payable = sum(remaining)
    return Evaluation(
        "ruyi-health",
        version,
        outcomes,
        subtotal,
        subtotal - payable,
        payable,
        points,
        (),
        NO_REDEMPTION,
        free_units,
        (),
        tuple(nudges),
    )


def _buy2_get1(lines, remaining, locked, taken) -> tuple[FreeUnits, ...]:  # type: ignore[no-untyped-def]
    """买二赠一 on tagged goods: units by value (remaining / q) high to low, every 3rd free."""
    units = {}
    for i, line in enumerate(lines):
        q, part = divmod(line.quantity, 1000)
        if q and not part and not locked[i] and remaining[i] > 0 and "买二赠一" in line.tags:
            units[i] = q
    if not units:
        return ()
    walk = [
        i
        for i in sorted(units, key=lambda i: (-Fraction(remaining[i], units[i]), i))
        for _ in range(units[i])
    ]
    free: dict[int, int] = {}
    for p in range(2, len(walk) - len(walk) % 3, 3):
        free[walk[p]] = free.get(walk[p], 0) + 1
    for i, count in free.items():
        q = units[i]
        off = (remaining[i] * count * 2 + q) // (2 * q)  # round half up
        if off:
            remaining[i] -= off
            taken[i].append(Discount("tagged_321", "rule", off))
    return (FreeUnits("tagged_321", 1),) if len(walk) % 3 == 2 else ()


def _is_birthday(b: date, today: date) -> bool:
    if b.month == 2 and b.day == 29:
        leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
        if not leap:
            return today.month == 2 and today.day == 28
    return b.month == today.month and b.day == today.day


def _spread(
    amount: int, idx: list[int], remaining: list[int], taken: list[list[tuple[str, int]]], rule: str
) -> None:
    weights = [remaining[i] for i in idx]
    total = sum(weights)
    shares = []
    rems = []
    for w in weights:
        q, r = divmod(amount * w, total)
        shares.append(q)
        rems.append(r)
    left = amount - sum(shares)
    if left:
        for k in sorted(range(len(idx)), key=lambda k: (-rems[k], -weights[k], k))[:left]:
            shares[k] += 1
    for i, s in zip(idx, shares, strict=True):
        if s:
            remaining[i] -= s
            taken[i].append(Discount(rule, "rule", s))
