"""Referral points, two levels, on both databases: the chain A <- B <- C (A referred B, B referred C).

The awards are the health chain's: level 1 earns 1 point per 10.00 paid and 50 points once the
referred member's spend reaches 500.00; level 2 earns 1 point per 100.00.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from ledger_helpers import enroll, line

from engine.ledger.referral import continuous_points, referral_clawback
from engine.rules import ReferralAward
from server.storage.errors import IdempotencyConflict, MemberNotFound, ReferralRefused

AWARDS = (
    ReferralAward(1, 1, per=1000),
    ReferralAward(2, 1, per=10000),
    ReferralAward(1, 50, at=50000),
)


@pytest.fixture
def chain(ledger):
    enroll(ledger, "A")
    enroll(ledger, "B", referrer_id="A")
    enroll(ledger, "C", referrer_id="B")
    return ledger


def sale_of(shop, tid, price, units, member="C"):
    """``units`` x ``price`` fen (no discount applies to category X) bought by ``member``."""
    return replace(
        shop.sale(tid, (line("1", price, units * 1000, category="X"),), member=member), referral=AWARDS
    )


def points(ledger, member_id):
    return ledger.get_member(member_id).points_balance


class TestReferralPoints:
    def test_both_levels_earn_once_under_retries(self, chain, shop):
        """C pays 900.00: B earns 90 + the 50 milestone, A earns 9; two retries post nothing more."""
        sale = sale_of(shop, "T1", 30000, 3)
        assert sale.evaluation.payable == 90000
        chain.commit_sale(sale)
        assert chain.commit_sale(sale).replayed
        assert chain.commit_sale(sale).replayed
        assert (points(chain, "B"), points(chain, "A")) == (140, 9)
        b = chain.get_member("B")
        assert b.referral_points == 140 and b.referrer_id == "A"
        kinds = sorted((e.kind, e.points, e.transaction_id) for e in b.recent)
        assert kinds == [("referral", 50, "T1"), ("referral", 90, "T1")]
        # C's own earn is untouched by referral: the buyer gets their usual points only.
        assert points(chain, "C") == sale.evaluation.points.earned

    def test_return_claws_back_the_continuous_part_only(self, chain, shop):
        """Returning 2 of 3 units (600.00) takes back 60 from B and 6 from A; the milestone stays,
        and crossing 500.00 again later pays no second milestone."""
        chain.commit_sale(sale_of(shop, "T1", 30000, 3))
        chain.return_lines("T1", "R1", {"1": 1000})
        assert (points(chain, "B"), points(chain, "A")) == (140 - 30, 9 - 3)
        chain.return_lines("T1", "R1", {"1": 1000})  # a retried return takes nothing more
        chain.return_lines("T1", "R2", {"1": 1000})
        assert (points(chain, "B"), points(chain, "A")) == (140 - 60, 9 - 6)
        assert chain.get_member("C").lifetime_spend_fen == 30000
        chain.commit_sale(sale_of(shop, "T2", 30000, 1))  # spend 300.00 -> 600.00 crosses 500.00 again
        assert (points(chain, "B"), points(chain, "A")) == (80 + 30, 3 + 3)
        assert chain.get_member("A").referral_points == 6
        returns = [e for e in chain.get_member("B").recent if e.kind == "referral_return"]
        assert sorted(e.points for e in returns) == [-30, -30]
        assert {e.return_id for e in returns} == {"R1", "R2"}

    def test_the_points_report_lists_them_and_ties_out(self, chain, shop):
        """promo report points: referral and its clawback are movements of their own; it ties out."""
        from datetime import date, datetime
        from zoneinfo import ZoneInfo

        from server.finance.points import points_report

        chain.commit_sale(sale_of(shop, "T1", 30000, 3))
        chain.return_lines("T1", "R1", {"1": 1000})
        zone = ZoneInfo("Asia/Shanghai")
        report = points_report(
            chain, datetime.now(zone).date(), zone, 100, period_from=date(2020, 1, 1), progress=False
        )
        assert report.problems == []
        assert (report.movements["referral"], report.movements["referral_clawed_back"]) == (149, -33)

    def test_no_referrer_no_referral_entries(self, chain, shop):
        """A's own purchase pays nobody (A was referred by nobody)."""
        chain.commit_sale(sale_of(shop, "T1", 30000, 3, member="A"))
        assert points(chain, "B") == 0 and chain.get_member("A").referral_points == 0


class TestReferrerRefused:
    def test_unknown_referrer(self, ledger):
        with pytest.raises(ReferralRefused, match=r"^referrer_id: no such member"):
            enroll(ledger, "B", referrer_id="nobody")
        with pytest.raises(MemberNotFound):
            ledger.get_member("B")

    def test_cross_programme(self, ledger):
        enroll(ledger, "X", programme="other")
        with pytest.raises(ReferralRefused, match=r"^referrer_id: .*programme 'other'"):
            enroll(ledger, "Y", programme="ledger-test", referrer_id="X")

    def test_cycle(self, chain):
        """A cannot be re-enrolled as referred by C (C <- B <- A): that would be a cycle."""
        with pytest.raises(ReferralRefused, match="cycle"):
            enroll(chain, "A", referrer_id="C")
        assert chain.get_member("A").referrer_id is None

    def test_set_once(self, chain):
        """Enrolling C again with another referrer conflicts; with the same one it replays."""
        with pytest.raises(IdempotencyConflict):
            enroll(chain, "C", referrer_id="A")
        assert chain.get_member("C").referrer_id == "B"
        assert enroll(chain, "C", referrer_id="B") is None  # the helper returns nothing: no error


class TestArithmetic:
    @pytest.mark.parametrize("paid", [0, 999, 1000, 12345, 99999])
    def test_returns_in_parts_sum_to_the_whole(self, paid):
        """However a sale is returned, the clawbacks add up to what the sale earned."""
        key = "1:per:3/1000"
        parts = [paid // 3, paid // 3, paid - 2 * (paid // 3)]
        taken, before = 0, 0
        for part in parts:
            taken += referral_clawback(key, paid, before, part)
            before += part
        assert taken == continuous_points(paid, 3, 1000)

    def test_milestones_are_never_clawed_back(self):
        assert referral_clawback("1:at:50/50000", 90000, 0, 90000) == 0


class TestReferralsInTheAuditExport:
    def test_each_entry_is_a_record_and_the_total_ties_out_to_the_points_report(self, chain, shop):
        """Referral entries (naming the referred sale) and their clawbacks are records of the audit
        export with their points; their total equals the points report's referral movements."""
        import csv
        import io
        import json
        from datetime import date, datetime
        from zoneinfo import ZoneInfo

        from server.finance.export import export
        from server.finance.points import points_report

        chain.commit_sale(sale_of(shop, "T1", 30000, 3))
        chain.return_lines("T1", "R1", {"1": 1000})
        zone = ZoneInfo("Asia/Shanghai")
        today = datetime.now(zone).date()
        out = io.StringIO()
        assert export(chain, date(2026, 1, 1), today, zone, "json", out) == 7  # sale, return, 3 + 2 entries
        data = json.loads(out.getvalue())
        referrals = [r for r in data["records"] if r["record"].startswith("referral")]
        assert sorted(
            (r["record"], r["member"], r["points_earned"], r["points_clawed_back"]) for r in referrals
        ) == [
            ("referral", "A", 9, 0),
            ("referral", "B", 50, 0),
            ("referral", "B", 90, 0),
            ("referral_return", "A", 0, 3),
            ("referral_return", "B", 0, 30),
        ]
        assert all(r["transaction_id"] == "T1" and r["invoices"] == [] for r in referrals)
        assert {r["return_id"] for r in referrals if r["record"] == "referral_return"} == {"R1"}
        assert len({frozenset(r) for r in data["records"]}) == 1  # every key on every record, still
        report = points_report(chain, today, zone, 100, period_from=date(2026, 1, 1), progress=False)
        moved = report.movements["referral"] + report.movements["referral_clawed_back"]
        (total,) = [t for t in data["period_totals"] if t["record"] == "period_total_referral_points"]
        assert int(total["points"]) == moved == 149 - 33
        assert sum(r["points_earned"] - r["points_clawed_back"] for r in referrals) == moved

        text = io.StringIO()
        export(chain, date(2026, 1, 1), today, zone, "csv", text)
        rows = list(csv.DictReader(io.StringIO(text.getvalue())))
        entry_rows = [r for r in rows if r["record"] in ("referral", "referral_return")]
        assert len(entry_rows) == len(referrals) and all(r["line_no"] == "" for r in entry_rows)
        assert sum(int(r["points"]) for r in entry_rows) == moved
        assert [r["points"] for r in rows if r["record"] == "period_total_referral_points"] == [str(moved)]
        assert all(r["points"] == "" for r in rows if r["record"] in ("sale", "return"))
