"""Referral points in the ledger: checking a referrer at enrolment, posting a sale's referral
entries inside its Commit transaction, clawing them back inside a Return's.

The arithmetic is :mod:`engine.ledger.referral`'s. Entries are ``points_entries`` on the
referrer: kind ``referral`` (naming the sale) and ``referral_return`` (naming the sale and the
return). An entry's ``action`` is ``KEY@BUYER``: the award (so a return knows what a point was
worth without the programme's text) and the referred member (a milestone is paid once per
referred member). A retried Commit never gets here twice: the sale's INSERT refuses it first,
and the idempotency keys (``sale:T:referral:KEY``) would refuse a second posting anyway.

Locks: a sale locks its buyer's row, then the referrers' rows up the chain. Chains have no
cycles, so every transaction locks from descendant to ancestor and none can deadlock another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from engine.ledger.referral import referral_clawback, referral_earnings, would_cycle
from engine.rules import ReferralAward
from server.storage.balances import settle
from server.storage.errors import ReferralRefused
from server.storage.models import Member, PointsEntry

__all__ = ["check_referrer", "claw_back_referrals", "post_referrals", "referral_points"]

REFERRAL_KINDS = ("referral", "referral_return")


def check_referrer(session: Session, member_id: str, referrer_id: str, programme: str | None) -> None:
    """ReferralRefused unless ``referrer_id`` is a member of ``programme`` and no cycle results."""
    row = session.execute(select(Member.programme).where(Member.id == referrer_id)).one_or_none()
    if row is None:
        raise ReferralRefused("referrer_id: no such member in the ledger; enroll the referrer first")
    if row.programme != programme:
        raise ReferralRefused(
            f"referrer_id: the referrer belongs to programme {row.programme!r}, not {programme!r}; "
            "a member can only be referred within their own programme"
        )

    def referrer_of(mid: str) -> str | None:
        return session.scalar(select(Member.referrer_id).where(Member.id == mid))

    if would_cycle(member_id, referrer_id, referrer_of):
        raise ReferralRefused(
            "referrer_id: the referrer was referred by this member; referrals cannot form a cycle"
        )


def post_referrals(
    connection: Connection,
    awards: tuple[ReferralAward, ...],
    transaction_id: str,
    buyer_id: str,
    referrer_id: str,
    paid: int,
    spend_after: int,
    now: datetime,
) -> tuple[str, ...]:
    """Post the referral entries of the buyer's sale; the members paid."""
    chain = [referrer_id]
    if any(a.level == 2 for a in awards):
        second = connection.scalar(select(Member.referrer_id).where(Member.id == referrer_id))
        if second is not None:
            chain.append(second)

    def reached(referrer: str, key: str) -> bool:
        found = connection.scalar(
            select(PointsEntry.id)
            .where(
                PointsEntry.member_id == referrer,
                PointsEntry.kind == "referral",
                PointsEntry.action == f"{key}@{buyer_id}",
            )
            .limit(1)
        )
        return found is not None

    paid_to: list[str] = []
    for post in referral_earnings(awards, tuple(chain), paid, spend_after - paid, spend_after, reached):
        credited = connection.execute(
            update(Member)
            # a terminated member earns nothing
            .where(Member.id == post.referrer_id, Member.status == "active")
            .values(**settle(post.points), updated_at=now)
            .returning(Member.id)
        ).one_or_none()
        if credited is None:
            continue
        connection.execute(
            insert(PointsEntry).values(
                member_id=post.referrer_id,
                kind="referral",
                points=post.points,
                transaction_id=transaction_id,
                action=f"{post.key}@{buyer_id}",
                reason=f"referral level {post.level} from sale {transaction_id}",
                created_at=now,
                idempotency_key=f"sale:{transaction_id}:referral:{post.key}",
            )
        )
        paid_to.append(post.referrer_id)
    return tuple(paid_to)


def claw_back_referrals(
    session: Session,
    transaction_id: str,
    return_id: str,
    paid: int,
    returned_before: int,
    returned_now: int,
    now: datetime,
) -> None:
    """Take back the continuous referral points for ``returned_now`` fen of the sale (milestones stay)."""
    posted = session.execute(
        select(PointsEntry.member_id, PointsEntry.action, PointsEntry.points)
        .where(PointsEntry.transaction_id == transaction_id, PointsEntry.kind == "referral")
        .order_by(PointsEntry.id)
    ).all()
    for referrer, action, _points in posted:
        key = action.split("@", 1)[0]
        points = referral_clawback(key, paid, returned_before, returned_now)
        if points <= 0:
            continue
        session.execute(update(Member).where(Member.id == referrer).values(**settle(-points), updated_at=now))
        session.execute(
            insert(PointsEntry).values(
                member_id=referrer,
                kind="referral_return",
                points=-points,
                transaction_id=transaction_id,
                return_id=return_id,
                action=action,
                reason=f"return {return_id} of referred sale {transaction_id}",
                created_at=now,
                idempotency_key=f"return:{return_id}:referral:{key}",
            )
        )


def referral_points(session: Session, member_id: str) -> int:
    """The member's net referral earnings: what referred members' sales paid, less what returns took."""
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id == member_id, PointsEntry.kind.in_(REFERRAL_KINDS)
        )
    )
    return int(total or 0)
