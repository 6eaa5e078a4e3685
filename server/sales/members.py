"""The desk's member calls that price nothing: enrolling a member in a programme, buying a coupon
with points. Both check the request against the programme the server serves before the ledger.
GetMember's coupons take their value from the programme served (:func:`coupon_catalog`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from engine.errors import InvalidRequest, did_you_mean
from engine.rules import Coupon
from server._pb.promo.v1 import promo_pb2 as pb
from server.rulesets.registry import RulesetRegistry, UnknownRuleset
from server.sales.errors import CouponNotForPoints
from server.storage.errors import MemberOfAnotherProgramme
from server.storage.results import CouponOffer, MemberView, RedeemResult
from server.storage.store import Ledger
from server.wire.bounds import MAX_TEXT, check_text, shown
from server.wire.ledger import required
from server.wire.request import parse_date

__all__ = ["coupon_catalog", "enroll", "redeem"]


def coupon_catalog(registry: RulesetRegistry, programme: str | None) -> dict[str, Coupon]:
    """The coupons the programme served now declares, by id (empty: not served here)."""
    if not programme:
        return {}
    try:
        return {c.id: c for c in registry.get(programme).ruleset.coupons}
    except UnknownRuleset:
        return {}


def enroll(registry: RulesetRegistry, ledger: Ledger, msg: pb.EnrollMemberRequest) -> MemberView:
    """Enrol a member in a programme the server serves, with one of its tiers.

    ``programme`` may be empty while the server serves exactly one programme (that one).
    """
    member_id = check_text(
        required(msg.member_id, "member_id", "the member's id in the loyalty program"), "member_id"
    )
    tier = check_text(required(msg.tier, "tier", "the member's starting tier id"), "tier")
    for i, tag in enumerate(msg.tags):
        if not tag.strip():
            raise InvalidRequest(f"tags[{i}]", "must not be empty")
        check_text(tag, f"tags[{i}]", MAX_TEXT)
    check_text(msg.segment, "segment", MAX_TEXT)
    check_text(msg.programme, "programme")
    check_text(msg.referrer_id, "referrer_id")
    if msg.referrer_id and msg.referrer_id == member_id:
        raise InvalidRequest("referrer_id", "a member cannot refer themselves")
    names = registry.names()
    if msg.programme:
        if msg.programme not in names:
            raise InvalidRequest(
                "programme",
                f"no programme {shown(msg.programme)} is served here (served: {', '.join(names)})",
            )
        name = msg.programme
    elif len(names) == 1:
        name = names[0]
    else:
        raise InvalidRequest(
            "programme", f"is required: the programme the member joins (served: {', '.join(names)})"
        )
    tiers = tuple(t.id for t in registry.get(name).ruleset.tiers)
    if tier not in tiers:
        hint = did_you_mean(tier, tiers)
        raise InvalidRequest(
            "tier",
            f"programme {name!r} has no tier {shown(tier)} (its tiers: {', '.join(tiers)})"
            + (f"; {hint}" if hint else ""),
        )
    return ledger.enroll_member(
        member_id,
        tier,
        birthday=parse_date(msg.birthday, "birthday"),
        tags=msg.tags,
        segment=msg.segment,
        join_date=parse_date(msg.join_date, "join_date"),
        programme=name,
        referrer_id=msg.referrer_id or None,
    )


def redeem(
    registry: RulesetRegistry, ledger: Ledger, msg: pb.RedeemPointsRequest, now: datetime
) -> RedeemResult:
    """Buy a coupon the programme sells for points (RedeemPoints), for a member of that programme."""
    member_id = required(msg.member_id, "member_id", "the member paying with points")
    required(msg.ruleset, "ruleset", "the ruleset defining the coupon")
    coupon_id = required(msg.coupon_id, "coupon_id", "the coupon definition to buy")
    request_id = required(msg.request_id, "request_id", "the till's id for this purchase")
    compiled = registry.get(msg.ruleset)
    coupons = {c.id: c for c in compiled.ruleset.coupons}
    offers = tuple(c.id for c in compiled.ruleset.coupons if c.points_price is not None)
    definition = coupons.get(coupon_id)
    if definition is None:
        known = ", ".join(sorted(coupons)) or "none"
        raise InvalidRequest(
            "coupon_id", f"ruleset {compiled.name!r} has no coupon {shown(coupon_id)} (its coupons: {known})"
        )
    if definition.points_price is None:
        raise CouponNotForPoints(compiled.name, coupon_id, offers)
    member = ledger.get_member(member_id, recent=0)  # NOT_FOUND before any other check
    if member.programme != compiled.name:  # set once at enrolment: no race with the write below
        raise MemberOfAnotherProgramme(member_id, member.programme, compiled.name)
    today = now.astimezone(ZoneInfo(compiled.ruleset.settings.timezone)).date()
    offer = CouponOffer(definition.id, compiled.name, definition.points_price)
    return ledger.redeem_points_for_coupon(member_id, offer, request_id, today=today)
