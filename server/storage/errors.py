"""Named ledger failures, each a sentence a till operator or integrator can act on.

``server.rpc.status`` maps them to gRPC codes: IdempotencyConflict is ALREADY_EXISTS,
the not-found ones NOT_FOUND, CouponUnavailable / InsufficientPoints / MemberTerminated
FAILED_PRECONDITION, ReturnExceedsSale INVALID_ARGUMENT, DatabaseUnavailable UNAVAILABLE.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BudgetExceeded",
    "CouponUnavailable",
    "DatabaseUnavailable",
    "IdempotencyConflict",
    "InsufficientPoints",
    "LedgerError",
    "MemberNotFound",
    "MemberOfAnotherProgramme",
    "MemberTerminated",
    "ReferralRefused",
    "ReturnExceedsSale",
    "SaleNotFound",
]

CouponProblem = Literal["already_used", "not_owner", "expired", "unknown"]


class LedgerError(Exception):
    """Root of every ledger failure that is the caller's business, not a bug."""


class DatabaseUnavailable(LedgerError):
    """The database cannot be reached or refused the connection; safe to retry later."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the ledger database is unavailable: {detail}")
        self.detail = detail


class MemberNotFound(LedgerError):
    def __init__(self, member_id: str) -> None:
        super().__init__(f"no member {member_id!r} in the ledger; enroll the member first")
        self.member_id = member_id


class MemberTerminated(LedgerError):
    """The membership was ended (``promo maintain``, after long inactivity): the member may no longer
    be priced as a member, earn or spend points. Returns and staff adjustments still post."""

    def __init__(self, member_id: str) -> None:
        super().__init__(
            f"member {member_id!r} was terminated after long inactivity and cannot earn or spend points; "
            "the customer must enroll again (under a new member id), or ring the sale up as a guest "
            "(without a member id)"
        )
        self.member_id = member_id


class MemberOfAnotherProgramme(LedgerError):
    """The member belongs to another programme than the one the call names (or, from an older
    ledger, to none yet): they may not be priced, earn or spend there."""

    def __init__(self, member_id: str, theirs: str | None, named: str) -> None:
        if theirs is None:
            message = (
                f"member {member_id!r} belongs to no programme yet (a ledger from before programmes); "
                f"an operator places them with `promo db place --programme {named} --member {member_id}`"
            )
        else:
            message = (
                f"member {member_id!r} belongs to programme {theirs!r}, not {named!r}: "
                "name the member's programme in `ruleset`"
            )
        super().__init__(message)
        self.member_id = member_id
        self.theirs = theirs
        self.named = named


class ReferralRefused(LedgerError):
    """The referrer an enrolment names cannot refer this member: unknown, of another programme, or
    referred (directly or not) by the member, which would make a cycle. Nothing was enrolled."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{detail}; the member was not enrolled")
        self.detail = detail


class BudgetExceeded(LedgerError):
    """Committing the sale would use more of a campaign's budget or a rule's limit than is left:
    another till used it since the quote. Nothing was posted."""

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(
            f"{what} has not enough left for this sale{detail}: another till used it since the quote; "
            "quote the basket again (Evaluate) and show the customer the new amount"
        )
        self.what = what


class SaleNotFound(LedgerError):
    def __init__(self, transaction_id: str) -> None:
        super().__init__(f"no committed sale {transaction_id!r}; commit it before returning its lines")
        self.transaction_id = transaction_id


class IdempotencyConflict(LedgerError):
    """The key was used before with a different payload: a till reused an id, never a retry."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(
            f"{what} {key!r} was already recorded with a different payload; "
            "a retry must resend exactly the same request, a new operation needs a new id"
        )
        self.what = what
        self.key = key


class CouponUnavailable(LedgerError):
    """A presented coupon cannot be spent; ``reason`` is the CouponResult reason the till sees."""

    def __init__(self, code: str, reason: CouponProblem) -> None:
        why = {
            "already_used": "was already redeemed",
            "not_owner": "belongs to another member",
            "expired": "is outside its validity",
            "unknown": "was never issued",
        }[reason]
        super().__init__(f"coupon {code!r} {why}; the sale was not committed")
        self.code = code
        self.reason = reason


class InsufficientPoints(LedgerError):
    def __init__(self, member_id: str, balance: int, needed: int) -> None:
        super().__init__(f"member {member_id!r} has {balance} points, {needed} are needed; nothing was spent")
        self.member_id = member_id
        self.balance = balance
        self.needed = needed


class ReturnExceedsSale(LedgerError):
    """A return names a line the sale lacks, or more units than are left of it."""

    def __init__(self, transaction_id: str, line_id: str, reason: str, detail: str) -> None:
        super().__init__(f"return against sale {transaction_id!r} refused: {detail}")
        self.transaction_id = transaction_id
        self.line_id = line_id
        self.reason = reason
