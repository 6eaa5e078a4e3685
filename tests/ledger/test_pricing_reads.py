"""The one read that starts Evaluate and Commit: the member, the presented coupons and a stored sale."""

from __future__ import annotations

from datetime import date

import pytest
from ledger_helpers import enroll, line

from server.storage.errors import IdempotencyConflict

DAY = date(2026, 5, 1)


class TestPricingReads:
    def test_member_and_coupons_in_one_read(self, ledger):
        """The member's attributes and each presented code's status, unknown codes included."""
        enroll(ledger, tags=["vip"])
        ledger.issue_coupon("CP-1", "C10", "ledger-test")
        reads = ledger.pricing_reads("M1", ["CP-1", "NOPE", "CP-1"])
        assert reads.member is not None and (reads.member.tier, reads.member.tags) == ("normal", {"vip"})
        assert reads.codes == ("CP-1", "NOPE")
        statuses = reads.coupon_statuses(DAY)
        assert (statuses["CP-1"].definition_id, statuses["CP-1"].problem) == ("C10", None)
        assert statuses["NOPE"].problem == "unknown"
        assert reads.sale is None and reads.replay("any") is None

    def test_guest_and_unknown_member_read_no_member(self, ledger):
        """A guest (None) and an id nobody enrolled both read as no member."""
        ledger.issue_coupon("CP-1", "C10", "ledger-test")
        assert ledger.pricing_reads(None, ["CP-1"]).member is None
        reads = ledger.pricing_reads("M9", [])
        assert reads.member is None and reads.rows == ()

    def test_several_coupons_are_one_row_each(self, ledger):
        """Two ledger codes presented together both resolve, next to the member."""
        enroll(ledger)
        for code in ("A", "B"):
            ledger.issue_coupon(code, "C10", "ledger-test", owner_id="M1")
        reads = ledger.pricing_reads("M1", ["B", "A"])
        assert sorted(r.code for r in reads.rows) == ["A", "B"] and reads.member is not None
        assert {c: s.problem for c, s in reads.coupon_statuses(DAY).items()} == {"B": None, "A": None}

    def test_a_committed_sale_is_found_and_replayed(self, ledger, shop):
        """With the transaction id, the read finds the stored sale: a retry replays it, another
        request under that id conflicts."""
        enroll(ledger)
        sale = shop.sale("T1", (line("1", 10000, 1000),))
        first = ledger.commit_sale(sale)
        reads = ledger.pricing_reads("M1", [], "T1")
        replay = reads.replay(sale.request_hash)
        assert replay is not None and replay.replayed
        assert (replay.result_json, replay.points_earned) == (first.result_json, first.points_earned)
        assert (replay.member_balance, replay.tier) == (first.member_balance, first.tier)
        assert replay == ledger.replay_sale("T1", sale.request_hash)
        with pytest.raises(IdempotencyConflict, match="T1"):
            reads.replay("another request")

    def test_a_guest_sale_replays_without_member(self, ledger, shop):
        """A guest's stored sale replays with no balance and no tier."""
        sale = shop.sale("G1", (line("1", 500, 1000),), member=None)
        ledger.commit_sale(sale)
        replay = ledger.pricing_reads(None, [], "G1").replay(sale.request_hash)
        assert replay is not None and (replay.member_balance, replay.tier) == (None, None)
