"""The ledger RPCs: Promotions' member, commit and return calls, and the separate Admin service.

Same shape as :mod:`server.rpc.promotions`: each method decodes, delegates (to
:class:`server.sales.desk.SalesDesk` or the :class:`Ledger`) and encodes, inside the
shared :func:`server.rpc.promotions.rpc` wrapper. Without a ledger the ledger calls answer
UNIMPLEMENTED and Evaluate behaves exactly as the ledger-less service.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

import grpc

from engine.errors import InvalidRequest
from engine.rules import Campaign
from server._pb.promo.v1 import promo_pb2 as pb
from server._pb.promo.v1 import promo_pb2_grpc as pb_grpc
from server.rpc.logs import get_logger
from server.rpc.promotions import PromotionsServicer, rpc
from server.rpc.session import serve_session
from server.rulesets.registry import RulesetRegistry
from server.sales.budgets import budget_plan
from server.sales.campaigns import BudgetStatus, campaign_status, find_campaign
from server.sales.desk import MAX_CLOCK_SKEW, SalesDesk
from server.sales.errors import NoLedger
from server.sales.members import coupon_catalog
from server.sales.pricing import Evaluator, default_evaluate
from server.sales.session import SessionBook
from server.storage.store import Ledger
from server.trust.callers import caller_name
from server.wire.bounds import MAX_TEXT, check_points, check_text
from server.wire.ledger import (
    adjust_to_proto,
    member_to_proto,
    redeem_to_proto,
    required,
    return_quantities,
    return_to_proto,
)
from server.wire.request import parse_date

__all__ = ["AdminServicer", "LedgerPromotionsServicer"]

DEFAULT_RECENT = 20
MAX_RECENT = 200


class LedgerPromotionsServicer(PromotionsServicer):
    """promo.v1.Promotions with the ledger calls; ``ledger`` None serves pricing only."""

    def __init__(
        self,
        registry: RulesetRegistry,
        evaluate: Evaluator = default_evaluate,
        ledger: Ledger | None = None,
        max_clock_skew: timedelta = MAX_CLOCK_SKEW,
        *,
        gate: AbstractContextManager[Any] | None = None,
        sessions: SessionBook | None = None,
    ) -> None:
        super().__init__(registry, evaluate, gate)
        self.ledger = ledger
        self.desk = SalesDesk(ledger, registry, evaluate, max_clock_skew) if ledger is not None else None
        self.sessions = sessions if sessions is not None else SessionBook()

    def _desk(self, method: str) -> SalesDesk:
        if self.desk is None:
            raise NoLedger(method)
        return self.desk

    @rpc
    def Evaluate(self, request: pb.EvaluateRequest, context: grpc.ServicerContext) -> pb.EvaluateReply:
        by_member = request.HasField("member") and bool(request.member.id)
        compiled = self._ruleset(request)
        limited = budget_plan(compiled).active  # budgets count guests' sales too
        if self.desk is None or not (by_member or request.coupon_codes or limited):
            return PromotionsServicer.Evaluate.__wrapped__(self, request, context)  # type: ignore[attr-defined]
        priced = self.desk.quote(request, compiled)
        return priced.reply

    @rpc
    def EnrollMember(self, request: pb.EnrollMemberRequest, context: grpc.ServicerContext) -> pb.MemberReply:
        return member_to_proto(self._desk("EnrollMember").enroll(request))

    @rpc
    def GetMember(self, request: pb.GetMemberRequest, context: grpc.ServicerContext) -> pb.MemberReply:
        desk = self._desk("GetMember")
        member_id = required(request.member_id, "member_id", "the member's id")
        if not 0 <= request.recent_entries <= MAX_RECENT:
            raise InvalidRequest(
                "recent_entries", f"must be between 0 and {MAX_RECENT} (got {request.recent_entries})"
            )
        view = desk.ledger.get_member(member_id, request.recent_entries or DEFAULT_RECENT)
        return member_to_proto(view, coupon_catalog(desk.registry, view.programme))

    @rpc
    def Commit(self, request: pb.CommitRequest, context: grpc.ServicerContext) -> pb.CommitReply:
        reply = self._desk("Commit").commit(request)
        self.sessions.drop(request.transaction_id)  # a dropped stream's sale, committed by unary Commit
        return reply

    def TillSession(
        self, request_iterator: Iterator[pb.SessionRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.SessionReply]:
        """One sale on one stream; the protocol is in the .proto, the plumbing in server.rpc.session."""
        if self.desk is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, str(NoLedger("TillSession")))
        return serve_session(self.desk, self.sessions, self.gate, self.log, request_iterator, context)

    @rpc
    def Return(self, request: pb.ReturnRequest, context: grpc.ServicerContext) -> pb.ReturnReply:
        desk = self._desk("Return")
        tid = required(request.transaction_id, "transaction_id", "the committed sale's id")
        return_id = required(request.return_id, "return_id", "the till's id for this return")
        return return_to_proto(desk.ledger.return_lines(tid, return_id, return_quantities(request)))

    @rpc
    def UpdateMember(self, request: pb.UpdateMemberRequest, context: grpc.ServicerContext) -> pb.MemberReply:
        desk = self._desk("UpdateMember")
        member_id = required(request.member_id, "member_id", "the member to change")
        fields: dict[str, Any] = {}
        if request.set_tags:
            for i, tag in enumerate(request.tags):
                if not tag.strip():
                    raise InvalidRequest(f"tags[{i}]", "must not be empty")
                check_text(tag, f"tags[{i}]", MAX_TEXT)
            fields["tags"] = list(request.tags)
        elif request.tags:
            raise InvalidRequest("tags", "are given but set_tags is false: set it to replace the tags")
        if request.HasField("birthday"):
            fields["birthday"] = parse_date(request.birthday, "birthday")
        if request.HasField("segment"):
            check_text(request.segment, "segment", MAX_TEXT)
            fields["segment"] = request.segment
        return member_to_proto(desk.ledger.update_member(member_id, **fields))

    @rpc
    def RedeemPoints(
        self, request: pb.RedeemPointsRequest, context: grpc.ServicerContext
    ) -> pb.RedeemPointsReply:
        desk = self._desk("RedeemPoints")
        return redeem_to_proto(desk.redeem(request, desk.ledger.clock()))


class AdminServicer(pb_grpc.AdminServicer):
    """promo.v1.Admin: back-office corrections, apart from the tills' calls."""

    def __init__(
        self,
        registry: RulesetRegistry,
        ledger: Ledger | None = None,
        gate: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.registry = registry
        self.ledger = ledger
        self.gate = gate if gate is not None else nullcontext()
        self.log = get_logger()

    @rpc
    def AdjustPoints(
        self, request: pb.AdjustPointsRequest, context: grpc.ServicerContext
    ) -> pb.AdjustPointsReply:
        if self.ledger is None:
            raise NoLedger("AdjustPoints")
        member_id = required(request.member_id, "member_id", "the member to correct")
        if request.points == 0:
            raise InvalidRequest("points", "must not be 0: a correction moves at least one point")
        check_points(request.points, "points")
        if not request.reason.strip():
            raise InvalidRequest("reason", "is required: why the points are corrected (kept for the audit)")
        check_text(request.reason, "reason", MAX_TEXT)
        operator = caller_name(context) or request.operator
        if not operator.strip():
            raise InvalidRequest("operator", "is required: who corrects the points (kept for the audit)")
        check_text(operator, "operator")
        request_id = required(request.request_id, "request_id", "the caller's id for this correction")
        result = self.ledger.adjust_points(member_id, request.points, request.reason, operator, request_id)
        return adjust_to_proto(result)

    @rpc
    def ChangeMemberTier(
        self, request: pb.ChangeMemberTierRequest, context: grpc.ServicerContext
    ) -> pb.MemberReply:
        if self.ledger is None:
            raise NoLedger("ChangeMemberTier")
        member_id = required(request.member_id, "member_id", "the member")
        tier = check_text(required(request.tier, "tier", "the new tier id"), "tier")
        reason = self._reason(request.reason, "why the tier changes")
        programme = self.ledger.get_member(member_id, recent=0).programme
        tiers = tuple(t.id for t in self.registry.get(programme).ruleset.tiers) if programme else ()
        if tier not in tiers:
            raise InvalidRequest(
                "tier", f"the member's programme has no tier {tier!r} (its tiers: {', '.join(tiers)})"
            )
        return member_to_proto(self.ledger.change_tier(member_id, tier, reason, self._operator(context)))

    @rpc
    def EraseMember(
        self, request: pb.EraseMemberRequest, context: grpc.ServicerContext
    ) -> pb.EraseMemberReply:
        if self.ledger is None:
            raise NoLedger("EraseMember")
        member_id = required(request.member_id, "member_id", "the member to erase")
        reason = self._reason(request.reason, "why the member is erased (the request's reference)")
        return pb.EraseMemberReply(
            anonymous_id=self.ledger.erase_member(member_id, reason, self._operator(context))
        )

    @staticmethod
    def _reason(reason: str, what: str) -> str:
        if not reason.strip():
            raise InvalidRequest("reason", f"is required: {what}, kept for the audit")
        check_text(reason, "reason", MAX_TEXT)
        return reason

    @staticmethod
    def _operator(context: grpc.ServicerContext) -> str:
        return caller_name(context) or "unauthenticated"

    @rpc
    def ListRulesets(
        self, request: pb.ListRulesetsRequest, context: grpc.ServicerContext
    ) -> pb.ListRulesetsReply:
        return PromotionsServicer.ListRulesets.__wrapped__(self, request, context)  # type: ignore[attr-defined]

    @rpc
    def GetCampaign(self, request: pb.GetCampaignRequest, context: grpc.ServicerContext) -> pb.CampaignReply:
        if self.ledger is None:
            raise NoLedger("GetCampaign")
        name = required(request.programme, "programme", "the programme (a served ruleset's name)")
        campaign_id = required(request.campaign, "campaign", "the campaign's id")
        compiled = self.registry.get(name)
        campaign = find_campaign(compiled, campaign_id)
        day = parse_date(request.date, "date") or datetime.now(compiled.zone).date()
        return campaign_to_proto(
            compiled.name, campaign, campaign_status(self.ledger, compiled, campaign, day)
        )


def campaign_to_proto(programme: str, campaign: Campaign, budgets: list[BudgetStatus]) -> pb.CampaignReply:
    day = lambda d: d.isoformat() if d else ""  # noqa: E731
    return pb.CampaignReply(
        programme=programme,
        campaign=campaign.id,
        label=campaign.label,
        owner=campaign.owner,
        status=campaign.status,
        valid_from=day(campaign.date_from),
        valid_to=day(campaign.date_to),
        file=campaign.file,
        budgets=[
            pb.CampaignBudget(
                kind=b.kind, period=b.period, period_key=b.period_key, cap=b.cap, used=b.used, left=b.left
            )
            for b in budgets
        ],
    )
