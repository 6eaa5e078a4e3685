"""What a backtest adds up, mergeable across worker processes, and its terminal and JSON forms.

Money stays integer fen; a points liability is points x 100 / rate fen, rounded half up once
per total. Sources are a rule id, ``coupon:<id>`` or ``points`` (redemption), as the engine
records every discount fen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from engine.model import Evaluation
from engine.money import format_fen, round_half_up

__all__ = ["SAMPLE_SIZE", "Summary", "explain"]

SAMPLE_SIZE = 8


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

    def add(self, tid: str, day: str, before: Evaluation, after: Evaluation) -> None:
        self.sales += 1
        self.discount[0] += before.discount
        self.discount[1] += after.discount
        self.points[0] += before.points.earned
        self.points[1] += after.points.earned
        self.redeemed[0] += before.redemption.points
        self.redeemed[1] += after.redemption.points
        days = self.by_day.setdefault(day, [0, 0])
        days[0] += before.discount
        days[1] += after.discount
        for side, result in ((0, before), (1, after)):
            seen = set()
            for line in result.lines:
                for d in line.discounts:
                    row = self.by_source.setdefault(d.source, [0, 0, 0, 0])
                    row[side] += d.fen
                    seen.add(d.source)
            for source in seen:
                self.by_source[source][2 + side] += 1
            for b in result.points.bonuses:
                self.bonus.setdefault(b.rule, [0, 0])[side] += b.points
        if before.discount != after.discount or before.points.earned != after.points.earned:
            self.changed += 1
            self.deltas[after.discount - before.discount] += 1
            if len(self.samples) < SAMPLE_SIZE:
                self.samples.append(
                    {
                        "transaction_id": tid,
                        "day": day,
                        "discount_before": before.discount,
                        "discount_after": after.discount,
                        "points_before": before.points.earned,
                        "points_after": after.points.earned,
                        "before": explain(before),
                        "after": explain(after),
                    }
                )

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
        self.deltas.update(other.deltas)
        self.samples.extend(other.samples[: max(0, SAMPLE_SIZE - len(self.samples))])

    # ------------------------------------------------------------------ outputs

    def liability(self, points: int, rate: int | None) -> int | None:
        """Fen the points are worth at the candidate's redemption rate (None: no redemption)."""
        return None if not rate else round_half_up(points * 100, rate)

    def sources_by_delta(self) -> list[tuple[str, list[int]]]:
        """Sources, the largest change in cost first (then by id)."""
        return sorted(self.by_source.items(), key=lambda kv: (-abs(kv[1][1] - kv[1][0]), kv[0]))

    def to_json(self, rate: int | None, meta: dict[str, Any]) -> dict[str, Any]:
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
            "samples": self.samples,
        }

    def text(self, rate: int | None, meta: dict[str, Any]) -> str:
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


def _factor(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
