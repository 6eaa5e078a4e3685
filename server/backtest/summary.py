"""What a backtest adds up, mergeable across worker processes, and its terminal and JSON forms.

Money stays integer fen; a points liability is points x 100 / rate fen, rounded half up once
per total. Sources are a rule id, ``coupon:<id>`` or ``points`` (redemption), as the engine
records every discount fen. A sale's side is an :class:`Outcome`: the few figures the totals
need, read from an engine evaluation or straight from the reply a sale stored. Campaign budget
use is added up per campaign and day (:mod:`server.backtest.budgets` prints it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

from engine.model import Evaluation
from engine.money import format_fen, round_half_up
from engine.rules import Campaign
from server.backtest.budgets import budget_rows, budget_text

__all__ = ["SAMPLE_SIZE", "Outcome", "Summary", "explain", "outcome_of", "stored_outcome"]

SAMPLE_SIZE = 8


class Outcome(NamedTuple):
    """One side of a sale as the totals see it."""

    discount: int
    earned: int
    redeemed: int
    sources: dict[str, int]  # discount fen per rule, coupon:<id> or points, over every line
    bonuses: tuple[tuple[str, int], ...]  # (rule, bonus points)
    points_rules: tuple[str, ...]  # rules that gave points (bonuses and multipliers): a campaign use
    explained: Callable[[], list[str]]  # the side-by-side explanation, built only for a sample


def outcome_of(result: Evaluation) -> Outcome:
    """The outcome of an engine evaluation."""
    sources: dict[str, int] = {}
    for line in result.lines:
        for d in line.discounts:
            sources[d.source] = sources.get(d.source, 0) + d.fen
    points = result.points
    bonuses = tuple((b.rule, b.points) for b in points.bonuses)
    rules = tuple(b.rule for b in points.bonuses) + tuple(m.rule for m in points.multipliers)
    return Outcome(
        result.discount,
        points.earned,
        result.redemption.points,
        sources,
        bonuses,
        rules,
        lambda: explain(result),
    )


def stored_outcome(reply: dict[str, Any]) -> Outcome:
    """The outcome a sale's stored reply records (``MessageToDict`` of an explained EvaluateReply)."""
    sources: dict[str, int] = {}
    for line in reply.get("lines", ()):
        for d in line.get("discounts", ()):
            source = d["source"]
            sources[source] = sources.get(source, 0) + int(d.get("fen", 0))
    points = reply.get("points", {})
    bonuses = tuple((b["rule"], int(b.get("points", 0))) for b in points.get("bonuses", ()))
    rules = tuple(b[0] for b in bonuses) + tuple(m["rule"] for m in points.get("multipliers", ()))
    return Outcome(
        int(reply.get("discountFen", 0)),
        int(points.get("earned", 0)),
        int(reply.get("redemption", {}).get("points", 0)),
        sources,
        bonuses,
        rules,
        lambda: _explain_stored(reply),
    )


@dataclass
class Summary:
    """The totals of a backtest; ``merge`` adds another worker's."""

    sales: int = 0
    changed: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # "before: reason" / "after: reason"
    discount: list[int] = field(default_factory=lambda: [0, 0])  # fen, before and after
    points: list[int] = field(default_factory=lambda: [0, 0])  # earned
    redeemed: list[int] = field(default_factory=lambda: [0, 0])  # points spent at the till
    by_source: dict[str, list[int]] = field(default_factory=dict)  # fen before, after; sales before, after
    bonus: dict[str, list[int]] = field(default_factory=dict)  # bonus points by rule, before and after
    by_day: dict[str, list[int]] = field(default_factory=dict)  # discount fen before, after
    deltas: Counter[int] = field(default_factory=Counter)  # discount after - before, per changed sale
    samples: list[dict[str, Any]] = field(default_factory=list)
    # rule id or coupon:<id> -> its campaign (the candidate's), so budget use adds up per campaign
    campaign_of: dict[str, str] = field(default_factory=dict)
    # (campaign, day) -> discount fen before, after; sales that used the campaign before, after
    budget: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, tid: str, day: str, before: Outcome, after: Outcome) -> None:
        self.sales += 1
        self.discount[0] += before.discount
        self.discount[1] += after.discount
        self.points[0] += before.earned
        self.points[1] += after.earned
        self.redeemed[0] += before.redeemed
        self.redeemed[1] += after.redeemed
        days = self.by_day.setdefault(day, [0, 0])
        days[0] += before.discount
        days[1] += after.discount
        campaign_of = self.campaign_of
        for side, result in ((0, before), (1, after)):
            for source, fen in result.sources.items():
                row = self.by_source.get(source)
                if row is None:
                    row = self.by_source[source] = [0, 0, 0, 0]
                row[side] += fen
                row[2 + side] += 1
            for rule, points in result.bonuses:
                self.bonus.setdefault(rule, [0, 0])[side] += points
            if campaign_of:
                self._use(campaign_of, day, side, result)
        if before.discount != after.discount or before.earned != after.earned:
            self.changed += 1
            self.deltas[after.discount - before.discount] += 1
            if len(self.samples) < SAMPLE_SIZE:
                self.samples.append(
                    {
                        "transaction_id": tid,
                        "day": day,
                        "discount_before": before.discount,
                        "discount_after": after.discount,
                        "points_before": before.earned,
                        "points_after": after.earned,
                        "before": before.explained(),
                        "after": after.explained(),
                    }
                )

    def _use(self, campaign_of: dict[str, str], day: str, side: int, result: Outcome) -> None:
        """What one side of a sale used of each campaign: its discount fen, and one use."""
        used: set[str] = set()
        for source, fen in result.sources.items():
            campaign = campaign_of.get(source)
            if campaign is not None:
                self.budget.setdefault((campaign, day), [0, 0, 0, 0])[side] += fen
                used.add(campaign)
        for rule in result.points_rules:
            campaign = campaign_of.get(rule)
            if campaign is not None:
                used.add(campaign)
        for campaign in used:
            self.budget.setdefault((campaign, day), [0, 0, 0, 0])[2 + side] += 1

    def fail(self, side: str, reason: str) -> None:
        self.sales += 1
        self.failed[f"{side}: {reason}"] += 1

    def merge(self, other: Summary) -> None:
        self.sales += other.sales
        self.changed += other.changed
        self.failed.update(other.failed)
        for mine, theirs in ((self.discount, other.discount), (self.points, other.points)):
            mine[0] += theirs[0]
            mine[1] += theirs[1]
        self.redeemed[0] += other.redeemed[0]
        self.redeemed[1] += other.redeemed[1]
        for key, row in other.by_source.items():
            mine_row = self.by_source.setdefault(key, [0, 0, 0, 0])
            for k in range(4):
                mine_row[k] += row[k]
        for mine_table, theirs_table in ((self.bonus, other.bonus), (self.by_day, other.by_day)):
            for key, row in theirs_table.items():
                mine_row = mine_table.setdefault(key, [0, 0])
                mine_row[0] += row[0]
                mine_row[1] += row[1]
        for key, row in other.budget.items():
            mine_row = self.budget.setdefault(key, [0, 0, 0, 0])
            for k in range(4):
                mine_row[k] += row[k]
        self.deltas.update(other.deltas)
        self.samples.extend(other.samples[: max(0, SAMPLE_SIZE - len(self.samples))])

    # ------------------------------------------------------------------ outputs

    def liability(self, points: int, rate: int | None) -> int | None:
        """Fen the points are worth at the candidate's redemption rate (None: no redemption)."""
        return None if not rate else round_half_up(points * 100, rate)

    def sources_by_delta(self) -> list[tuple[str, list[int]]]:
        """Sources, the largest change in cost first (then by id)."""
        return sorted(self.by_source.items(), key=lambda kv: (-abs(kv[1][1] - kv[1][0]), kv[0]))

    def to_json(
        self, rate: int | None, meta: dict[str, Any], campaigns: tuple[Campaign, ...] = ()
    ) -> dict[str, Any]:
        return {
            **meta,
            "sales": self.sales,
            "changed_sales": self.changed,
            "failed": dict(sorted(self.failed.items())),
            "discount_fen": {"before": self.discount[0], "after": self.discount[1]},
            "points": {
                "before": self.points[0],
                "after": self.points[1],
                "liability_fen_before": self.liability(self.points[0], rate),
                "liability_fen_after": self.liability(self.points[1], rate),
                "redeemed_before": self.redeemed[0],
                "redeemed_after": self.redeemed[1],
            },
            "sources": [
                {
                    "source": source,
                    "discount_fen_before": row[0],
                    "discount_fen_after": row[1],
                    "sales_before": row[2],
                    "sales_after": row[3],
                }
                for source, row in self.sources_by_delta()
            ],
            "bonus_points": {rule: {"before": b, "after": a} for rule, (b, a) in sorted(self.bonus.items())},
            "days": [
                {"day": d, "discount_fen_before": b, "discount_fen_after": a}
                for d, (b, a) in sorted(self.by_day.items())
            ],
            "change_distribution": [{"delta_fen": k, "sales": v} for k, v in sorted(self.deltas.items())],
            "budgets": budget_rows(self.budget, campaigns),
            "samples": self.samples,
        }

    def text(self, rate: int | None, meta: dict[str, Any], campaigns: tuple[Campaign, ...] = ()) -> str:
        out = [
            f"backtest {meta['candidate']} against {meta['baseline']}, {meta['from']} to {meta['to']}: "
            f"{self.sales} sales, {self.changed} change"
        ]
        if self.failed:
            out.append("  not priced: " + "; ".join(f"{k} ({v})" for k, v in sorted(self.failed.items())))
        b, a = self.discount
        out.append(f"  discount   {format_fen(b):>14} -> {format_fen(a):>14}  ({_signed(a - b)})")
        pb_, pa = self.points
        out.append(f"  points     {pb_:>14} -> {pa:>14}  ({pa - pb_:+d})")
        lb, la = self.liability(pb_, rate), self.liability(pa, rate)
        if lb is not None and la is not None:
            out.append(f"  liability  {format_fen(lb):>14} -> {format_fen(la):>14}  ({_signed(la - lb)})")
        out.append("  per rule and coupon (discount before -> after, sales before -> after):")
        for source, (fb, fa, nb, na) in self.sources_by_delta():
            out.append(
                f"    {source:<28} {format_fen(fb):>12} -> {format_fen(fa):>12}  ({_signed(fa - fb)})"
                f"  {nb} -> {na} sales"
            )
        for rule, (bb, ba) in sorted(self.bonus.items()):
            out.append(f"    {rule:<28} bonus points {bb} -> {ba}")
        out.extend(budget_text(budget_rows(self.budget, campaigns)))
        if self.samples:
            out.append("  changed sales (a sample):")
            for s in self.samples:
                out.append(
                    f"    {s['transaction_id']} {s['day']}: discount {format_fen(s['discount_before'])} -> "
                    f"{format_fen(s['discount_after'])}, points {s['points_before']} -> {s['points_after']}"
                )
                for left, right in zip(s["before"], s["after"], strict=False):
                    out.append(f"      {left:<48} | {right}")
        return "\n".join(out)


def _signed(fen: int) -> str:
    return ("+" if fen >= 0 else "-") + format_fen(abs(fen))


def explain(result: Evaluation) -> list[str]:
    """One line per basket line, then the points: what each rule took, for side-by-side reading."""
    out = []
    for line in result.lines:
        taken = ", ".join(f"{d.source} {format_fen(d.fen)}" for d in line.discounts) or "no discount"
        out.append(f"line {line.line_id}: {format_fen(line.amount)} - ({taken}) = {format_fen(line.net)}")
    p = result.points
    out.append(f"points {p.earned} (base {p.base} x{_factor(p.factor)})")
    return out


def _explain_stored(reply: dict[str, Any]) -> list[str]:
    """:func:`explain` of a stored reply, line for line the same text."""
    out = []
    for line in reply.get("lines", ()):
        discounts = line.get("discounts", ())
        taken = ", ".join(f"{d['source']} {format_fen(int(d.get('fen', 0)))}" for d in discounts)
        out.append(
            f"line {line.get('lineId', '')}: {format_fen(int(line.get('amountFen', 0)))} - "
            f"({taken or 'no discount'}) = {format_fen(int(line.get('netFen', 0)))}"
        )
    p = reply.get("points", {})
    out.append(f"points {int(p.get('earned', 0))} (base {int(p.get('base', 0))} x{p.get('factor', '0')})")
    return out


def _factor(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
