"""Apportioning a basket discount, coupon or points redemption over lines, recorded per line."""

from __future__ import annotations

from engine.apportion import split_by_remainder
from engine.context import Context
from engine.model import Discount

__all__ = ["spread"]


def spread(
    ctx: Context,
    taken: list[list[Discount]],
    lines: list[int],
    amount: int,
    source: str,
    kind: str,
    exclusive: bool = False,
) -> None:
    """Apportion ``amount`` over ``lines`` by their remaining amounts and record each share."""
    remaining = ctx.remaining
    if len(lines) == 1:
        shares = [amount]
    else:
        # The weights are the remaining amounts, which are also the caps: largest
        # remainder can then never push a share past its line (engine.apportion.apportion),
        # so the overflow pass is not needed here.
        shares = split_by_remainder(amount, [remaining[i] for i in lines])
    locked = ctx.locked
    for i, share in zip(lines, shares, strict=True):
        if share:
            remaining[i] -= share
            taken[i].append(Discount(source, kind, share))
            if exclusive:
                locked[i] = True
