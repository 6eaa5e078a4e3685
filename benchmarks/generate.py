"""Seeded synthetic rulesets and baskets for the benchmarks.

A generated ruleset of N rules covers N/5 categories and N/2 SKUs, the way a real
programme grows: more rules mean more goods covered, not more rules per good. So a
10-line basket meets about as many rules at 10 rules as at 1,000, and any growth in
time from 10 to 1,000 rules is the cost of finding them (the index), not of applying them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from fractions import Fraction

from engine.model import Line, Member, Request, TaxRate

__all__ = ["generated_request", "generated_ruleset"]

_TZ = timezone(timedelta(hours=8))
_RATES = (TaxRate(Fraction(13, 100)), TaxRate(Fraction(9, 100)), TaxRate(Fraction(0), "exempt"))


def _sizes(n_rules: int) -> tuple[int, int]:
    return max(2, n_rules // 5), max(4, n_rules // 2)


def generated_ruleset(n_rules: int, seed: int = 7) -> str:
    """DSL text of a ruleset with ``n_rules`` rules: 70% item, 20% 满减, 10% points."""
    rnd = random.Random(seed)
    categories, skus = _sizes(n_rules)
    out = [
        f'ruleset "generated-{n_rules}" {{',
        "  currency CNY",
        '  timezone "Asia/Shanghai"',
        "  points per_yuan 1, rounding floor, multipliers multiply",
        "  redeem 100 points per_yuan, cap 50%",
        "}",
        'tier normal "普通会员" points x1.0',
        'tier silver "银卡" points x1.2',
        'tier gold "金卡" points x1.5 upgrade when lifetime_spend >= 7000.00',
        'no_points when item.category in ["tobacco", "gift_card"]',
    ]
    for k in range(n_rules):
        roll = rnd.random()
        cat = f"cat{rnd.randrange(categories)}"
        sku = f"sku{rnd.randrange(skus)}"
        body: list[str] = []
        if rnd.random() < 0.3:
            body.append(f"priority {rnd.randrange(1, 5)}")
        if roll < 0.7:
            form = rnd.randrange(4)
            if form == 0:
                body += [
                    f'when item.category = "{cat}"',
                    f"then item discount {rnd.choice(['9.5', '9', '8.8', '9.8'])}折",
                ]
            elif form == 1:
                body += [
                    f'when item.sku = "{sku}" and member.tier >= silver',
                    f"then item price {rnd.randrange(5, 50)}.90",
                ]
            elif form == 2:
                body += [
                    f'when item.category = "{cat}" and day_of_month = 15',
                    "then item discount 2.00 each",
                ]
            else:
                body += [
                    f'when item.sku in ["{sku}", "sku{rnd.randrange(skus)}"]',
                    f"then item discount {rnd.randrange(3, 15)}%",
                ]
        elif roll < 0.9:
            threshold = rnd.choice([100, 200, 300])
            body += [
                f'when subtotal(item.category = "{cat}") >= {threshold}.00',
                f'then basket discount {threshold // 10}.00 over item.category = "{cat}"',
            ]
        else:
            body += [
                "when member.tier >= silver",
                f'then bonus {rnd.randrange(10, 100)} points over item.sku = "{sku}"',
            ]
        out.append(f'rule r{k} "规则 {k}" {{')
        out += [f"  {line}" for line in body]
        out.append("}")
    out.append('rule member_day "会员日" {\n  when day_of_month = 15\n  then points x2\n}')
    return "\n".join(out) + "\n"


def generated_request(n_rules: int, n_lines: int, seed: int = 11) -> Request:
    """A basket of ``n_lines`` lines drawn from the goods a generated ruleset covers."""
    rnd = random.Random(seed * 1000 + n_lines)
    categories, skus = _sizes(n_rules)
    lines = tuple(
        Line(
            id=str(k + 1),
            name=f"商品{k}",
            unit_price=rnd.randrange(100, 30000),
            quantity=rnd.choice([1000, 1000, 2000, 3000, 1250]),
            tax=rnd.choice(_RATES),
            sku=f"sku{rnd.randrange(skus)}",
            category=f"cat{rnd.randrange(categories)}",
        )
        for k in range(n_lines)
    )
    return Request(lines=lines, at=datetime(2026, 11, 15, 10, 30, tzinfo=_TZ), member=Member("gold", id="m1"))
