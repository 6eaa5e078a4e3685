"""Member history read from the ledger by id (PRODUCT.md "History fields"): a first-purchase coupon
and a win-back coupon for members away 48 days, through Evaluate and Commit, on SQLite and PostgreSQL."""

from __future__ import annotations

from svc_support import CALL_TIMEOUT, Svc, basket

T = CALL_TIMEOUT


def _reasons(reply) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return [(c.code, c.reason, c.discount_fen) for c in reply.coupons]


class TestHistoryFromTheLedger:
    def test_first_purchase_then_win_back(self, svc: Svc) -> None:
        """M1 has no sale: FIRST takes 10% of 380.00 (200.00 - 9折 20.00 + 200.00) = 38.00, capped at
        15.00; BACK is not_eligible (no purchase yet). After one sale on 2026-05-01, FIRST is
        not_eligible; 48 local days later (2026-06-18) BACK takes 20.00, 47 days later it does not."""
        svc.enroll()
        reply = svc.stub.Evaluate(basket(coupons=("FIRST", "BACK")), timeout=T)
        assert _reasons(reply) == [("FIRST", "accepted", 1500), ("BACK", "not_eligible", 0)]
        svc.commit("T1", basket())
        assert svc.ledger.get_member("M1").order_count == 1
        later = basket(coupons=("FIRST", "BACK"), time="2026-06-18T09:00:00+08:00")
        reply = svc.stub.Evaluate(later, timeout=T)
        assert _reasons(reply) == [("FIRST", "not_eligible", 0), ("BACK", "accepted", 2000)]
        sooner = basket(coupons=("BACK",), time="2026-06-17T23:59:00+08:00")
        assert _reasons(svc.stub.Evaluate(sooner, timeout=T)) == [("BACK", "not_eligible", 0)]

    def test_the_ledger_wins_over_inline_history(self, svc: Svc) -> None:
        """A till's inline order_count is ignored for a member the ledger knows."""
        svc.enroll()
        msg = basket(coupons=("FIRST",))
        msg.member.order_count = 7
        assert _reasons(svc.stub.Evaluate(msg, timeout=T))[0][1] == "accepted"

    def test_a_full_return_takes_the_order_back(self, svc: Svc) -> None:
        svc.enroll()
        svc.commit("T1", basket())
        svc.commit("T2", basket())
        assert svc.ledger.get_member("M1").order_count == 2
        svc.ledger.return_lines("T1", "R1", {"1": 1000})  # part of a line: still an order
        assert svc.ledger.get_member("M1").order_count == 2
        svc.ledger.return_lines("T1", "R2", {"1": 1000, "2": 2000})  # the rest: the sale is returned
        assert svc.ledger.get_member("M1").order_count == 1

    def test_a_stateless_till_sends_history_inline(self, svc: Svc) -> None:
        """A guest-style inline member (no id) with its history: the till's figures are used."""
        msg = basket(member=None, coupons=("BACK",), time="2026-06-18T09:00:00+08:00")
        msg.member.tier = "normal"
        msg.member.last_purchase_date = "2026-05-01"
        msg.member.order_count = 1
        assert _reasons(svc.stub.Evaluate(msg, timeout=T)) == [("BACK", "accepted", 2000)]
        msg.member.ClearField("order_count")  # unknown: the condition on it is false
        assert _reasons(svc.stub.Evaluate(msg, timeout=T)) == [("BACK", "not_eligible", 0)]
