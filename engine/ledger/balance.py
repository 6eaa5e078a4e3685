"""The points a member holds: the entry kinds and how a posting settles the balance and the debt.

``balance - owed`` is always the sum of the member's entries; the spendable balance never goes
negative (a clawback past it becomes ``owed``, paid off first by later earnings).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["ENTRY_KINDS", "EntryKind", "settle_balance"]

EntryKind = Literal[
    "earn", "redeem", "return_clawback", "expire", "adjust", "coupon_purchase", "referral", "referral_return"
]
ENTRY_KINDS: tuple[EntryKind, ...] = (
    "earn",
    "redeem",
    "return_clawback",
    "expire",
    "adjust",
    "coupon_purchase",
    "referral",  # a referrer's points from a referred member's sale (engine.ledger.referral)
    "referral_return",  # what a return of that sale took back of them
)


def settle_balance(balance: int, owed: int, delta: int) -> tuple[int, int]:
    """The (spendable balance, points owed) after posting ``delta`` points.

    A return may claw back points the member already spent; the ledger records the
    exact clawback and the shortfall becomes a debt (``owed``) that later earnings pay
    off first. So the spendable balance never goes negative, and ``balance - owed`` is
    always the sum of the member's entries.
    """
    net = balance - owed + delta
    return (net, 0) if net >= 0 else (0, -net)
