"""What pricing a sale reads from the ledger, in one SELECT: the member, the presented coupons, the
sale, and what the budget and limit counters it may touch have used.

Evaluate and Commit both start here, so the read is one round trip built once with
SQLAlchemy Core (its compiled form is cached; no ORM session, no identity map). One
driving row is LEFT JOINed to the member, to the sale already stored under the
transaction id (a till's retry) and to every presented coupon code, so each coupon
found is one row and a guest, an unknown member or a first attempt simply join
nothing. Each counter's usage is one more column (a scalar subquery summing its stripes).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, Select, bindparam, literal_column, select

from server.storage.errors import CouponProblem, IdempotencyConflict
from server.storage.members import MEMBER_COLUMNS, view_of
from server.storage.models import Coupon, Member, Sale
from server.storage.results import CommitResult, CouponStatus, MemberView
from server.storage.usage import used_column

__all__ = [
    "STORED_SALE",
    "CouponRow",
    "PricingReads",
    "StoredSale",
    "coupon_status",
    "coupon_statuses",
    "read_for_pricing",
]

_members = Member.__table__
_coupons = Coupon.__table__
_sales = Sale.__table__

_COUPON = ("code", "definition_id", "ruleset", "owner_id", "state", "valid_from", "valid_to")
STORED_SALE = ("request_hash", "result", "points_earned", "points_redeemed", "member_id")
"""The sale columns a :class:`StoredSale` is made of, in its field order."""
_C = len(MEMBER_COLUMNS)  # where a row's coupon columns start
_S = _C + len(_COUPON)  # and its sale columns

_ONE = select(literal_column("1").label("one")).subquery("one")
_READ = select(
    *(_members.c[name].label(f"m_{name}") for name in MEMBER_COLUMNS),
    *(_coupons.c[name].label(f"c_{name}") for name in _COUPON),
    *(_sales.c[name].label(f"s_{name}") for name in STORED_SALE),
).select_from(
    _ONE.outerjoin(_members, _members.c.id == bindparam("p_member"))
    .outerjoin(_sales, _sales.c.transaction_id == bindparam("p_sale"))
    .outerjoin(_coupons, _coupons.c.code.in_(bindparam("p_codes", expanding=True)))
)
_U = _S + len(STORED_SALE)  # and its usage columns


@functools.cache
def _read(counters: int) -> Select[Any]:
    """The read with the usage of ``counters`` counters as its last columns."""
    return _READ.add_columns(*(used_column(n) for n in range(counters))) if counters else _READ


class CouponRow(NamedTuple):
    """The coupon columns a status is decided from."""

    code: str
    definition_id: str
    ruleset: str
    owner_id: str | None
    state: str
    valid_from: date | None
    valid_to: date | None


class StoredSale(NamedTuple):
    """A sale already committed under the transaction id: what a retry is answered from."""

    request_hash: str
    result_json: str
    points_earned: int
    points_redeemed: int
    member_id: str | None

    def check(self, transaction_id: str, request_hash: str) -> None:
        """IdempotencyConflict when the retry's request is not the one committed under the id."""
        if self.request_hash != request_hash:
            raise IdempotencyConflict("transaction", transaction_id)

    def answer(self, transaction_id: str, balance: int | None, tier: str | None) -> CommitResult:
        """The stored answer to a retry, with the member's spendable balance and tier as read now."""
        return CommitResult(
            transaction_id, self.result_json, True, self.points_earned, self.points_redeemed, balance, tier
        )


class _CouponLike(Protocol):
    code: str
    definition_id: str
    ruleset: str
    owner_id: str | None
    state: str
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True, slots=True)
class PricingReads:
    """The member, the presented coupon rows and the stored sale (if any) as one read found them."""

    member_id: str | None
    member: MemberView | None  # None: a guest, or a member id the ledger does not know
    codes: tuple[str, ...]
    rows: tuple[CouponRow, ...]
    transaction_id: str | None = None
    sale: StoredSale | None = None  # the sale already stored under transaction_id
    used: Mapping[str, int] | None = None  # each counter key asked for: what it has used (None: not read)

    def coupon_statuses(self, on: date) -> dict[str, CouponStatus]:
        """Each presented code's status on the sale's local day (``Ledger.lookup_coupons``'s answer)."""
        return coupon_statuses(self.codes, self.rows, self.member_id, on)

    def replay(self, request_hash: str) -> CommitResult | None:
        """The stored answer when the transaction id was committed already; None for a first attempt.

        IdempotencyConflict when it was committed with another request. The member fields are
        the member as this read found them, as ``server.storage.sales.replay_sale`` answers.
        """
        sale = self.sale
        if sale is None or self.transaction_id is None:
            return None
        sale.check(self.transaction_id, request_hash)
        balance = tier = None
        if sale.member_id is not None:
            if self.member is None or self.member.id != sale.member_id:
                return None  # not this read's member (cannot be with an equal hash): read it properly
            balance, tier = self.member.points_balance, self.member.tier
        return sale.answer(self.transaction_id, balance, tier)


def read_for_pricing(
    connection: Connection,
    member_id: str | None,
    codes: Iterable[str],
    transaction_id: str | None = None,
    usage_keys: Sequence[str] | None = None,
) -> PricingReads:
    """Run the one SELECT for ``member_id``, the presented ``codes``, the sale ``transaction_id``
    and the counters ``usage_keys`` (None: none read)."""
    wanted = tuple(dict.fromkeys(codes))
    keys = list(usage_keys or ())
    params: dict[str, Any] = {"p_member": member_id, "p_sale": transaction_id, "p_codes": list(wanted)}
    params.update((f"u_key{n}", key) for n, key in enumerate(keys))
    rows = connection.execute(_read(len(keys)), params).all()
    first = rows[0]  # the driving row makes at least one
    member = view_of(first[:_C]) if first[0] is not None else None
    sale = StoredSale(*first[_S:_U]) if first[_S] is not None else None
    coupons = tuple(CouponRow(*r[_C:_S]) for r in rows if r[_C] is not None)
    used = None if usage_keys is None else {key: int(u) for key, u in zip(keys, first[_U:], strict=True)}
    return PricingReads(member_id, member, wanted, coupons, transaction_id, sale, used)


def coupon_statuses(
    wanted: Sequence[str], rows: Iterable[_CouponLike], member_id: str | None, on: date
) -> dict[str, CouponStatus]:
    """Each wanted code's status; a code without a row is ``unknown`` (a public code, maybe)."""
    found = {c.code: coupon_status(c, member_id, on) for c in rows}
    return {
        code: found.get(code) or CouponStatus(code, None, None, None, None, None, None, "unknown")
        for code in wanted
    }


def coupon_status(c: _CouponLike, member_id: str | None, on: date) -> CouponStatus:
    """Whether ``member_id`` may spend coupon ``c`` on local day ``on``, and why not."""
    problem: CouponProblem | None = None
    if c.state == "redeemed":
        problem = "already_used"
    elif c.owner_id is not None and c.owner_id != member_id:
        problem = "not_owner"
    elif (
        c.state == "expired"
        or (c.valid_from is not None and on < c.valid_from)
        or (c.valid_to is not None and on > c.valid_to)
    ):
        problem = "expired"
    return CouponStatus(
        c.code, c.definition_id, c.ruleset, c.owner_id, c.state, c.valid_from, c.valid_to, problem
    )
