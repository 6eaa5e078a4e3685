"""Members and manual points: enrolment, look-up, buying coupons with points, audited adjustments."""

from __future__ import annotations

from datetime import date

import pytest
from ledger_helpers import enroll
from sqlalchemy import select

from server.storage.errors import IdempotencyConflict, InsufficientPoints, MemberNotFound
from server.storage.models import Adjustment
from server.storage.results import CouponOffer

PT5 = CouponOffer("PT5", "ledger-test", points_price=500, validity_days=30)


class TestMembers:
    def test_enroll_and_get(self, ledger):
        """An enrolled member reads back with every attribute, no points and no entries."""
        ledger.enroll_member("M1", "gold", birthday=date(1990, 2, 28), tags=["vip", "b"], segment="s1")
        m = ledger.get_member("M1")
        assert (m.tier, m.birthday, m.tags, m.segment) == ("gold", date(1990, 2, 28), {"vip", "b"}, "s1")
        assert (m.points_balance, m.lifetime_spend_fen, m.status, m.recent) == (0, 0, "active", ())

    def test_enroll_again_same_data_is_idempotent(self, ledger):
        """Enrolling twice with the same data answers the same member."""
        first = ledger.enroll_member("M1", "normal", tags=["a"])
        assert ledger.enroll_member("M1", "normal", tags=["a"]) == first

    def test_enroll_again_different_data_conflicts(self, ledger):
        """Enrolling an existing id with other data is an IdempotencyConflict."""
        ledger.enroll_member("M1", "normal")
        with pytest.raises(IdempotencyConflict):
            ledger.enroll_member("M1", "gold")

    def test_unknown_member(self, ledger):
        """Looking up a member nobody enrolled raises MemberNotFound naming the id."""
        with pytest.raises(MemberNotFound, match="'M9'"):
            ledger.get_member("M9")
        with pytest.raises(MemberNotFound):
            ledger.member_for_evaluation("M9")

    def test_member_for_evaluation(self, ledger):
        """The engine's member carries the tier, attributes and spendable balance."""
        enroll(ledger, tags=["vip"])
        ledger.adjust_points("M1", 70, "gift", "ops", "k")
        m = ledger.member_for_evaluation("M1")
        assert (m.id, m.tier, m.tags, m.points_balance) == ("M1", "normal", frozenset({"vip"}), 70)


class TestRedeemForCoupon:
    def test_spends_points_and_issues_an_owned_coupon(self, ledger):
        """Buying a coupon debits its price and issues a code owned by the member, valid 30 days."""
        enroll(ledger)
        ledger.adjust_points("M1", 800, "gift", "ops", "k")
        r = ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=date(2026, 5, 1))
        assert r.member_balance == 300 and not r.replayed
        assert (r.coupon.owner_id, r.coupon.definition_id, r.coupon.state) == ("M1", "PT5", "issued")
        assert (r.coupon.valid_from, r.coupon.valid_to) == (date(2026, 5, 1), date(2026, 5, 30))
        found = ledger.lookup_coupons([r.coupon.code], member_id="M1", on=date(2026, 5, 2))
        assert found[r.coupon.code].problem is None
        assert ledger.get_member("M1").recent[0].kind == "coupon_purchase"

    def test_retry_issues_no_second_coupon(self, ledger):
        """The same idempotency key returns the same coupon and debits once."""
        enroll(ledger)
        ledger.adjust_points("M1", 1200, "gift", "ops", "k")
        a = ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=date(2026, 5, 1))
        b = ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=date(2026, 5, 1))
        assert b.replayed and b.coupon.code == a.coupon.code
        assert ledger.get_member("M1").points_balance == 700

    def test_short_balance_issues_nothing(self, ledger):
        """With fewer points than the price, InsufficientPoints and no coupon, no entry."""
        enroll(ledger)
        ledger.adjust_points("M1", 499, "gift", "ops", "k")
        with pytest.raises(InsufficientPoints) as err:
            ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=date(2026, 5, 1))
        assert (err.value.balance, err.value.needed) == (499, 500)
        assert [e.kind for e in ledger.get_member("M1").recent] == ["adjust"]

    def test_key_reused_for_another_offer_conflicts(self, ledger):
        """The same key for a different price is an IdempotencyConflict."""
        enroll(ledger)
        ledger.adjust_points("M1", 2000, "gift", "ops", "k")
        ledger.redeem_points_for_coupon("M1", PT5, "buy-1", today=date(2026, 5, 1))
        other = CouponOffer("PT5", "ledger-test", points_price=900)
        with pytest.raises(IdempotencyConflict):
            ledger.redeem_points_for_coupon("M1", other, "buy-1", today=date(2026, 5, 1))


class TestAdjust:
    def test_adjustment_is_audited(self, ledger):
        """An adjustment posts an entry and an audit row with the operator and reason."""
        enroll(ledger)
        r = ledger.adjust_points("M1", 50, "missed scan on 5/1", "alice", "adj-1")
        assert r.member_balance == 50 and not r.replayed
        with ledger.sessions() as s:
            audit = s.scalars(select(Adjustment)).one()
        assert (audit.entry_id, audit.operator, audit.reason, audit.points) == (
            r.entry_id,
            "alice",
            "missed scan on 5/1",
            50,
        )

    def test_retry_and_conflict(self, ledger):
        """The same key and payload replays; the same key with other points conflicts."""
        enroll(ledger)
        ledger.adjust_points("M1", 50, "fix", "alice", "adj-1")
        assert ledger.adjust_points("M1", 50, "fix", "alice", "adj-1").replayed
        with pytest.raises(IdempotencyConflict):
            ledger.adjust_points("M1", 60, "fix", "alice", "adj-1")
        assert ledger.get_member("M1").points_balance == 50

    def test_debit_cannot_overdraw(self, ledger):
        """A negative adjustment larger than the balance is refused."""
        enroll(ledger)
        ledger.adjust_points("M1", 50, "fix", "alice", "adj-1")
        with pytest.raises(InsufficientPoints):
            ledger.adjust_points("M1", -51, "fix", "alice", "adj-2")

    def test_reason_and_operator_are_required(self, ledger):
        """An adjustment without a reason or operator, or of zero points, is refused before the database."""
        with pytest.raises(ValueError, match="reason"):
            ledger.adjust_points("M1", 5, " ", "alice", "k")
        with pytest.raises(ValueError, match="at least one point"):
            ledger.adjust_points("M1", 0, "x", "alice", "k")

    def test_unknown_member(self, ledger):
        """Adjusting a member nobody enrolled raises MemberNotFound."""
        with pytest.raises(MemberNotFound):
            ledger.adjust_points("M9", 5, "x", "alice", "k")


class TestVerifyBalances:
    def test_detects_a_tampered_cache(self, ledger, db):
        """A member row whose cached balance was edited behind the ledger's back is reported."""
        from sqlalchemy import text

        enroll(ledger)
        ledger.adjust_points("M1", 50, "gift", "ops", "k")
        assert ledger.verify_balances() == []
        with db.engine.begin() as c:
            c.execute(text("UPDATE members SET points_balance = 70 WHERE id = 'M1'"))
        (bad,) = ledger.verify_balances()
        assert (bad.member_id, bad.cached, bad.entries) == ("M1", 70, 50)
