"""Posting points to a member row in SQL: the one place the balance/owed settlement is written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case

from server.storage.models import Member

__all__ = ["settle"]


def settle(delta: int) -> dict[str, Any]:
    """SET clauses posting ``delta`` points: the SQL form of ``engine.ledger.returns.settle_balance``."""
    net = Member.points_balance - Member.points_owed + delta
    return {
        "points_balance": case((net >= 0, net), else_=0),
        "points_owed": case((net < 0, -net), else_=0),
        "version": Member.version + 1,
    }
