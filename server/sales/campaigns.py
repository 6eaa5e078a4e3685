"""A campaign and its budgets, used and left per period (GetCampaign, ``promo campaign status``).

The serving version says what the campaign is and what its budgets are; the ledger's usage
counters (server/storage/usage.py) say what committed sales used of them. Per-member use
limits are not listed here: they are one counter per member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.compiled import CompiledRuleset
from engine.rules import Campaign
from server.sales.budgets import period_key
from server.storage.store import Ledger

__all__ = ["BudgetStatus", "UnknownCampaign", "campaign_status", "find_campaign"]


class UnknownCampaign(LookupError):
    def __init__(self, programme: str, campaign: str, known: tuple[str, ...]) -> None:
        super().__init__(
            f"programme {programme!r} has no campaign {campaign!r} "
            f"(its campaigns: {', '.join(known) or 'none'})"
        )


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    kind: str  # "fen" or "uses"
    period: str
    period_key: str
    cap: int
    used: int

    @property
    def left(self) -> int:
        return max(self.cap - self.used, 0)


def find_campaign(compiled: CompiledRuleset, campaign_id: str) -> Campaign:
    for campaign in compiled.ruleset.campaigns:
        if campaign.id == campaign_id:
            return campaign
    raise UnknownCampaign(compiled.name, campaign_id, tuple(c.id for c in compiled.ruleset.campaigns))


def campaign_status(
    ledger: Ledger, compiled: CompiledRuleset, campaign: Campaign, day: date
) -> list[BudgetStatus]:
    """Each budget in the period of ``day`` first, then the other periods counted, newest first."""
    out: list[BudgetStatus] = []
    base = f"{compiled.name}|"
    if campaign.budget_fen is not None:
        period = campaign.budget_period
        current = period_key(period, day)
        rows = {r["key"].rsplit("|", 1)[1]: r for r in ledger.usage_status(f"{base}fen|{campaign.id}|")}
        now = rows.pop(current, None)
        out.append(BudgetStatus("fen", period, current, campaign.budget_fen, now["used"] if now else 0))
        for key in sorted(rows, reverse=True):
            out.append(BudgetStatus("fen", period, key, rows[key]["cap"], rows[key]["used"]))
    if campaign.budget_uses is not None:
        rows = {r["key"]: r for r in ledger.usage_status(f"{base}uses|{campaign.id}|")}
        row = rows.get(f"{base}uses|{campaign.id}|all")
        out.append(BudgetStatus("uses", "campaign", "all", campaign.budget_uses, row["used"] if row else 0))
    return out
