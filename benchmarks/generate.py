"""Synthetic rulesets and baskets for the benchmarks, built so sizes compare fairly.

A generated ruleset of N rules covers N/5 categories, each with the same five rules
(a 9.5折, a member price on the category's own SKU, a member-day amount off, a 满减
and a bonus on that SKU): the way a real programme grows, more rules mean more goods
covered, not more rules per good. A basket's lines come from the first two categories
(present at every size), so a basket meets exactly the same rules at 10 rules as at
1,000, and any growth in time is the cost of finding them among the others (the
index), not of applying more of them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from fractions import Fraction

from engine.model import Line, Member, Request, TaxRate

__all__ = ["generated_request", "generated_ruleset"]

_TZ = timezone(timedelta(hours=8))
_RATES = (TaxRate(Fraction(13, 100)), TaxRate(Fraction(9, 100)), TaxRate(Fraction(0), "exempt"))
_HEADER = """ruleset "generated-{n}" {{
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1, rounding floor, multipliers multiply
  redeem 100 points per_yuan, cap 50%
}}
tier normal "普通会员" points x1.0
tier silver "银卡" points x1.2
tier gold "金卡" points x1.5 upgrade when lifetime_spend >= 7000.00
no_points when item.category in ["tobacco", "gift_card"]
rule member_day "会员日" {{
  when day_of_month = 15
  then points x2
}}
"""
_PER_CATEGORY = (
    ('when item.category = "cat{c}"', "then item discount 9.5折"),
    ('when item.sku = "sku{c}" and member.tier >= silver', "then item price 19.90"),
    ('when item.category = "cat{c}" and day_of_month = 15', "then item discount 2.00 each"),
    (
        'when subtotal(item.category = "cat{c}") >= 100.00',
        'then basket discount 10.00 over item.category = "cat{c}"',
    ),
    ("when member.tier >= silver", 'then bonus 50 points over item.sku = "sku{c}"'),
)


def generated_ruleset(n_rules: int, variant: int = 0) -> str:
    """DSL text of a ruleset with ``n_rules`` rules (a multiple of five, at least ten).

    ``variant`` changes a comment only: another version (digest) of the same rules, for reloads.
    """
    out = [_HEADER.format(n=n_rules), f"# variant {variant}\n"]
    for c in range(max(2, n_rules // len(_PER_CATEGORY))):
        for k, (when, then) in enumerate(_PER_CATEGORY):
            out.append(f'rule c{c}_{k} "规则 {c}-{k}" {{\n  {when.format(c=c)}\n  {then.format(c=c)}\n}}\n')
    return "".join(out)


def generated_request(n_lines: int, seed: int = 11) -> Request:
    """A basket of ``n_lines`` lines from categories cat0 and cat1, some on their rules' SKUs."""
    rnd = random.Random(seed * 1000 + n_lines)
    lines = []
    for k in range(n_lines):
        c = rnd.randrange(2)
        lines.append(
            Line(
                id=str(k + 1),
                name=f"商品{k}",
                unit_price=rnd.randrange(100, 30000),
                quantity=rnd.choice([1000, 1000, 2000, 3000, 1250]),
                tax=rnd.choice(_RATES),
                sku=f"sku{c}" if rnd.random() < 0.3 else f"other{k}",
                category=f"cat{c}",
            )
        )
    return Request(
        lines=tuple(lines), at=datetime(2026, 11, 15, 10, 30, tzinfo=_TZ), member=Member("gold", id="m1")
    )
