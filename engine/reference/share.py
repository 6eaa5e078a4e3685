"""Largest-remainder splitting for the reference interpreter, written out longhand.

An independent second implementation of PRODUCT.md's apportioning and points
shares: the compiled engine has its own, and the property tests compare the two.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

__all__ = ["apportion_fen", "share_points"]


def apportion_fen(total: int, remaining: dict[int, int]) -> dict[int, int]:
    """Split ``total`` fen over lines (index -> remaining fen) in proportion to what is left.

    Each line gets the floor of its exact share, then one fen each to the largest
    fractional parts (ties: larger remaining amount, then earlier line); a line is
    never given more than it has left, and any overflow is spread again the same
    way over the lines that still have room. ``total`` must not exceed the sum.
    """
    if total < 0 or total > sum(remaining.values()):
        raise ValueError(f"cannot apportion {total} fen over {sum(remaining.values())} fen")
    given = dict.fromkeys(remaining, 0)
    todo = total
    while todo > 0:
        room = {i: remaining[i] - given[i] for i in remaining if remaining[i] - given[i] > 0}
        weight = sum(remaining[i] for i in room)
        exact = {i: Fraction(todo * remaining[i], weight) for i in room}
        part = {i: floor(exact[i]) for i in room}
        leftover = todo - sum(part.values())
        order = sorted(room, key=lambda i: (-(exact[i] - part[i]), -remaining[i], i))
        for i in order[:leftover]:
            part[i] += 1
        spread = 0
        for i in room:
            take = min(part[i], room[i])
            given[i] += take
            spread += take
        todo -= spread
    return {i: fen for i, fen in given.items() if fen > 0}


def share_points(exact: dict[int, Fraction], total: int, net: dict[int, int]) -> dict[int, int]:
    """Whole points per line: floor of each exact contribution, then one point each to the
    largest fractional parts (ties: larger fraction, larger net, earlier line) until they sum to ``total``."""
    part = {i: floor(value) for i, value in exact.items()}
    leftover = total - sum(part.values())
    if leftover < 0 or leftover > len(part):
        raise ValueError(f"cannot share {total} points over contributions {exact}")
    order = sorted(exact, key=lambda i: (-(exact[i] - part[i]), -net[i], i))
    for i in order[:leftover]:
        part[i] += 1
    return part
