"""Committing a sale: the transaction that posts it (returning lines of it is ``returns``).

:func:`commit_sale` runs inside one transaction opened by the store, on a Core
connection, and writes with few statements, none through lazy ORM loads:

1. INSERT the sale: its primary key is the transaction id, so a duplicate (a retry,
   or the same sale at two tills) is an IntegrityError and nothing is kept;
2. spend the coupons with one conditional UPDATE (``state = 'issued'``), which
   re-checks the row after waiting for a concurrent spender's lock;
3. UPDATE the member with a conditional ``status = 'active' AND points_balance >=
   redeemed``, so the spendable balance can never go negative, concurrent sales add
   up and a sale cannot slip past a termination that committed after it was priced;
4. INSERT the earn and redeem entries;
5. read the day's spend and upgrade the tier if a threshold is met;
6. take the budgets and limits the sale uses (``usage``: a conditional upsert on each
   counter's stripe, after the member row, so every till locks in one order).

On PostgreSQL steps 1-4 and 6 are one statement (data-modifying CTEs), so a commit is
BEGIN, that statement and COMMIT; SQLite runs them one by one (6 last). A coupon or member
update that did not happen raises (for the member: MemberNotFound, MemberTerminated or
InsufficientPoints, read after the fact), a stripe that could not take its share raises
usage.StripeDry (the store runs the sale again, rebalancing), and the store rolls everything back.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Select,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)

from engine.ledger.returns import points_by_rule, sold_lines
from engine.ledger.tiers import upgraded_tier
from server.storage import codec, referrals, usage
from server.storage.balances import settle
from server.storage.errors import (
    CouponProblem,
    CouponUnavailable,
    InsufficientPoints,
    LedgerError,
    MemberNotFound,
    MemberTerminated,
)
from server.storage.models import Coupon, Member, PointsEntry, Sale
from server.storage.pricing import STORED_SALE, StoredSale
from server.storage.results import CommitResult, SaleToCommit
from server.storage.types import TZDateTime

__all__ = ["commit_sale", "replay_sale", "settle"]


# --------------------------------------------------------------------------- commit


_sales = Sale.__table__
_members = Member.__table__
_coupons = Coupon.__table__
_entries = PointsEntry.__table__

# The commit's statements are built once: Core constructs on the tables (no ORM bulk machinery) whose
# compiled form SQLAlchemy caches, so a commit only binds values. Every statement takes its values
# from one dict (see _params); the bind names are not column names, so one statement can hold them all.
_sale_id = bindparam("p_sale")
_member_id = bindparam("p_member")
_now = bindparam("p_now", type_=TZDateTime())
_sold_at = bindparam("p_sold_at", type_=TZDateTime())  # typed, so SQLite stores it in UTC like the column
_day = bindparam("p_day", type_=Date())
_payable = bindparam("p_payable", type_=BigInteger())
_SALE_COLUMNS = ("request_hash", "request", "ruleset", "ruleset_version", "ruleset_digest", "result")
_SALE_COLUMNS += ("invoice", "lines", "invoiced", "points_earned", "points_redeemed")
_INSERT_SALE = insert(_sales).values(
    transaction_id=_sale_id,
    member_id=_member_id,
    payable_fen=_payable,
    sold_at=_sold_at,
    local_date=_day,
    state="committed",
    created_at=_now,
    **{name: bindparam(f"s_{name}", type_=_sales.c[name].type) for name in _SALE_COLUMNS},
)
_UPDATE_MEMBER = (
    update(_members)
    .where(
        _members.c.id == _member_id,
        _members.c.status == "active",  # a terminated member earns and spends nothing (MemberTerminated)
        # only what is not held (`points pending`) may be spent
        _members.c.points_balance - _members.c.points_pending >= bindparam("p_redeemed"),
    )
    .values(
        **settle(bindparam("p_delta", type_=BigInteger()), bindparam("p_hold", type_=BigInteger())),
        lifetime_spend_fen=_members.c.lifetime_spend_fen + _payable,
        order_count=_members.c.order_count + 1,
        last_purchase_at=case(
            (_members.c.last_purchase_at.is_(None), _sold_at),
            (_members.c.last_purchase_at < _sold_at, _sold_at),
            else_=_members.c.last_purchase_at,
        ),
        updated_at=_now,
    )
    .returning(
        _members.c.tier,
        _members.c.lifetime_spend_fen,
        _members.c.points_balance,
        _members.c.points_owed,
        _members.c.referrer_id,
    )
)
_SET_TIER = update(_members).where(_members.c.id == _member_id).values(tier=bindparam("p_tier"))
_DAY_SPEND = select(func.coalesce(func.sum(_sales.c.payable_fen), 0)).where(
    _sales.c.member_id == _member_id, _sales.c.local_date == _day
)
_SPEND_COUPONS = (
    update(_coupons)
    .where(
        _coupons.c.code.in_(bindparam("p_codes", expanding=True)),
        _coupons.c.state == "issued",
        _coupons.c.owner_id.is_(None) | (_coupons.c.owner_id == _member_id),
        _coupons.c.valid_from.is_(None) | (_coupons.c.valid_from <= _day),
        _coupons.c.valid_to.is_(None) | (_coupons.c.valid_to >= _day),
    )
    .values(state="redeemed", redeemed_by_sale=_sale_id, redeemed_at=_now)
    .returning(_coupons.c.code)
)


def _entry_row(i: int) -> dict[str, Any]:
    """The VALUES of the sale's ``i``-th points entry (earn, then redeem)."""
    return {
        "member_id": _member_id,
        "kind": bindparam(f"e{i}_kind"),
        "points": bindparam(f"e{i}_points", type_=BigInteger()),
        "transaction_id": _sale_id,
        "reason": bindparam("p_reason"),
        "expires_at": bindparam(f"e{i}_expires", type_=TZDateTime()),
        "pending_until": bindparam(f"e{i}_pending", type_=TZDateTime()),
        "created_at": _now,
        "idempotency_key": bindparam(f"e{i}_key"),
    }


# One statement per entry: a multi-row VALUES would not be cached (SQLAlchemy compiles those every time).
_INSERT_ENTRIES = tuple(insert(_entries).values(_entry_row(i)) for i in range(2))


def commit_sale(
    connection: Connection, sale: SaleToCommit, now: datetime, *, rebalance: bool = False
) -> CommitResult:
    """Store ``sale`` and apply its effects; IntegrityError on a duplicate transaction id.

    Core statements on a connection: a commit needs nothing of the ORM session. On
    PostgreSQL the writes are one statement (one round trip, see :func:`_write_at_once`).
    ``rebalance``: budgets take from all of a counter's stripes (usage.StripeDry asked for it).
    """
    ev = sale.evaluation
    earned, redeemed = ev.points.earned, ev.redemption.points
    if sale.member_id is None and (earned or redeemed):
        raise ValueError("a guest sale cannot earn or redeem points")
    codes = sorted(set(sale.coupon_codes))
    params = _params(sale, codes, now)
    entries = sum(1 for key in ("e0_kind", "e1_kind") if key in params)
    write = _write_at_once if connection.dialect.name == "postgresql" else _write_one_by_one
    usage.check_caps(sale.usage)
    takes = 0  # budgets and limits taken by the one statement (PostgreSQL, unless rebalancing)
    if write is _write_at_once and sale.usage and not rebalance:
        takes = len(sale.usage)
        params.update(usage.params(sale.ruleset.name, sale.transaction_id, sale.usage))
    spent, row, taken = write(connection, params, bool(codes), sale.member_id is not None, entries, takes)
    for code in codes:
        if code not in spent:
            raise CouponUnavailable(code, _why_not(connection, code, sale))
    if sale.member_id is not None and row is None:
        raise _member_refused(connection, sale.member_id, redeemed)
    usage.check_taken(sale.usage[:takes], taken)
    if sale.member_id is None:
        _consume(connection, sale, rebalance, takes)
        return CommitResult(sale.transaction_id, sale.result_json, False, 0, 0)
    tier, lifetime, balance, owed, referrer = row
    new_tier = _upgrade(connection, sale, tier, lifetime)
    if new_tier != tier:
        connection.execute(_SET_TIER, {"p_member": sale.member_id, "p_tier": new_tier})
    paid_to: tuple[str, ...] = ()
    if sale.referral and referrer is not None:
        paid_to = referrals.post_referrals(
            connection,
            sale.referral,
            sale.transaction_id,
            sale.member_id,
            referrer,
            ev.payable,
            lifetime,
            now,
        )
    _consume(connection, sale, rebalance, takes)
    return CommitResult(
        transaction_id=sale.transaction_id,
        result_json=sale.result_json,
        replayed=False,
        points_earned=earned,
        points_redeemed=redeemed,
        member_balance=balance - owed,
        tier=new_tier,
        upgraded_from=tier if new_tier != tier else None,
        referrers=paid_to,
    )


def _consume(connection: Connection, sale: SaleToCommit, rebalance: bool, taken: int) -> None:
    """Budgets and limits, last in the transaction (after the sale row, which a retry meets first):
    the shared counter rows stay locked only from here to COMMIT. None when ``taken`` already."""
    if sale.usage and not taken:
        usage.consume(connection, sale.ruleset.name, sale.transaction_id, sale.usage, rebalance=rebalance)


def _params(sale: SaleToCommit, codes: list[str], now: datetime) -> dict[str, Any]:
    """The values of every statement a commit runs, by bind name."""
    ev = sale.evaluation
    earned, redeemed = ev.points.earned, ev.redemption.points
    params: dict[str, Any] = {
        "p_sale": sale.transaction_id,
        "p_member": sale.member_id,
        "p_now": now,
        "p_sold_at": sale.sold_at,
        "p_day": sale.local_date,
        "p_payable": ev.payable,
        "p_redeemed": redeemed,
        "p_delta": earned - redeemed,
        "p_hold": earned if sale.points_pending_days is not None else 0,
        "p_reason": f"sale {sale.transaction_id}",
        "s_request_hash": sale.request_hash,
        "s_request": sale.request_json,
        "s_ruleset": sale.ruleset.name,
        "s_ruleset_version": sale.ruleset.version,
        "s_ruleset_digest": sale.ruleset.digest,
        "s_result": sale.result_json,
        "s_invoice": sale.invoice_json,
        "s_lines": codec.sold_lines_to_json(
            sold_lines(sale.request, ev, sale.invoices), points_by_rule(ev.points)
        ),
        "s_invoiced": any(invoice.issued for invoice in sale.invoices),
        "s_points_earned": earned,
        "s_points_redeemed": redeemed,
    }
    if codes:
        params["p_codes"] = codes
    entries = []
    if earned:
        expires = held = None
        if sale.points_expire_days is not None:
            expires = sale.sold_at + timedelta(days=sale.points_expire_days)
        if sale.points_pending_days is not None:
            held = sale.sold_at + timedelta(days=sale.points_pending_days)
        entries.append(("earn", earned, expires, held))
    if redeemed:
        entries.append(("redeem", -redeemed, None, None))
    for i, (kind, points, expires, held) in enumerate(entries):
        params[f"e{i}_kind"], params[f"e{i}_points"], params[f"e{i}_expires"] = kind, points, expires
        params[f"e{i}_pending"] = held
        params[f"e{i}_key"] = f"sale:{sale.transaction_id}:{kind}"
    return params


Written = tuple[set[str], Any, int]
"""The coupon codes spent, the member row after the UPDATE (None: none), the budget takes taken."""


def _write_one_by_one(
    connection: Connection, params: dict[str, Any], coupons: bool, member: bool, entries: int, _: int = 0
) -> Written:
    """The sale, the coupons, the member and the entries, in that order, one statement each.

    The sale goes first: a duplicate (a retry, or the same sale at two tills) fails before
    anything else happened.
    """
    connection.execute(_INSERT_SALE, params)
    spent = set(connection.scalars(_SPEND_COUPONS, params)) if coupons else set()
    row = None
    if member:
        row = connection.execute(_UPDATE_MEMBER, params).one_or_none()
        if row is not None:
            for insert_entry in _INSERT_ENTRIES[:entries]:
                connection.execute(insert_entry, params)
    return spent, row, 0


def _write_at_once(
    connection: Connection, params: dict[str, Any], coupons: bool, member: bool, entries: int, takes: int
) -> Written:
    """:func:`_write_one_by_one` as one PostgreSQL statement: its writes are data-modifying CTEs.

    A round trip saved is worth more than any statement. The writes see one snapshot, but
    each UPDATE still waits for a concurrent writer's row lock and re-checks its WHERE
    clause, and a refused coupon or member update rolls the transaction back (the caller
    raises). A duplicate sale or an unknown member is an IntegrityError as before. ``takes``
    budget and limit counters are taken too (usage.write_ctes), after the member row: one lock
    order, and the stripes stay locked only from this statement to COMMIT.
    """
    if not (coupons or member or takes):
        connection.execute(_INSERT_SALE, params)
        return set(), None, 0
    row = connection.execute(_all_writes(coupons, member, entries, takes), params).one()
    spent = set(row.spent or ()) if coupons else set()
    return spent, (row[2:] if member and row.tier is not None else None), row.usage_taken


@functools.cache
def _all_writes(coupons: bool, member: bool, entries: int, takes: int) -> Select[Any]:
    """One row: the codes spent (an array), how many budget takes were taken, and the member's tier,
    lifetime, balance and owed."""
    writes: list[Any] = [_INSERT_SALE.cte("new_sale")]
    writes += [insert_entry.cte(f"new_entry_{i}") for i, insert_entry in enumerate(_INSERT_ENTRIES[:entries])]
    spent: Any = literal_column("NULL")
    if coupons:
        spent_rows = _SPEND_COUPONS.cte("spent")
        spent = select(func.array_agg(spent_rows.c.code)).scalar_subquery()
    one = select(literal_column("1").label("one")).subquery("one")
    updated = _UPDATE_MEMBER.cte("updated") if member else None
    if updated is not None:
        writes.append(updated)  # named before the budget upsert that reads it
    taken: Any = literal_column("0")
    if takes:
        upsert, record = usage.write_ctes(takes, "updated" if member else "")
        writes.append(record)
        taken = select(func.count()).select_from(upsert).where(upsert.c.allot > 0).scalar_subquery()
    if updated is None:
        return select(spent.label("spent"), taken.label("usage_taken")).select_from(one).add_cte(*writes)
    return (
        select(spent.label("spent"), taken.label("usage_taken"), *updated.c)
        .select_from(one.outerjoin(updated, true()))
        .add_cte(*writes)
    )


def _upgrade(connection: Connection, sale: SaleToCommit, tier: str, lifetime: int) -> str:
    """The tier after this sale: only a threshold the ruleset defines costs a query."""
    if not sale.tiers:
        return tier
    day = 0
    if any(t.upgrade_single_day is not None for t in sale.tiers):
        # Read after the member UPDATE: a concurrent sale of this member has committed by now.
        day = connection.scalar(_DAY_SPEND, {"p_member": sale.member_id, "p_day": sale.local_date})
    return upgraded_tier(sale.tiers, tier, lifetime, int(day or 0))


def _member_refused(connection: Connection, member_id: str, redeemed: int) -> LedgerError:
    """Why the guarded member UPDATE matched nothing, read after it: gone, terminated or too few points."""
    row = connection.execute(
        select(Member.points_balance - Member.points_pending, Member.status).where(Member.id == member_id)
    ).one_or_none()
    if row is None:
        return MemberNotFound(member_id)
    balance, status = row
    if status != "active":
        return MemberTerminated(member_id)
    return InsufficientPoints(member_id, balance, redeemed)


def _why_not(connection: Connection, code: str, sale: SaleToCommit) -> CouponProblem:
    row = connection.execute(select(Coupon.state, Coupon.owner_id).where(Coupon.code == code)).one_or_none()
    if row is None:
        return "unknown"
    state, owner = row
    if state == "redeemed":
        return "already_used"
    if owner is not None and owner != sale.member_id:
        return "not_owner"
    return "expired"  # issued and owned by this member, so only the validity can have failed


def replay_sale(connection: Connection, transaction_id: str, request_hash: str) -> CommitResult | None:
    """The stored answer for a retried commit; None when no such sale exists."""
    row = connection.execute(
        select(*(_sales.c[name] for name in STORED_SALE)).where(_sales.c.transaction_id == transaction_id)
    ).one_or_none()
    if row is None:
        return None
    sale = StoredSale(*row)
    sale.check(transaction_id, request_hash)
    balance = tier = None
    if sale.member_id is not None:
        balance, tier = connection.execute(
            select(Member.points_balance - Member.points_owed, Member.tier).where(Member.id == sale.member_id)
        ).one()
    return sale.answer(transaction_id, balance, tier)
