"""Which budget and limit counters a sale touches, what is left of them, and what a sale consumes.

The policy half of budgets and limits (PRODUCT.md "Budgets and limits"); the SQL is in
server/storage/usage.py and the pricing in the engine (engine.usage). A counter is one
key per (programme, what is counted, period):

* ``limit N per member per day|week|month|campaign`` on a rule or coupon: one use per sale
  that used it (took a fen, or gave points), per member and calendar period;
* ``budget AMOUNT per day|campaign`` on a campaign: the fen its rules and coupons took;
* ``budget N uses`` on a campaign: one use per sale that used any of its rules or coupons.

Periods are calendar periods in the programme's timezone: the day, the ISO week, the month,
or the whole campaign.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from weakref import WeakKeyDictionary

from engine.compiled import CompiledRuleset
from engine.model import Evaluation
from engine.money import format_fen
from engine.rules import Limit
from engine.usage import UsageLeft, coupon_source
from server.storage.results import UsageTake

__all__ = ["BudgetPlan", "Counter", "budget_plan", "period_key"]


def period_key(period: str, day: date) -> str:
    """The calendar period ``day`` falls in."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return "all"


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    kind: str  # "uses" or "fen"
    cap: int
    what: str  # the campaign or rule, as a person reads it in an error
    sources: frozenset[str]  # the rule ids and coupon:CODEs it counts
    campaign: str | None  # the campaign whose money budget it is (fen counters)
    campaign_wide: bool = True  # every till's (a budget), not one member's (a limit): stored striped


@dataclass(frozen=True, slots=True)
class _Limited:
    source: str
    limit: Limit


class BudgetPlan:
    """The counters of one compiled programme version (built once per version)."""

    def __init__(self, compiled: CompiledRuleset) -> None:
        ruleset = compiled.ruleset
        self.programme = compiled.name
        self.limited: list[_Limited] = [_Limited(r.id, r.limit) for r in ruleset.rules if r.limit]
        self.limited += [_Limited(coupon_source(c.id), c.limit) for c in ruleset.coupons if c.limit]
        sources: dict[str, set[str]] = {}
        for r in ruleset.rules:
            if r.campaign:
                sources.setdefault(r.campaign, set()).add(r.id)
        for c in ruleset.coupons:
            if c.campaign:
                sources.setdefault(c.campaign, set()).add(coupon_source(c.id))
        self.budgeted = [
            (c, frozenset(sources.get(c.id, ())))
            for c in ruleset.campaigns
            if c.budget_fen is not None or c.budget_uses is not None
        ]
        self.active = bool(self.limited or self.budgeted)
        self._campaigns_by_day: dict[date, list[Counter]] = {}  # every commit asks for the same few days

    def counters(self, member_id: str | None, day: date) -> list[Counter]:
        """Every counter a sale on ``day`` (local) for ``member_id`` (None: a guest) may touch."""
        p = self.programme
        out = []
        campaigns = self._campaigns_by_day.get(day)
        if campaigns is None:
            if len(self._campaigns_by_day) > 8:
                self._campaigns_by_day.clear()
            campaigns = self._campaigns_by_day[day] = self._campaign_counters(day)
        if member_id is not None:  # a per-member limit cannot count a guest
            for item in self.limited:
                lim = item.limit
                out.append(
                    Counter(
                        f"{p}|limit|{item.source}|{member_id}|{period_key(lim.period, day)}",
                        "uses",
                        lim.count,
                        f"{_name(item.source)} (limit {lim.count} per member per {lim.period})",
                        frozenset((item.source,)),
                        None,
                        campaign_wide=False,
                    )
                )
        return out + campaigns

    def _campaign_counters(self, day: date) -> list[Counter]:
        p = self.programme
        out = []
        for campaign, sources in self.budgeted:
            if campaign.budget_uses is not None:
                out.append(
                    Counter(
                        f"{p}|uses|{campaign.id}|all",
                        "uses",
                        campaign.budget_uses,
                        f"campaign '{campaign.id}' (budget {campaign.budget_uses} uses)",
                        sources,
                        None,
                    )
                )
            if campaign.budget_fen is not None:
                period = campaign.budget_period
                out.append(
                    Counter(
                        f"{p}|fen|{campaign.id}|{period_key(period, day)}",
                        "fen",
                        campaign.budget_fen,
                        f"campaign '{campaign.id}' (budget {format_fen(campaign.budget_fen)} per {period})",
                        sources,
                        campaign.id,
                    )
                )
        return out

    @staticmethod
    def usage_left(counters: list[Counter], used: dict[str, int]) -> UsageLeft:
        """What the engine may still use, given each counter's ``used``."""
        blocked: dict[str, str] = {}
        money: dict[str, int] = {}
        for counter in counters:
            left = counter.cap - used.get(counter.key, 0)
            if counter.kind == "fen" and left > 0:
                money[counter.campaign] = left  # type: ignore[index]
            elif left <= 0:
                why = f"{counter.what} is used up"
                for source in sorted(counter.sources):
                    blocked.setdefault(source, why)
        return UsageLeft(blocked, money)

    @staticmethod
    def takes(counters: list[Counter], evaluation: Evaluation) -> tuple[UsageTake, ...]:
        """What a priced sale consumes of each counter it used (nothing for counters it did not)."""
        fen: dict[str, int] = {}
        per_line: dict[str, dict[str, int]] = {}
        for line in evaluation.lines:
            for d in line.discounts:
                fen[d.source] = fen.get(d.source, 0) + d.fen
                bucket = per_line.setdefault(d.source, {})
                bucket[line.line_id] = bucket.get(line.line_id, 0) + d.fen
        used = {s for s, f in fen.items() if f > 0}
        used.update(m.rule for m in evaluation.points.multipliers)
        used.update(b.rule for b in evaluation.points.bonuses if b.points)
        out = []
        for counter in counters:
            if not counter.sources & used:
                continue
            shared = counter.campaign_wide
            if counter.kind == "uses":
                out.append(UsageTake(counter.key, 1, counter.cap, counter.what, shared=shared))
                continue
            lines: dict[str, int] = {}
            for source in counter.sources:
                for line_id, f in per_line.get(source, {}).items():
                    lines[line_id] = lines.get(line_id, 0) + f
            amount = sum(lines.values())
            if amount > 0:
                lines_json = json.dumps(lines, sort_keys=True)
                out.append(UsageTake(counter.key, amount, counter.cap, counter.what, lines_json, shared))
        return tuple(sorted(out, key=lambda t: t.key))  # one lock order for every till


def _name(source: str) -> str:
    return f"coupon '{source[7:]}'" if source.startswith("coupon:") else f"rule '{source}'"


_plans: WeakKeyDictionary[CompiledRuleset, BudgetPlan] = WeakKeyDictionary()
_lock = threading.Lock()


def budget_plan(compiled: CompiledRuleset) -> BudgetPlan:
    """The plan of ``compiled`` (cached for as long as the version is)."""
    plan = _plans.get(compiled)
    if plan is None:
        plan = BudgetPlan(compiled)
        with _lock:
            _plans[compiled] = plan
    return plan
