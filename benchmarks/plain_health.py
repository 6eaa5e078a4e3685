"""The health programme by hand over plain values: the floor the engine is compared with end to end.

Where :mod:`benchmarks.handwritten_health` returns the engine's own result objects (so
``evaluate()`` is compared on equal output), this one is what an expert would write for
one programme with no engine at all: the wire's values read into dicts and ints, the
rules of ``rulesets/health/`` coded inline (clearance 6折 exclusive, the protein
member price, A类 9.5折 for gold and above, 买二赠一 on tagged goods with its "one more is
free" prompt, 满300减30 on A类 with largest-remainder
spreading and its nudge, member day and birthday double points, tier rates, no points on gift cards),
and the reply filled from those ints. No validation, no explanation, no coupons or
redemption (the benchmark baskets have none): it is a floor, not a rival. The benchmark
checks its reply equals the engine's before timing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from server._pb.promo.v1 import promo_pb2 as pb

__all__ = ["evaluate_plain", "price_wire_by_hand", "read_wire", "reply_by_hand"]

_SHANGHAI = timezone(timedelta(hours=8))
_TIER_RANK = {"normal": 0, "silver": 1, "gold": 2, "diamond": 3}
_TIER_POINTS = {"normal": (1, 100), "silver": (6, 500), "gold": (3, 200), "diamond": (3, 100)}
_A300_FROM, _A300_TO = date(2026, 1, 1), date(2026, 12, 31)


def read_wire(msg: pb.EvaluateRequest) -> dict[str, Any]:
    """The request's values as plain dicts, strings and ints."""
    member = None
    if msg.HasField("member"):
        m = msg.member
        member = {"tier": m.tier, "birthday": date.fromisoformat(m.birthday) if m.birthday else None}
    lines = [
        {
            "id": w.id,
            "sku": w.sku,
            "category": w.category,
            "tags": set(w.tags),
            "price": w.unit_price_fen,
            "qty": w.quantity_milli,
        }
        for w in msg.lines
    ]
    return {"at": datetime.fromisoformat(msg.time), "member": member, "lines": lines}


def evaluate_plain(basket: dict[str, Any]) -> dict[str, Any]:
    """Per line amount, discount, net, points and whether it earns; the totals and points earned."""
    local = basket["at"].astimezone(_SHANGHAI)
    today = local.date()
    member = basket["member"]
    rank = _TIER_RANK[member["tier"]] if member is not None else -1
    lines = basket["lines"]
    n = len(lines)
    amounts, remaining, locked = [0] * n, [0] * n, [False] * n
    for i, line in enumerate(lines):
        q = line["qty"]
        left = amounts[i] = (line["price"] * q * 2 + 1000) // 2000  # round half up
        if "临期" in line["tags"]:
            left -= (left * 4 + 5) // 10  # 6折: 40% off, half up; exclusive
            locked[i] = True
        else:
            if line["sku"] == "TCBJ-DBF-450" and rank >= 0:
                left = min(left, (16800 * q * 2 + 1000) // 2000)
            if line["category"] == "A类" and rank >= 2:
                left -= (left * 2 + 20) // 40  # 5% half up
        remaining[i] = left
    free_units = _buy2_get1(lines, remaining, locked)
    nudges: list[int] = []
    if _A300_FROM <= today <= _A300_TO:
        eligible = [
            i for i in range(n) if not locked[i] and remaining[i] > 0 and lines[i]["category"] == "A类"
        ]
        subtotal = sum(remaining[i] for i in eligible)
        if subtotal >= 30000:
            _spread(3000, eligible, remaining)
        else:  # the nudge: how much more A类 would trigger 满300减30
            nudges.append(30000 - subtotal)
    shares, earns, earned = [0] * n, [False] * n, 0
    if member is not None:
        num, den = _TIER_POINTS[member["tier"]]
        if local.day == 15:
            num *= 2
        b = member["birthday"]
        if b is not None and _is_birthday(b, today):
            num *= 2
        earns = [line["category"] != "礼品卡" for line in lines]
        earning = [i for i in range(n) if earns[i] and remaining[i]]
        earned = sum(remaining[i] for i in earning) * num // den
        fractions = [0] * n
        for i in earning:
            shares[i], fractions[i] = divmod(remaining[i] * num, den)
        short = earned - sum(shares)
        if short > 0:
            for k in sorted(earning, key=lambda k: (-fractions[k], -remaining[k], k))[:short]:
                shares[k] += 1
    subtotal, payable = sum(amounts), sum(remaining)
    return {
        "lines": [
            (lines[i]["id"], amounts[i], amounts[i] - remaining[i], remaining[i], shares[i], earns[i])
            for i in range(n)
        ],
        "subtotal": subtotal,
        "discount": subtotal - payable,
        "payable": payable,
        "earned": earned,
        "free_units": free_units,
        "nudges": nudges,
    }


def reply_by_hand(result: dict[str, Any], name: str, version: str, digest: str, tid: str) -> pb.EvaluateReply:
    """The reply Evaluate sends without explain or invoice, filled from the plain result."""
    reply = pb.EvaluateReply(
        ruleset={"name": name, "version": version, "digest": digest},
        transaction_id=tid,
        subtotal_fen=result["subtotal"],
        discount_fen=result["discount"],
        payable_fen=result["payable"],
        redemption={"points": 0, "value_fen": 0},
    )
    add = reply.lines.add
    for line_id, amount, discount, net, points, earns in result["lines"]:
        add(
            line_id=line_id,
            amount_fen=amount,
            discount_fen=discount,
            net_fen=net,
            points=points,
            earns_points=earns,
        )
    reply.points.earned = result["earned"]
    for rule, units in result["free_units"]:
        reply.free_units.add(rule=rule, units=units)
    for missing in result["nudges"]:
        text = f"{missing // 100}.{missing % 100:02d} more of A类 for A类商品 满300减30"
        reply.nudges.add(
            source="a_class_300_30", label="A类商品 满300减30", missing_fen=missing, measure="subtotal",
            threshold_fen=30000, scope="A类", text=text,
        )  # fmt: skip
    return reply


def price_wire_by_hand(msg: pb.EvaluateRequest, name: str, version: str, digest: str) -> pb.EvaluateReply:
    """End to end: the wire's request to the wire's reply."""
    return reply_by_hand(evaluate_plain(read_wire(msg)), name, version, digest, msg.transaction_id)


def _buy2_get1(
    lines: list[dict[str, Any]], remaining: list[int], locked: list[bool]
) -> list[tuple[str, int]]:
    """买二赠一 on tagged goods: units by value (remaining / q) high to low, every 3rd free."""
    units = {}
    for i, line in enumerate(lines):
        q, part = divmod(line["qty"], 1000)
        if q and not part and not locked[i] and remaining[i] > 0 and "买二赠一" in line["tags"]:
            units[i] = q
    if not units:
        return []
    walk = [
        i
        for i in sorted(units, key=lambda i: (-Fraction(remaining[i], units[i]), i))
        for _ in range(units[i])
    ]
    free: dict[int, int] = {}
    for p in range(2, len(walk) - len(walk) % 3, 3):
        free[walk[p]] = free.get(walk[p], 0) + 1
    for i, count in free.items():
        remaining[i] -= (remaining[i] * count * 2 + units[i]) // (2 * units[i])  # round half up
    return [("tagged_321", 1)] if len(walk) % 3 == 2 else []


def _is_birthday(b: date, today: date) -> bool:
    if b.month == 2 and b.day == 29:
        leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
        if not leap:
            return today.month == 2 and today.day == 28
    return b.month == today.month and b.day == today.day


def _spread(amount: int, idx: list[int], remaining: list[int]) -> None:
    """Take ``amount`` off the lines ``idx`` in proportion to what is left, largest remainder first."""
    weights = [remaining[i] for i in idx]
    total = sum(weights)
    shares, rems = [], []
    for w in weights:
        q, r = divmod(amount * w, total)
        shares.append(q)
        rems.append(r)
    for k in sorted(range(len(idx)), key=lambda k: (-rems[k], -weights[k], k))[: amount - sum(shares)]:
        shares[k] += 1
    for i, s in zip(idx, shares, strict=True):
        remaining[i] -= s
