"""Which programme each member belongs to: the members an older ledger could not place, and placing them.

Migration 0013 places every member the ledger vouches for (their sales and coupons name one
programme, or the whole ledger names one). The rest stay unplaced until an operator says
which programme they belong to (``promo db place``); this module finds them, says what the
ledger knows of each, and places them with one conditional UPDATE (only while unplaced:
a member's programme is never changed once set).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, union, update
from sqlalchemy.orm import Session, sessionmaker

from server.storage.models import Coupon, Member, Sale
from server.storage.tx import in_transaction

__all__ = ["Unplaced", "place_members", "unplaced_members"]


@dataclass(frozen=True, slots=True)
class Unplaced:
    member_id: str
    seen_in: tuple[str, ...]  # the programmes its sales and coupons name (empty: none)


def unplaced_members(sessions: sessionmaker[Session]) -> list[Unplaced]:
    """Every member without a programme, with the programmes the ledger saw them in."""

    def work(session: Session) -> list[Unplaced]:
        ids = session.scalars(select(Member.id).where(Member.programme.is_(None)).order_by(Member.id)).all()
        if not ids:
            return []
        evidence = union(
            select(Sale.member_id.label("m"), Sale.ruleset.label("p")).where(Sale.member_id.is_not(None)),
            select(Coupon.owner_id.label("m"), Coupon.ruleset.label("p")).where(Coupon.owner_id.is_not(None)),
        ).subquery()
        seen: dict[str, set[str]] = defaultdict(set)
        for member_id, programme in session.execute(select(evidence.c.m, evidence.c.p)):
            seen[member_id].add(programme)
        return [Unplaced(m, tuple(sorted(seen.get(m, ())))) for m in ids]

    return in_transaction(sessions, work)


def place_members(sessions: sessionmaker[Session], programme: str, member_ids: Sequence[str] | None) -> int:
    """Place the given unplaced members (None: every unplaced member) in ``programme``; how many moved."""

    def work(session: Session) -> int:
        stmt = update(Member).where(Member.programme.is_(None))
        if member_ids is not None:
            stmt = stmt.where(Member.id.in_(list(member_ids)))
        return int(
            session.execute(stmt.values(programme=programme, version=Member.version + 1)).rowcount or 0
        )

    return in_transaction(sessions, work)
