"""Tier movement: upgrades by lifetime or single-day spend, and what inactivity does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from engine.rules import Settings, Tier

__all__ = ["inactivity_verdict", "lower_tier", "upgraded_tier"]


def upgraded_tier(tiers: Sequence[Tier], current: str, lifetime_fen: int, day_fen: int) -> str:
    """The highest tier whose lifetime or single-day threshold is met, if above ``current``.

    Never a downgrade: a tier is only lowered by inactivity (:func:`lower_tier`). A
    current tier the ruleset no longer defines is kept as is (nothing to compare with).
    """
    ranks = {t.id: t.rank for t in tiers}
    if current not in ranks:
        return current
    best = current
    for tier in tiers:
        met = (tier.upgrade_lifetime is not None and lifetime_fen >= tier.upgrade_lifetime) or (
            tier.upgrade_single_day is not None and day_fen >= tier.upgrade_single_day
        )
        if met and tier.rank > ranks[best]:
            best = tier.id
    return best


def lower_tier(tiers: Sequence[Tier], current: str) -> str | None:
    """The tier one rank below ``current``; None at the lowest tier or for an unknown tier."""
    ranks = {t.id: t.rank for t in tiers}
    if current not in ranks:
        return None
    below = [t for t in tiers if t.rank < ranks[current]]
    return max(below, key=lambda t: t.rank).id if below else None


def inactivity_verdict(
    settings: Settings, last_active: date, as_of: date
) -> Literal["downgrade", "terminate"] | None:
    """What the ruleset does to a member last active on ``last_active``, judged on ``as_of``.

    ``last_active`` is the latest of the last purchase, the join date and the last
    inactivity downgrade, so each downgrade restarts the clock: a member drops one
    tier per full inactivity period, and a second run on the same day changes nothing.
    """
    if settings.inactivity_days is None:
        return None
    if (as_of - last_active).days < settings.inactivity_days:
        return None
    return settings.inactivity_action
