"""The two transactions that move money: committing a sale and returning lines of it.

Each function runs inside one transaction opened by the store and issues few
statements, none through lazy ORM loads, so a commit costs a handful of round trips:

1. INSERT the sale: its primary key is the transaction id, so a duplicate (a retry,
   or the same sale at two tills) fails here before anything else happened;
2. spend the coupons with one conditional UPDATE (``state = 'issued'``), which
   re-checks the row after waiting for a concurrent spender's lock;
3. UPDATE the member with a conditional ``points_balance >= redeemed``, so the
   spendable balance can never go negative and concurrent sales add up;
4. read the day's spend and upgrade the tier if a threshold is met;
5. INSERT the earn and redeem entries in one batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Date, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from engine.ledger import Returned, ReturnRefused, plan_return, sold_lines, upgraded_tier
from server.storage import codec
from server.storage.errors import (
    CouponProblem,
    CouponUnavailable,
    IdempotencyConflict,
    InsufficientPoints,
    MemberNotFound,
    ReturnExceedsSale,
    SaleNotFound,
)
from server.storage.models import Coupon, Member, PointsEntry, Return, Sale
from server.storage.results import CommitResult, ReturnResult, SaleToCommit
from server.storage.types import TZDateTime

__all__ = ["commit_sale", "replay_sale", "return_lines", "return_request_hash", "settle"]


def settle(delta: int) -> dict[str, Any]:
    """SET clauses posting ``delta`` points: the SQL form of ``engine.ledger.settle_balance``."""
    net = Member.points_balance - Member.points_owed + delta
    return {
        "points_balance": case((net >= 0, net), else_=0),
        "points_owed": case((net < 0, -net), else_=0),
        "version": Member.version + 1,
    }


# --------------------------------------------------------------------------- commit


_sales = Sale.__table__
_members = Member.__table__
_coupons = Coupon.__table__
_entries = PointsEntry.__table__

# The commit's statements are built once: Core constructs on the tables (no ORM bulk machinery) whose
# compiled form SQLAlchemy caches, so a commit only binds values. Bind names avoid column names.
_INSERT_SALE = insert(_sales)
_INSERT_ENTRIES = insert(_entries)
_sold_at = bindparam("p_sold_at", type_=TZDateTime())  # typed, so SQLite stores it in UTC like the column
_UPDATE_MEMBER = (
    update(_members)
    .where(_members.c.id == bindparam("p_member"), _members.c.points_balance >= bindparam("p_redeemed"))
    .values(
        **settle(bindparam("p_delta", type_=BigInteger())),
        lifetime_spend_fen=_members.c.lifetime_spend_fen + bindparam("p_payable", type_=BigInteger()),
        last_purchase_at=case(
            (_members.c.last_purchase_at.is_(None), _sold_at),
            (_members.c.last_purchase_at < _sold_at, _sold_at),
            else_=_members.c.last_purchase_at,
        ),
        updated_at=bindparam("p_now", type_=TZDateTime()),
    )
    .returning(
        _members.c.tier, _members.c.lifetime_spend_fen, _members.c.points_balance, _members.c.points_owed
    )
)
_SET_TIER = update(_members).where(_members.c.id == bindparam("p_member")).values(tier=bindparam("p_tier"))
_DAY_SPEND = select(func.coalesce(func.sum(_sales.c.payable_fen), 0)).where(
    _sales.c.member_id == bindparam("p_member"), _sales.c.local_date == bindparam("p_day")
)
_p_day = bindparam("p_day", type_=Date())
_SPEND_COUPONS = (
    update(_coupons)
    .where(
        _coupons.c.code.in_(bindparam("p_codes", expanding=True)),
        _coupons.c.state == "issued",
        _coupons.c.owner_id.is_(None) | (_coupons.c.owner_id == bindparam("p_member")),
        _coupons.c.valid_from.is_(None) | (_coupons.c.valid_from <= _p_day),
        _coupons.c.valid_to.is_(None) | (_coupons.c.valid_to >= _p_day),
    )
    .values(state="redeemed", redeemed_by_sale=bindparam("p_sale"), redeemed_at=bindparam("p_now"))
    .returning(_coupons.c.code)
)


def commit_sale(session: Session, sale: SaleToCommit, now: datetime) -> CommitResult:
    """Store ``sale`` and apply its effects; IntegrityError on a duplicate transaction id."""
    ev = sale.evaluation
    earned, redeemed = ev.points.earned, ev.redemption.points
    if sale.member_id is None and (earned or redeemed):
        raise ValueError("a guest sale cannot earn or redeem points")
    lines = sold_lines(sale.request, ev, sale.invoice)
    connection = session.connection()
    connection.execute(
        _INSERT_SALE,
        {
            "transaction_id": sale.transaction_id,
            "request_hash": sale.request_hash,
            "request": sale.request_json,
            "ruleset": sale.ruleset.name,
            "ruleset_version": sale.ruleset.version,
            "ruleset_digest": sale.ruleset.digest,
            "result": sale.result_json,
            "invoice": sale.invoice_json,
            "lines": codec.sold_lines_to_json(lines),
            "invoiced": sale.invoice is not None and sale.invoice.issued,
            "payable_fen": ev.payable,
            "points_earned": earned,
            "points_redeemed": redeemed,
            "member_id": sale.member_id,
            "sold_at": sale.sold_at,
            "local_date": sale.local_date,
            "state": "committed",
            "created_at": now,
        },
    )
    if sale.coupon_codes:
        _spend_coupons(session, sale, now)
    if sale.member_id is None:
        return CommitResult(sale.transaction_id, sale.result_json, False, 0, 0)

    row = connection.execute(
        _UPDATE_MEMBER,
        {
            "p_member": sale.member_id,
            "p_redeemed": redeemed,
            "p_delta": earned - redeemed,
            "p_payable": ev.payable,
            "p_sold_at": sale.sold_at,
            "p_now": now,
        },
    ).one_or_none()
    if row is None:
        balance = session.scalar(select(Member.points_balance).where(Member.id == sale.member_id))
        if balance is None:
            raise MemberNotFound(sale.member_id)
        raise InsufficientPoints(sale.member_id, balance, redeemed)
    tier, lifetime, balance, owed = row
    new_tier = _upgrade(session, sale, tier, lifetime)
    if new_tier != tier:
        connection.execute(_SET_TIER, {"p_member": sale.member_id, "p_tier": new_tier})
    entries = []
    if earned:
        expires = None
        if sale.points_expire_days is not None:
            expires = sale.sold_at + timedelta(days=sale.points_expire_days)
        entries.append(_entry(sale, "earn", earned, expires, now))
    if redeemed:
        entries.append(_entry(sale, "redeem", -redeemed, None, now))
    if entries:
        connection.execute(_INSERT_ENTRIES, entries)
    return CommitResult(
        transaction_id=sale.transaction_id,
        result_json=sale.result_json,
        replayed=False,
        points_earned=earned,
        points_redeemed=redeemed,
        member_balance=balance - owed,
        tier=new_tier,
        upgraded_from=tier if new_tier != tier else None,
    )


def _entry(sale: SaleToCommit, kind: str, points: int, expires: datetime | None, now: datetime) -> dict:
    return {
        "member_id": sale.member_id,
        "kind": kind,
        "points": points,
        "transaction_id": sale.transaction_id,
        "return_id": None,
        "action": None,
        "reason": f"sale {sale.transaction_id}",
        "expires_at": expires,
        "created_at": now,
        "idempotency_key": f"sale:{sale.transaction_id}:{kind}",
    }


def _upgrade(session: Session, sale: SaleToCommit, tier: str, lifetime: int) -> str:
    """The tier after this sale: only a threshold the ruleset defines costs a query."""
    if not sale.tiers:
        return tier
    day = 0
    if any(t.upgrade_single_day is not None for t in sale.tiers):
        # Read after the member UPDATE: a concurrent sale of this member has committed by now.
        day = session.connection().scalar(_DAY_SPEND, {"p_member": sale.member_id, "p_day": sale.local_date})
    return upgraded_tier(sale.tiers, tier, lifetime, int(day or 0))


def _spend_coupons(session: Session, sale: SaleToCommit, now: datetime) -> None:
    codes = sorted(set(sale.coupon_codes))
    spent = set(
        session.connection().scalars(
            _SPEND_COUPONS,
            {
                "p_codes": codes,
                "p_member": sale.member_id,
                "p_day": sale.local_date,
                "p_sale": sale.transaction_id,
                "p_now": now,
            },
        )
    )
    for code in codes:
        if code not in spent:
            raise CouponUnavailable(code, _why_not(session, code, sale))


def _why_not(session: Session, code: str, sale: SaleToCommit) -> CouponProblem:
    row = session.execute(select(Coupon.state, Coupon.owner_id).where(Coupon.code == code)).one_or_none()
    if row is None:
        return "unknown"
    state, owner = row
    if state == "redeemed":
        return "already_used"
    if owner is not None and owner != sale.member_id:
        return "not_owner"
    return "expired"  # issued and owned by this member, so only the validity can have failed


def replay_sale(session: Session, sale: SaleToCommit) -> CommitResult | None:
    """The stored answer for a retried commit; None when no such sale exists."""
    row = session.execute(
        select(
            Sale.request_hash, Sale.result, Sale.points_earned, Sale.points_redeemed, Sale.member_id
        ).where(Sale.transaction_id == sale.transaction_id)
    ).one_or_none()
    if row is None:
        return None
    request_hash, result, earned, redeemed, member_id = row
    if request_hash != sale.request_hash:
        raise IdempotencyConflict("transaction", sale.transaction_id)
    balance = tier = None
    if member_id is not None:
        member = session.execute(
            select(Member.points_balance - Member.points_owed, Member.tier).where(Member.id == member_id)
        ).one()
        balance, tier = member
    return CommitResult(sale.transaction_id, result, True, earned, redeemed, balance, tier)


# --------------------------------------------------------------------------- returns


def return_request_hash(transaction_id: str, quantities: Mapping[str, int]) -> str:
    """What makes two return requests the same: the sale and each line's quantity."""
    canonical = codec.dump([transaction_id, sorted(quantities.items())])
    return hashlib.sha256(canonical.encode()).hexdigest()


def return_lines(
    session: Session, transaction_id: str, return_id: str, quantities: Mapping[str, int], now: datetime
) -> ReturnResult:
    """Post one return against a committed sale (or replay it); see engine.ledger for the arithmetic."""
    request_hash = return_request_hash(transaction_id, quantities)
    sale = session.execute(
        select(Sale.lines, Sale.invoiced, Sale.member_id, Sale.state)
        .where(Sale.transaction_id == transaction_id)
        .with_for_update()  # returns of one sale queue here (SQLite: BEGIN IMMEDIATE does it)
    ).one_or_none()
    if sale is None:
        raise SaleNotFound(transaction_id)
    lines_json, invoiced, member_id, state = sale
    previous = session.scalars(select(Return).where(Return.transaction_id == transaction_id)).all()
    existing = next((r for r in previous if r.return_id == return_id), None)
    if existing is None and (other := session.get(Return, return_id)) is not None:
        existing = other  # the id was used against another sale: a conflict below
    if existing is not None:
        if existing.request_hash != request_hash:
            raise IdempotencyConflict("return", return_id)
        return _stored_return(session, existing, state, member_id)

    before: dict[str, Returned] = {}
    for r in previous:
        for lr in codec.returns_from_json(r.lines):
            before[lr.line_id] = before.get(lr.line_id, Returned()) + lr.took
    if not quantities:
        raise ReturnExceedsSale(transaction_id, "", "empty", "a return needs at least one line")
    try:
        plan = plan_return(codec.sold_lines_from_json(lines_json), before, quantities, invoiced=invoiced)
    except ReturnRefused as exc:
        raise ReturnExceedsSale(transaction_id, exc.line_id, exc.reason, str(exc)) from exc

    session.execute(
        insert(Return).values(
            return_id=return_id,
            transaction_id=transaction_id,
            request_hash=request_hash,
            lines=codec.returns_to_json(plan.lines),
            points_clawed_back=plan.points,
            refund_fen=plan.refund,
            discount_reversed_fen=plan.discount,
            red_lines=codec.red_lines_to_json(plan.red_lines),
            created_at=now,
        )
    )
    new_state = "returned" if plan.completes_sale else "partly_returned"
    session.execute(update(Sale).where(Sale.transaction_id == transaction_id).values(state=new_state))
    balance = None
    if member_id is not None:
        if plan.points:
            session.execute(
                insert(PointsEntry).values(
                    member_id=member_id,
                    kind="return_clawback",
                    points=-plan.points,
                    transaction_id=transaction_id,
                    return_id=return_id,
                    reason=f"return {return_id} of sale {transaction_id}",
                    created_at=now,
                    idempotency_key=f"return:{return_id}:clawback",
                )
            )
        spend = Member.lifetime_spend_fen - plan.refund
        row = session.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(
                **settle(-plan.points), lifetime_spend_fen=case((spend >= 0, spend), else_=0), updated_at=now
            )
            .returning(Member.points_balance - Member.points_owed)
        ).one()
        balance = row[0]
    return ReturnResult(
        return_id=return_id,
        transaction_id=transaction_id,
        lines=plan.lines,
        red_lines=plan.red_lines,
        points_clawed_back=plan.points,
        refund_fen=plan.refund,
        discount_reversed_fen=plan.discount,
        sale_state=new_state,
        replayed=False,
        member_balance=balance,
    )


def _stored_return(session: Session, r: Return, state: str, member_id: str | None) -> ReturnResult:
    balance = None
    if member_id is not None:
        balance = session.scalar(
            select(Member.points_balance - Member.points_owed).where(Member.id == member_id)
        )
    return ReturnResult(
        return_id=r.return_id,
        transaction_id=r.transaction_id,
        lines=codec.returns_from_json(r.lines),
        red_lines=codec.red_lines_from_json(r.red_lines),
        points_clawed_back=r.points_clawed_back,
        refund_fen=r.refund_fen,
        discount_reversed_fen=r.discount_reversed_fen,
        sale_state=state,
        replayed=True,
        member_balance=balance,
    )
