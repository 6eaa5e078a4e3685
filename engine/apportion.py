"""Largest-remainder splitting: every fen (and every point) lands on exactly one line.

Both functions work on plain integers so the hot path never builds a Fraction.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["apportion", "split_by_remainder"]


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` fen over lines in proportion to ``weights`` (their remaining amounts).

    Each line gets the floor of its exact share; the leftover fen go one each to the
    largest fractional parts (ties: larger weight, then earlier line). Shares are
    capped at each line's weight, and any overflow is spread again the same way over
    the lines with room left. ``total`` must not exceed ``sum(weights)``.
    """
    shares = split_by_remainder(total, weights) if total else [0] * len(weights)
    # A share can only pass its weight when weights and caps differ; with the
    # remaining amounts as both, largest remainder never overflows, so this is the
    # common exit. The loop below keeps the rule exact for any other caller.
    if all(s <= w for s, w in zip(shares, weights, strict=True)):
        return shares
    n = len(weights)
    shares = [0] * n
    room = list(weights)
    left = total
    while left > 0:
        live = [k for k in range(n) if room[k] > 0]
        denominator = sum(room[k] for k in live)
        if denominator < left:
            raise ValueError(f"cannot apportion {total} fen over {sum(weights)} fen of lines")
        part = split_by_remainder(left, [room[k] for k in live], denominator)
        overflow = 0
        for k, share in zip(live, part, strict=True):
            if share > room[k]:
                overflow += share - room[k]
                share = room[k]
            shares[k] += share
            room[k] -= share
        left = overflow
    return shares


def split_by_remainder(total: int, weights: Sequence[int], denominator: int | None = None) -> list[int]:
    """Exact proportional integer split of ``total`` by ``weights``, largest remainder first.

    Ties go to the larger weight, then the earlier position.
    """
    if denominator is None:
        denominator = sum(weights)
    if denominator <= 0:
        raise ValueError("cannot split over lines that weigh nothing")
    shares = []
    remainders = []
    given = 0
    for w in weights:
        q, r = divmod(total * w, denominator)
        shares.append(q)
        remainders.append(r)
        given += q
    leftover = total - given
    if leftover:
        order = sorted([(-remainders[k], -weights[k], k) for k in range(len(weights))])
        for _, _, k in order[:leftover]:
            shares[k] += 1
    return shares
