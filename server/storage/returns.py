"""Returning lines of a committed sale: one transaction that claws back points and refunds net.

The sale row is locked first (``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` does it),
so returns of one sale queue and each sees what the others took; the arithmetic is
``engine.ledger.returns.plan_return``'s. Idempotent by the return id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from engine.ledger.returns import Returned, ReturnRefused, plan_return
from server.storage import codec, usage
from server.storage.balances import settle
from server.storage.errors import IdempotencyConflict, ReturnExceedsSale, SaleNotFound
from server.storage.models import Member, PointsEntry, Return, Sale
from server.storage.pending import held_of_sale
from server.storage.referrals import claw_back_referrals
from server.storage.results import ReturnResult

__all__ = ["return_lines", "return_request_hash"]


def return_request_hash(transaction_id: str, quantities: Mapping[str, int]) -> str:
    """What makes two return requests the same: the sale and each line's quantity."""
    canonical = codec.dump([transaction_id, sorted(quantities.items())])
    return hashlib.sha256(canonical.encode()).hexdigest()


def return_lines(
    session: Session, transaction_id: str, return_id: str, quantities: Mapping[str, int], now: datetime
) -> ReturnResult:
    """Post one return against a committed sale (or replay it); engine.ledger.returns does the arithmetic."""
    request_hash = return_request_hash(transaction_id, quantities)
    sale = session.execute(
        select(Sale.lines, Sale.invoiced, Sale.member_id, Sale.state, Sale.payable_fen)
        .where(Sale.transaction_id == transaction_id)
        .with_for_update()  # returns of one sale queue here (SQLite: BEGIN IMMEDIATE does it)
    ).one_or_none()
    if sale is None:
        raise SaleNotFound(transaction_id)
    lines_json, invoiced, member_id, state, paid = sale
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
            red_lines=codec.red_invoices_to_json(plan.red_invoices),
            created_at=now,
        )
    )
    new_state = "returned" if plan.completes_sale else "partly_returned"
    session.execute(update(Sale).where(Sale.transaction_id == transaction_id).values(state=new_state))
    sold = {line.line_id: line.quantity for line in codec.sold_lines_from_json(lines_json)}
    earlier = {line_id: r.quantity for line_id, r in before.items()}
    now_returned = dict(earlier)
    for lr in plan.lines:
        now_returned[lr.line_id] = now_returned.get(lr.line_id, 0) + lr.took.quantity
    usage.give_back(session, transaction_id, earlier, now_returned, sold, plan.completes_sale)
    balance = None
    if member_id is not None:
        refunded_before = sum(r.refund_fen for r in previous)
        claw_back_referrals(session, transaction_id, return_id, paid, refunded_before, plan.refund, now)
        from_pending = held_of_sale(session, transaction_id, plan.points)
        if plan.points:
            session.execute(
                insert(PointsEntry).values(
                    member_id=member_id,
                    kind="return_clawback",
                    points=-plan.points,
                    transaction_id=transaction_id,
                    return_id=return_id,
                    action=f"pending:{from_pending}" if from_pending else None,
                    reason=f"return {return_id} of sale {transaction_id}",
                    created_at=now,
                    idempotency_key=f"return:{return_id}:clawback",
                )
            )
        spend = Member.lifetime_spend_fen - plan.refund
        # A sale returned in full no longer counts as an order (member.order_count, first_purchase).
        orders = Member.order_count - (1 if plan.completes_sale else 0)
        row = session.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(
                **settle(-plan.points, -from_pending),
                lifetime_spend_fen=case((spend >= 0, spend), else_=0),
                order_count=case((orders >= 0, orders), else_=0),
                updated_at=now,
            )
            .returning(Member.points_balance - Member.points_owed)
        ).one()
        balance = row[0]
    return ReturnResult(
        return_id=return_id,
        transaction_id=transaction_id,
        lines=plan.lines,
        red_invoices=plan.red_invoices,
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
        red_invoices=codec.red_invoices_from_json(r.red_lines),
        points_clawed_back=r.points_clawed_back,
        refund_fen=r.refund_fen,
        discount_reversed_fen=r.discount_reversed_fen,
        sale_state=state,
        replayed=True,
        member_balance=balance,
    )
