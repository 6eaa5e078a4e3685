"""Moving points outside a sale: buying a coupon with points, and an operator's audited adjustment.

Each is one transaction, idempotent by the caller's key (stored as the entry's
``idempotency_key``): a replay returns the original answer, a different payload under
the same key raises :class:`IdempotencyConflict`. The cached balance moves in the same
transaction as the entry, through :func:`_debit` and :func:`_credit`, and a debit's
conditional UPDATE keeps the spendable balance from ever going below zero.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from server.storage.balances import settle
from server.storage.errors import IdempotencyConflict, InsufficientPoints, MemberNotFound, MemberTerminated
from server.storage.models import Adjustment, Coupon, Member, PointsEntry
from server.storage.pricing import coupon_status
from server.storage.results import AdjustResult, CouponOffer, RedeemResult

__all__ = ["adjust_points", "check_adjustment", "redeem_points_for_coupon"]


def redeem_points_for_coupon(
    session: Session,
    member_id: str,
    offer: CouponOffer,
    idempotency_key: str,
    today: date,
    clock: Callable[[], datetime],
) -> RedeemResult:
    """Spend the offer's points price and issue the coupon it buys, or replay an earlier purchase."""
    key = f"coupon_purchase:{idempotency_key}"
    reason = f"coupon {offer.definition_id} of {offer.ruleset}"
    prior = _entry_by_key(session, key)
    if prior is not None:
        if (prior.member_id, prior.points, prior.reason) != (member_id, -offer.points_price, reason):
            raise IdempotencyConflict("points redemption", idempotency_key)
        coupon = session.scalars(select(Coupon).where(Coupon.source_entry_id == prior.id)).one()
        balance = _balance(session, member_id)
        return RedeemResult(coupon_status(coupon, member_id, today), offer.points_price, balance, True)
    now = clock()
    balance = _debit(session, member_id, offer.points_price, now, active_only=True)
    entry_id = _insert_entry(
        session, member_id, "coupon_purchase", -offer.points_price, idempotency_key, reason, now, key
    )
    valid_to = None
    if offer.validity_days is not None:
        valid_to = today + timedelta(days=offer.validity_days - 1)
    coupon = Coupon(
        code=_new_code(),
        definition_id=offer.definition_id,
        ruleset=offer.ruleset,
        owner_id=member_id,
        state="issued",
        valid_from=today,
        valid_to=valid_to,
        source_entry_id=entry_id,
        created_at=now,
    )
    session.add(coupon)
    session.flush()
    return RedeemResult(coupon_status(coupon, member_id, today), offer.points_price, balance, False)


MAX_ADJUSTMENT = 10**12
"""No adjustment moves more: far below 2^63, so a balance and SUM() of the entries never overflow
(SQLite would silently turn an overflowing balance into a float and still commit)."""


def check_adjustment(points: int, reason: str, operator: str) -> None:
    """ValueError for an adjustment that moves nothing or lacks its audit trail (checked before any SQL)."""
    if points == 0:
        raise ValueError("an adjustment must move at least one point")
    if abs(points) > MAX_ADJUSTMENT:
        raise ValueError(f"an adjustment moves at most {MAX_ADJUSTMENT} points (got {points})")
    if not reason.strip() or not operator.strip():
        raise ValueError("an adjustment needs a reason and an operator, for the audit trail")


def adjust_points(
    session: Session,
    member_id: str,
    points: int,
    reason: str,
    operator: str,
    idempotency_key: str,
    clock: Callable[[], datetime],
) -> AdjustResult:
    """Post a checked adjustment and its audit row (who and why), or replay an earlier one."""
    key = f"adjust:{idempotency_key}"
    prior = _entry_by_key(session, key)
    if prior is not None:
        audit = session.scalars(select(Adjustment).where(Adjustment.entry_id == prior.id)).one()
        if (prior.member_id, prior.points, audit.reason, audit.operator) != (
            member_id,
            points,
            reason,
            operator,
        ):
            raise IdempotencyConflict("adjustment", idempotency_key)
        return AdjustResult(prior.id, points, _balance(session, member_id), True)
    now = clock()
    if points < 0:
        balance = _debit(session, member_id, -points, now)
    else:
        balance = _credit(session, member_id, points, now)
    entry_id = _insert_entry(session, member_id, "adjust", points, idempotency_key, reason, now, key)
    session.execute(
        insert(Adjustment).values(
            entry_id=entry_id,
            member_id=member_id,
            points=points,
            operator=operator,
            reason=reason,
            created_at=now,
        )
    )
    return AdjustResult(int(entry_id), points, balance, False)


def _insert_entry(
    session: Session,
    member_id: str,
    kind: str,
    points: int,
    action: str,
    reason: str,
    now: datetime,
    key: str,
) -> int:
    """INSERT the points entry that moves the balance; its id (a duplicate ``key`` is an IntegrityError)."""
    return session.scalar(
        insert(PointsEntry)
        .values(
            member_id=member_id,
            kind=kind,
            points=points,
            action=action,
            reason=reason,
            created_at=now,
            idempotency_key=key,
        )
        .returning(PointsEntry.id)
    )


def _entry_by_key(session: Session, key: str) -> PointsEntry | None:
    return session.scalars(select(PointsEntry).where(PointsEntry.idempotency_key == key)).one_or_none()


def _balance(session: Session, member_id: str) -> int:
    value = session.scalar(select(Member.points_balance - Member.points_owed).where(Member.id == member_id))
    if value is None:
        raise MemberNotFound(member_id)
    return int(value)


def _debit(session: Session, member_id: str, points: int, now: datetime, *, active_only: bool = False) -> int:
    """Take ``points`` from the spendable balance, never below zero; the balance after.

    ``active_only`` refuses a terminated member in the same UPDATE (a customer's purchase);
    a staff correction leaves it off.
    """
    guards = [Member.id == member_id, Member.points_balance >= points]
    if active_only:  # a customer spends only what is not held (`points pending`); staff may correct it
        guards += [Member.status == "active", Member.points_balance - Member.points_pending >= points]
    new = session.scalar(
        update(Member)
        .where(*guards)
        .values(**settle(-points), updated_at=now)
        .returning(Member.points_balance)
    )
    if new is None:
        found = session.execute(
            select(
                (Member.points_balance - Member.points_pending).label("points_balance"), Member.status
            ).where(Member.id == member_id)
        ).one_or_none()
        if found is None:
            raise MemberNotFound(member_id)
        if active_only and found.status != "active":
            raise MemberTerminated(member_id)
        raise InsufficientPoints(member_id, int(found.points_balance), points)
    return int(new)


def _credit(session: Session, member_id: str, points: int, now: datetime) -> int:
    new = session.scalar(
        update(Member)
        .where(Member.id == member_id)
        .values(**settle(points), updated_at=now)
        .returning(Member.points_balance - Member.points_owed)
    )
    if new is None:
        raise MemberNotFound(member_id)
    return int(new)


def _new_code() -> str:
    """A coupon code a cashier can read out: 12 characters without 0/O or 1/I."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "P" + "".join(secrets.choice(alphabet) for _ in range(12))
