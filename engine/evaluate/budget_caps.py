"""Budgets inside an evaluation: a campaign's money budget caps what its rules take, and the notes.

The stages call :func:`cap` where they write a discount of a rule or coupon whose campaign
has a money budget in ``ctx.budget`` (engine.usage.UsageLeft.money_left); what it left
out, and the rules and coupons a limit skipped, become ``Evaluation.notes``.
"""

from __future__ import annotations

from engine.context import Context
from engine.money import format_fen
from engine.usage import UsageLeft, UsageNote

__all__ = ["cap", "notes"]


def notes(usage: UsageLeft, ctx: Context, coupons: tuple[str, ...]) -> tuple[UsageNote, ...]:
    """What the limits and budgets did: the rules and presented coupons skipped, then the capped."""
    skipped = [
        UsageNote(source, "skipped", why)
        for source, why in sorted(usage.blocked.items())
        if not source.startswith("coupon:") or source[7:] in coupons
    ]
    return (*skipped, *ctx.notes)


def cap(ctx: Context, source: str, campaign: str, fen: int) -> int:
    """``fen`` within what is left of ``campaign``'s money budget (ctx.budget), which it uses up."""
    budget = ctx.budget
    left = budget[campaign]  # type: ignore[index]
    if fen <= left:
        budget[campaign] = left - fen  # type: ignore[index]
        return fen
    budget[campaign] = 0  # type: ignore[index]
    if not any(n.source == source for n in ctx.notes):
        ctx.notes.append(
            UsageNote(
                source,
                "capped",
                f"campaign '{campaign}' budget: {format_fen(left)} left "
                f"of the {format_fen(fen)} it would take",
            )
        )
    return left
