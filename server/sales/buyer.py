"""Who is buying and with what: the ledger's member and the presented codes, checked against the
programme being priced. Shared by the unary quote and commit (:mod:`server.sales.desk`) and the till
session's scans (:mod:`server.sales.session`), so both refuse and resolve alike."""

from __future__ import annotations

import dataclasses

from engine.compiled import CompiledRuleset
from engine.model import Request
from server.storage.errors import MemberOfAnotherProgramme, MemberTerminated
from server.storage.pricing import PricingReads
from server.storage.results import MemberView
from server.wire.ledger import PresentedCoupons, resolve_coupons

__all__ = ["check_ledger_member", "present_coupons"]


def check_ledger_member(member: MemberView, compiled: CompiledRuleset) -> None:
    """Refuse to price a member the ledger knows but who may not buy as one in ``compiled``'s programme."""
    if member.status != "active":
        raise MemberTerminated(member.id)  # even with inline attributes: the ledger knows them
    if member.programme != compiled.name:
        raise MemberOfAnotherProgramme(member.id, member.programme, compiled.name)


def present_coupons(
    basket: Request, reads: PricingReads, compiled: CompiledRuleset
) -> tuple[Request, PresentedCoupons]:
    """``basket`` with its presented codes as the engine prices them (a ledger code becomes its
    coupon definition; a code that cannot be spent, nothing), and how each code resolved."""
    if not basket.coupons:
        return basket, PresentedCoupons()
    day = basket.at.astimezone(compiled.zone).date()
    issued_only = {i.coupon for i in compiled.ruleset.settings.issued}  # owner-bound: never by bare id
    presented = resolve_coupons(list(basket.coupons), reads.coupon_statuses(day), compiled.name, issued_only)
    if presented.engine_codes != basket.coupons:
        basket = dataclasses.replace(basket, coupons=presented.engine_codes)
    return basket, presented
