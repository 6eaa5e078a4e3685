"""Issued coupon codes: recording one, and resolving presented codes to their status.

A code is only ever written here as ``issued``; spending it is the sale's conditional
UPDATE (``sales``) and expiring it is ``maintenance``. Resolution is
:func:`server.storage.pricing.coupon_statuses`' verdict, so a lookup and a priced sale
judge a code the same way.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server.storage.models import Coupon
from server.storage.pricing import coupon_statuses
from server.storage.results import CouponStatus

__all__ = ["insert_coupon", "lookup_coupons"]


def insert_coupon(
    session: Session,
    code: str,
    definition_id: str,
    ruleset: str,
    *,
    owner_id: str | None,
    valid_from: date | None,
    valid_to: date | None,
    now: datetime,
) -> None:
    """INSERT one issued code (a campaign's printed code, or one an operator hands out)."""
    session.execute(
        insert(Coupon).values(
            code=code,
            definition_id=definition_id,
            ruleset=ruleset,
            owner_id=owner_id,
            state="issued",
            valid_from=valid_from,
            valid_to=valid_to,
            created_at=now,
        )
    )


def lookup_coupons(
    session: Session, wanted: list[str], member_id: str | None, on: date
) -> dict[str, CouponStatus]:
    """Each of the ``wanted`` codes' status for ``member_id`` on ``on`` (``unknown`` if never issued)."""
    rows = session.execute(select(Coupon).where(Coupon.code.in_(wanted))).scalars().all()
    return coupon_statuses(wanted, rows, member_id, on)
