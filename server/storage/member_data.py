"""Changing a member's own data: tags, birthday and segment (UpdateMember), the tier (an admin, with
a reason) and erasure on request (PIPL, EraseMember).

Erasure keeps every amount: the member row moves to a new random id (``erased-<32 hex>``, not
derived from the old id, so the old id cannot be recovered from it), every row that named the
member (entries, sales and the member id inside their stored request, coupons, adjustments,
referrals, per-member limit counters) names the new id, and the personal fields (birthday, tags,
segment, join date) are cleared. The old id is then unknown to the ledger (NOT_FOUND) and may be
enrolled afresh. Tier changes and erasures are recorded in ``member_audit`` with who and why; an
erasure's record names only the new id.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from server.storage.errors import MemberNotFound
from server.storage.models import (
    Adjustment,
    Coupon,
    Member,
    MemberAudit,
    PointsEntry,
    Sale,
    SaleUsage,
    UsageCounter,
)

__all__ = ["change_tier", "erase_member", "update_member"]

UNSET: Any = object()
"""A field the update leaves as it is."""


def update_member(
    session: Session,
    member_id: str,
    now: datetime,
    *,
    tags: Iterable[str] | None = None,
    birthday: date | None = UNSET,
    segment: str | None = None,
) -> None:
    """Set the given fields (None / UNSET: unchanged); MemberNotFound when there is no such member."""
    values: dict[str, Any] = {}
    if tags is not None:
        values["tags"] = sorted(set(tags))
    if birthday is not UNSET:
        values["birthday"] = birthday
    if segment is not None:  # an override `promo maintain` keeps; "" hands the member back to it
        values["segment"] = segment
        values["segment_pinned"] = segment != ""
    done = session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(**values, version=Member.version + 1, updated_at=now)
    ).rowcount
    if not done:
        raise MemberNotFound(member_id)


def change_tier(
    session: Session, member_id: str, tier: str, reason: str, operator: str, now: datetime
) -> str:
    """Set the tier (an admin's decision, audited); the tier before."""
    before = session.scalar(select(Member.tier).where(Member.id == member_id).with_for_update())
    if before is None:
        raise MemberNotFound(member_id)
    session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(tier=tier, version=Member.version + 1, updated_at=now)
    )
    _audit(session, member_id, "tier", f"{before} -> {tier}", reason, operator, now)
    return before


def erase_member(session: Session, member_id: str, reason: str, operator: str, now: datetime) -> str:
    """Move the member to a new anonymous id and clear their personal fields; the new id."""
    row = session.execute(select(Member).where(Member.id == member_id).with_for_update()).scalar_one_or_none()
    if row is None:
        raise MemberNotFound(member_id)
    anonymous = f"erased-{secrets.token_hex(16)}"
    kept = {c.name: getattr(row, c.key) for c in Member.__table__.columns if c.name != "id"}
    kept.update(
        birthday=None,
        tags=[],
        segment="",
        segment_pinned=False,
        join_date=None,
        version=row.version + 1,
        updated_at=now,
    )
    session.execute(insert(Member).values(id=anonymous, **kept))
    for column in (PointsEntry.member_id, Sale.member_id, Adjustment.member_id, MemberAudit.member_id):
        session.execute(update(column.class_).where(column == member_id).values({column.key: anonymous}))
    session.execute(update(Coupon).where(Coupon.owner_id == member_id).values(owner_id=anonymous))
    session.execute(update(Member).where(Member.referrer_id == member_id).values(referrer_id=anonymous))
    for tid, request in session.execute(
        select(Sale.transaction_id, Sale.request).where(Sale.member_id == anonymous)
    ):
        session.execute(
            update(Sale)
            .where(Sale.transaction_id == tid)
            .values(request=_without_member(request, member_id, anonymous))
        )
    marker = f"|{member_id}|"
    for model in (UsageCounter, SaleUsage):
        for key in session.scalars(select(model.key).where(model.key.contains(marker, autoescape=True))):
            if "|limit|" in key:
                session.execute(
                    update(model).where(model.key == key).values(key=key.replace(marker, f"|{anonymous}|"))
                )
    session.flush()
    session.execute(Member.__table__.delete().where(Member.id == member_id))
    _audit(session, anonymous, "erase", "personal fields removed, id replaced", reason, operator, now)
    return anonymous


def _without_member(request: str, old: str, new: str) -> str:
    """The stored request JSON with the member's id (and birthday, tags) replaced or dropped."""
    try:
        data = json.loads(request)
    except ValueError:
        return request.replace(old, new)
    member = data.get("member") if isinstance(data, dict) else None
    if isinstance(member, dict):
        member["id"] = new
        for personal in ("birthday", "tags", "segment", "joinDate", "join_date"):
            member.pop(personal, None)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return request.replace(old, new)


def _audit(
    session: Session, member_id: str, action: str, detail: str, reason: str, operator: str, now: datetime
) -> None:
    session.execute(
        insert(MemberAudit).values(
            member_id=member_id,
            action=action,
            detail=detail,
            reason=reason,
            operator=operator,
            created_at=now,
        )
    )
