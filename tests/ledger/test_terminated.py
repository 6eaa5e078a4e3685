"""A terminated member at the ledger: the guarded commit refuses them and writes nothing, what was
posted before the termination (a retry, a return) still works, and staff corrections still post."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from ledger_helpers import CST, enroll, line
from sqlalchemy import func, select, update

from engine.rules import Settings
from server.storage.errors import InsufficientPoints, MemberTerminated
from server.storage.models import Coupon, Member, PointsEntry, Sale
from server.storage.results import CouponOffer

DAY = date(2026, 5, 1)


def _count(ledger, model) -> int:
    with ledger.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def terminate(ledger, member_id: str = "M1") -> None:
    """What ``promo maintain`` does to an inactive member under a terminate policy."""
    with ledger.sessions() as s, s.begin():
        s.execute(
            update(Member)
            .where(Member.id == member_id)
            .values(status="terminated", version=Member.version + 1)
        )


def _snapshot(ledger) -> tuple:
    """Everything a refused commit must leave as it was."""
    m = ledger.get_member("M1")
    coupon = ledger.lookup_coupons(["CP-1"], member_id="M1", on=DAY)["CP-1"]
    return (
        m.points_balance,
        m.lifetime_spend_fen,
        m.last_purchase_at,
        m.tier,
        _count(ledger, Sale),
        _count(ledger, PointsEntry),
        coupon.state,
        coupon.problem,
    )


class TestCommitGuard:
    def test_sale_priced_while_active_is_refused_after_termination(self, ledger, shop):
        """A sale priced before the termination and posted after it (the race) is refused whole."""
        enroll(ledger)
        ledger.adjust_points("M1", 1000, "welcome gift", "ops", "k1")
        ledger.issue_coupon("CP-1", "C10", "ledger-test", owner_id="M1")
        sale = shop.sale(
            "T1", (line("1", 10000, 1000),), balance=1000, redeem=500, coupons=(("CP-1", "C10"),)
        )
        assert sale.evaluation.points.earned > 0 and sale.coupon_codes == ("CP-1",)  # it would write all
        terminate(ledger)
        before = _snapshot(ledger)
        with pytest.raises(MemberTerminated, match="'M1' was terminated") as err:
            ledger.commit_sale(sale)
        assert err.value.member_id == "M1"
        assert _snapshot(ledger) == before == (1000, 0, None, "normal", 0, 1, "issued", None)
        assert ledger.get_member("M1").status == "terminated"
        assert ledger.verify_balances() == []

    def test_termination_is_named_before_too_few_points(self, ledger, shop):
        """A terminated member short of points hears about the termination, not the balance."""
        enroll(ledger)
        ledger.adjust_points("M1", 100, "gift", "ops", "k1")
        sale = shop.sale("T1", (line("1", 10000, 1000),), balance=1000, redeem=500)
        with pytest.raises(InsufficientPoints):  # while active, the balance is what stops it
            ledger.commit_sale(sale)
        terminate(ledger)
        with pytest.raises(MemberTerminated):
            ledger.commit_sale(sale)
        assert _count(ledger, Sale) == 0 and ledger.get_member("M1").points_balance == 100

    def test_termination_by_maintain_is_refused(self, ledger, shop):
        """A member ``promo maintain`` terminated cannot commit a sale; a guest sale still commits."""
        enroll(ledger, join_date=date(2024, 1, 1))
        settings = Settings(inactivity_days=365, inactivity_action="terminate")
        assert ledger.maintain(date(2026, 1, 1), settings, shop.compiled.ruleset.tiers).terminated == ("M1",)
        with pytest.raises(MemberTerminated):
            ledger.commit_sale(shop.sale("T1", (line("1", 5000, 1000),)))
        assert not ledger.commit_sale(shop.sale("G1", (line("1", 5000, 1000),), member=None)).replayed
        assert _count(ledger, Sale) == 1 and _count(ledger, PointsEntry) == 0


class TestBeforeTheTermination:
    def test_retry_of_an_earlier_commit_replays(self, ledger, shop):
        """A retry of a sale committed while active still gets its stored answer and changes nothing."""
        enroll(ledger)
        sale = shop.sale("T1", (line("1", 10000, 1000),))
        first = ledger.commit_sale(sale)
        terminate(ledger)
        again = ledger.commit_sale(sale)
        assert again.replayed and again.result_json == first.result_json
        assert again.points_earned == first.points_earned == 100
        assert ledger.get_member("M1").points_balance == 100 and _count(ledger, PointsEntry) == 1

    def test_return_claws_back_after_termination(self, ledger, shop):
        """Returning a sale made while active claws its points back from the terminated member."""
        enroll(ledger)
        ledger.commit_sale(
            shop.sale("T1", (line("1", 10000, 2000),), at=datetime(2026, 5, 1, 10, tzinfo=CST))
        )
        terminate(ledger)
        result = ledger.return_lines("T1", "R1", {"1": 1000})
        assert result.points_clawed_back == 100 and result.member_balance == 100
        member = ledger.get_member("M1")
        assert (member.points_balance, member.lifetime_spend_fen, member.status) == (100, 10000, "terminated")
        assert ledger.verify_balances() == []


class TestStaffCorrections:
    def test_adjustments_still_post_and_do_not_reactivate(self, ledger):
        """Finance may credit or debit a terminated member (audited); the balance still cannot go negative."""
        enroll(ledger)
        ledger.adjust_points("M1", 300, "gift", "ops", "k1")
        terminate(ledger)
        assert ledger.adjust_points("M1", 50, "complaint", "ana", "k2").member_balance == 350
        assert ledger.adjust_points("M1", -350, "close the account", "ana", "k3").member_balance == 0
        with pytest.raises(InsufficientPoints):
            ledger.adjust_points("M1", -1, "overdraw", "ana", "k4")
        member = ledger.get_member("M1")
        assert (member.status, member.points_balance) == ("terminated", 0)
        assert [e.kind for e in member.recent] == ["adjust"] * 3
        assert ledger.verify_balances() == []


PT5 = CouponOffer("PT5", "ledger-test", points_price=500, validity_days=30)


class TestPointsPurchase:
    def test_purchase_is_refused_in_its_own_transaction(self, ledger):
        """The ledger itself refuses a terminated member's purchase: no check before it to race."""
        enroll(ledger)
        ledger.adjust_points("M1", 1000, "welcome gift", "ops", "k1")
        terminate(ledger)
        entries = _count(ledger, PointsEntry)
        with pytest.raises(MemberTerminated):
            ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=DAY)
        assert ledger.get_member("M1").points_balance == 1000
        assert _count(ledger, PointsEntry) == entries
        assert _count(ledger, Coupon) == 0

    def test_termination_is_named_before_too_few_points(self, ledger):
        enroll(ledger)
        terminate(ledger)
        with pytest.raises(MemberTerminated):
            ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=DAY)

    def test_retry_of_a_purchase_made_before_gets_its_coupon(self, ledger):
        """A till retrying a purchase that went through before the termination gets the same coupon."""
        enroll(ledger)
        ledger.adjust_points("M1", 1000, "welcome gift", "ops", "k1")
        first = ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=DAY)
        terminate(ledger)
        again = ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=DAY)
        assert again.replayed and not first.replayed
        assert again.coupon.code == first.coupon.code
        assert ledger.get_member("M1").points_balance == 500
