"""Posting points to a member row in SQL: the one place the balance/owed settlement is written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case

from server.storage.models import Member

__all__ = ["settle"]


def settle(delta: Any, hold: Any = 0) -> dict[str, Any]:
    """SET clauses posting ``delta`` points: the SQL form of ``engine.ledger.returns.settle_balance``.

    ``hold`` moves the pending points (`points pending N days`) by that much: + when a sale's
    earnings are held, - when a return or ``maintain`` takes them out. Pending points stay
    between 0 and the new balance whatever is posted, so a debit never leaves held points that
    are not there.
    """
    net = Member.points_balance - Member.points_owed + delta
    balance = case((net >= 0, net), else_=0)
    pending = Member.points_pending + hold
    return {
        "points_balance": balance,
        "points_owed": case((net < 0, -net), else_=0),
        "points_pending": case((pending <= 0, 0), (pending >= balance, balance), else_=pending),
        "version": Member.version + 1,
    }
