"""Budget use per campaign and day, against each campaign's budget (the candidate's campaigns).

A campaign's money budget counts the discount fen of its own rules and coupons; a use is a
sale in which one of them took a fen or gave points (engine.evaluate.budget_caps, PRODUCT.md
"Budgets and limits"). ``per day`` budgets are compared day by day; ``per campaign`` and
``uses`` budgets with the running total from the first day of the backtest (use before the
period is not counted, so a campaign that started earlier has less left than shown). The
after side is what the candidate's rules would take on each sale with the budget the sale
saw when it was made; a day over its budget is one on which the live engine caps the discount.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.money import format_fen
from engine.rules import Campaign, Ruleset

__all__ = ["budget_rows", "budget_text", "campaign_sources", "describe_budget"]


def campaign_sources(ruleset: Ruleset) -> dict[str, str]:
    """Rule id and ``coupon:<id>`` -> the campaign it belongs to (programme-file ones are left out)."""
    out = {r.id: r.campaign for r in ruleset.rules if r.campaign}
    out.update((f"coupon:{c.id}", c.campaign) for c in ruleset.coupons if c.campaign)
    return out


def budget_rows(
    budget: dict[tuple[str, str], list[int]], campaigns: Iterable[Campaign]
) -> list[dict[str, Any]]:
    """One entry per campaign that was used or has a budget, with its days in order."""
    out = []
    for campaign in sorted(campaigns, key=lambda c: c.id):
        days = sorted((day, row) for (cid, day), row in budget.items() if cid == campaign.id)
        has_budget = campaign.budget_fen is not None or campaign.budget_uses is not None
        if not days and not has_budget:
            continue
        per_day = campaign.budget_period == "day"
        running = [0, 0, 0, 0]
        rows, first_over = [], [None, None]
        for day, (fen_b, fen_a, uses_b, uses_a) in days:
            for k, v in enumerate((fen_b, fen_a, uses_b, uses_a)):
                running[k] += v
            over = []
            for side in (0, 1):
                fen = (fen_b, fen_a)[side] if per_day else running[side]
                o = campaign.budget_fen is not None and fen > campaign.budget_fen
                o = o or (campaign.budget_uses is not None and running[2 + side] > campaign.budget_uses)
                if o and first_over[side] is None:
                    first_over[side] = day
                over.append(o)
            rows.append(
                {
                    "day": day,
                    "discount_fen_before": fen_b,
                    "discount_fen_after": fen_a,
                    "uses_before": uses_b,
                    "uses_after": uses_a,
                    "running_fen_before": running[0],
                    "running_fen_after": running[1],
                    "over_before": over[0],
                    "over_after": over[1],
                }
            )
        out.append(
            {
                "campaign": campaign.id,
                "label": campaign.label,
                "budget_fen": campaign.budget_fen,
                "budget_period": campaign.budget_period if campaign.budget_fen is not None else None,
                "budget_uses": campaign.budget_uses,
                "discount_fen_before": running[0],
                "discount_fen_after": running[1],
                "uses_before": running[2],
                "uses_after": running[3],
                "first_day_over_before": first_over[0],
                "first_day_over_after": first_over[1],
                "days": rows,
            }
        )
    return out


def describe_budget(entry: dict[str, Any]) -> str:
    """``budget 500.00 per day`` / ``budget 1000 uses`` / ``no budget``."""
    parts = []
    if entry["budget_fen"] is not None:
        parts.append(f"budget {format_fen(entry['budget_fen'])} per {entry['budget_period']}")
    if entry["budget_uses"] is not None:
        parts.append(f"budget {entry['budget_uses']} uses")
    return ", ".join(parts) or "no budget"


def budget_text(entries: list[dict[str, Any]]) -> list[str]:
    """The terminal lines: per campaign its budget and totals, then each day's use."""
    if not entries:
        return []
    out = ["  campaign budget use per day (discount before -> after, uses before -> after):"]
    for e in entries:
        over = e["first_day_over_after"]
        verdict = f"over from {over}" if over else "within budget"
        if e["budget_fen"] is None and e["budget_uses"] is None:
            verdict = "no budget"
        out.append(
            f"    {e['campaign']} ({describe_budget(e)}): {format_fen(e['discount_fen_before'])} -> "
            f"{format_fen(e['discount_fen_after'])}, {e['uses_before']} -> {e['uses_after']} uses; {verdict}"
        )
        for d in e["days"]:
            mark = "  OVER" if d["over_after"] else ""
            fen = f"{format_fen(d['discount_fen_before']):>12} -> {format_fen(d['discount_fen_after']):>12}"
            out.append(f"      {d['day']} {fen}  {d['uses_before']} -> {d['uses_after']} uses{mark}")
    return out
