"""The one place an exception becomes a gRPC status code.

A till must never see a stack trace, and an integrator must be able to act on what it
does see: a bad field is named the way the .proto names it, an unknown ruleset says
which ones are loaded, and a fault of ours says only which request id to quote (the
details are in the log under that id). Servicer code raises domain exceptions and
never touches ``grpc.StatusCode`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from engine.errors import InvalidRequest, RuleErrors
from server.rulesets.registry import UnknownRuleset
from server.sales.campaigns import UnknownCampaign
from server.sales.errors import CouponNotForPoints, NoLedger, PayableMismatch
from server.storage.errors import (
    BudgetExceeded,
    CouponUnavailable,
    DatabaseUnavailable,
    IdempotencyConflict,
    InsufficientPoints,
    MemberNotFound,
    MemberOfAnotherProgramme,
    MemberTerminated,
    ReferralRefused,
    ReturnExceedsSale,
    SaleNotFound,
)
from server.wire.request import wire_error

__all__ = ["DeadlineExceeded", "Status", "status_for"]


class DeadlineExceeded(Exception):
    """The caller's deadline passed before or while the call was worked on; the work is abandoned."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"deadline exceeded {stage}; the work was abandoned")
        self.stage = stage


@dataclass(frozen=True, slots=True)
class Status:
    """What the caller is told, and whether the failure is ours (logged with its traceback)."""

    code: grpc.StatusCode
    details: str
    internal: bool = False


def status_for(exc: BaseException, request_id: str) -> Status:
    """The status for an exception raised while serving the request ``request_id``."""
    match exc:
        case InvalidRequest():
            wire = wire_error(exc)
            return Status(grpc.StatusCode.INVALID_ARGUMENT, f"{wire.field}: {wire.message}")
        case RuleErrors():
            return Status(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        case UnknownCampaign():
            return Status(grpc.StatusCode.NOT_FOUND, f"campaign: {exc}")
        case UnknownRuleset():
            field = "ruleset_version" if exc.version else "ruleset"
            return Status(grpc.StatusCode.NOT_FOUND, f"{field}: {exc}")
        case DeadlineExceeded():
            return Status(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc))
        case MemberNotFound():
            return Status(grpc.StatusCode.NOT_FOUND, f"member_id: {exc}")
        case BudgetExceeded():
            return Status(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        case MemberOfAnotherProgramme():
            return Status(grpc.StatusCode.FAILED_PRECONDITION, f"member_id: {exc}")
        case ReferralRefused():  # the text starts with the field it is about: referrer_id
            return Status(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        case MemberTerminated():
            # The member exists but may not be served as one: enroll again, or sell as a guest.
            return Status(grpc.StatusCode.FAILED_PRECONDITION, f"member_id: {exc}")
        case SaleNotFound():
            return Status(grpc.StatusCode.NOT_FOUND, f"transaction_id: {exc}")
        case IdempotencyConflict():
            return Status(grpc.StatusCode.ALREADY_EXISTS, str(exc))
        case PayableMismatch() | CouponNotForPoints():
            return Status(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        case CouponUnavailable():
            return Status(grpc.StatusCode.FAILED_PRECONDITION, f"coupon_codes: {exc} (reason: {exc.reason})")
        case InsufficientPoints():
            return Status(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        case ReturnExceedsSale():
            # The request contradicts the sale as stored (an unknown line, too many units): fix the request.
            field = f"lines[{exc.line_id}]" if exc.line_id else "lines"
            return Status(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {exc}")
        case DatabaseUnavailable():
            return Status(grpc.StatusCode.UNAVAILABLE, f"{exc}; retry with the same ids")
        case NoLedger():
            return Status(grpc.StatusCode.UNIMPLEMENTED, str(exc))
        case _:
            # Anything else is a bug of ours (an engine fault, a broken invoice invariant): the
            # caller gets an id to quote, never the exception text, which may echo customer data.
            return Status(
                grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})", internal=True
            )
