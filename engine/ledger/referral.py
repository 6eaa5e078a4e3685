"""Referral points (转介绍): what the referrers of a buyer earn from a sale, and lose on a return.

Level 1 is the member who referred the buyer, level 2 the member who referred them. A
continuous award pays ``points`` per ``per`` fen paid, floored per sale; a return claws back
the difference between what the sale's still-kept paid amount earns before and after it, so
returning a sale in parts or at once claws back the same and a full return claws back all.
A milestone pays once, when the buyer's cumulative spend first reaches its amount, and stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.rules import ReferralAward

__all__ = [
    "ReferralPost",
    "continuous_points",
    "referral_clawback",
    "referral_earnings",
    "would_cycle",
]


@dataclass(frozen=True, slots=True)
class ReferralPost:
    """One referral entry a sale posts: who, which award (its ``key``), how many points."""

    referrer_id: str
    level: int
    key: str  # "L:per:P/PER" or "L:at:P/AT": the award, stored with the entry for the return
    points: int


def award_key(award: ReferralAward) -> str:
    if award.per is not None:
        return f"{award.level}:per:{award.points}/{award.per}"
    return f"{award.level}:at:{award.points}/{award.at}"


def continuous_points(paid: int, points: int, per: int) -> int:
    """Points for ``paid`` fen at ``points`` per ``per`` fen, floored (never negative)."""
    return max(paid, 0) * points // per


def referral_earnings(
    awards: tuple[ReferralAward, ...],
    referrers: tuple[str, ...],
    paid: int,
    spend_before: int,
    spend_after: int,
    reached: Callable[[str, str], bool],
) -> list[ReferralPost]:
    """The referral entries one sale posts.

    ``referrers`` is the buyer's chain, level 1 first (at most two ids); ``spend_before`` and
    ``spend_after`` the buyer's cumulative spend around this sale; ``reached(referrer, key)``
    says whether a milestone was already paid (it is paid once, even if a return took the
    spend below it and a later sale crossed it again).
    """
    posts: list[ReferralPost] = []
    for award in awards:
        if award.level > len(referrers):
            continue
        referrer = referrers[award.level - 1]
        key = award_key(award)
        if award.per is not None:
            points = continuous_points(paid, award.points, award.per)
        elif award.at is not None and spend_before < award.at <= spend_after and not reached(referrer, key):
            points = award.points
        else:
            points = 0
        if points:
            posts.append(ReferralPost(referrer, award.level, key, points))
    return posts


def referral_clawback(key: str, paid: int, returned_before: int, returned_now: int) -> int:
    """Points a return of ``returned_now`` fen takes back from the continuous award ``key`` of a sale
    that paid ``paid`` and had ``returned_before`` returned already; milestones (``at``) stay: 0."""
    level_kind, rate = key.rsplit(":", 1)
    if not level_kind.endswith(":per"):
        return 0
    points, per = (int(n) for n in rate.split("/"))
    kept_before = paid - returned_before
    kept_after = kept_before - returned_now
    return continuous_points(kept_before, points, per) - continuous_points(kept_after, points, per)


def would_cycle(member_id: str, referrer_id: str, referrer_of: Callable[[str], str | None]) -> bool:
    """True when ``referrer_id`` is ``member_id`` or is (transitively) referred by them."""
    seen: set[str] = set()
    current: str | None = referrer_id
    while current is not None and current not in seen:
        if current == member_id:
            return True
        seen.add(current)
        current = referrer_of(current)
    return False
