"""Returns: exact clawback over several returns, never more than sold, idempotent by return id."""

from __future__ import annotations

import pytest
from ledger_helpers import enroll, line

from engine.invoice.build import LineKind
from server.storage.errors import IdempotencyConflict, ReturnExceedsSale, SaleNotFound


@pytest.fixture
def sold(ledger, shop):
    """M1 bought 3 x 33.30 (category A, 9折) and 1.25 kg at 6.40 (exempt) in sale T1."""
    enroll(ledger)
    sale = shop.sale("T1", (line("1", 3330, 3000, category="A"), line("2", 640, 1250, tax="exempt")))
    ledger.commit_sale(sale)
    return sale


class TestReturns:
    def test_partial_return_claws_back_its_share(self, ledger, sold):
        """Returning one of three units claws back a third of the line's points, floored."""
        share = sold.evaluation.lines[0].points
        result = ledger.return_lines("T1", "R1", {"1": 1000})
        assert result.points_clawed_back == share // 3
        assert result.sale_state == "partly_returned"
        assert ledger.get_member("M1").points_balance == sold.evaluation.points.earned - share // 3

    def test_several_returns_claw_back_exactly_the_line(self, ledger, sold):
        """Three single-unit returns together claw back and refund exactly the line's share."""
        line0 = sold.evaluation.lines[0]
        results = [ledger.return_lines("T1", f"R{i}", {"1": 1000}) for i in range(3)]
        assert sum(r.points_clawed_back for r in results) == line0.points
        assert sum(r.refund_fen for r in results) == line0.net
        assert sum(r.discount_reversed_fen for r in results) == line0.discount
        assert sum(red.gross for r in results for red in r.red_lines) == -line0.net

    def test_full_return_marks_sale_returned_and_zeroes_points(self, ledger, sold):
        """Returning everything leaves the member with no points from the sale and the sale returned."""
        result = ledger.return_lines("T1", "R1", {"1": 3000, "2": 1250})
        assert result.sale_state == "returned"
        assert result.points_clawed_back == sold.evaluation.points.earned
        member = ledger.get_member("M1")
        assert member.points_balance == 0 and member.lifetime_spend_fen == 0

    def test_red_lines_match_the_blue_invoice(self, ledger, sold):
        """A full return's red lines are kind 0 with negative quantities and negate the invoice total."""
        result = ledger.return_lines("T1", "R1", {"1": 3000, "2": 1250})
        assert all(r.kind is LineKind.NORMAL and r.quantity < 0 for r in result.red_lines)
        assert sum(r.gross for r in result.red_lines) == -sum(i.jshj for i in sold.invoices)
        assert sum(r.tax for r in result.red_lines) == -sum(i.hjse for i in sold.invoices)

    def test_more_than_sold_is_refused_cumulatively(self, ledger, sold):
        """After returning two units, returning two more is refused and changes nothing."""
        ledger.return_lines("T1", "R1", {"1": 2000})
        balance = ledger.get_member("M1").points_balance
        with pytest.raises(ReturnExceedsSale) as err:
            ledger.return_lines("T1", "R2", {"1": 2000})
        assert err.value.reason == "exceeds_sold" and err.value.line_id == "1"
        assert ledger.get_member("M1").points_balance == balance
        assert not ledger.return_lines("T1", "R2", {"1": 1000}).replayed  # the last unit still returns

    def test_unknown_line_and_sale_are_refused(self, ledger, sold):
        """A line the sale lacks and a sale never committed are named errors."""
        with pytest.raises(ReturnExceedsSale):
            ledger.return_lines("T1", "R1", {"9": 1000})
        with pytest.raises(SaleNotFound):
            ledger.return_lines("T404", "R1", {"1": 1000})

    def test_retry_replays_the_original(self, ledger, sold):
        """The same return id and lines again returns the stored result and claws back nothing more."""
        first = ledger.return_lines("T1", "R1", {"1": 1000})
        again = ledger.return_lines("T1", "R1", {"1": 1000})
        assert again.replayed and again.points_clawed_back == first.points_clawed_back
        assert again.red_lines == first.red_lines and again.lines == first.lines
        expected = sold.evaluation.points.earned - first.points_clawed_back
        assert ledger.get_member("M1").points_balance == expected

    def test_same_return_id_with_other_lines_conflicts(self, ledger, sold):
        """Reusing a return id for different quantities is an IdempotencyConflict."""
        ledger.return_lines("T1", "R1", {"1": 1000})
        with pytest.raises(IdempotencyConflict):
            ledger.return_lines("T1", "R1", {"1": 2000})

    def test_clawback_of_spent_points_is_owed(self, ledger, shop, sold):
        """Returning goods whose points were spent records a debt; the spendable balance stays 0."""
        earned = sold.evaluation.points.earned
        ledger.adjust_points("M1", -earned, "spent at partner", "ops", "spend-all")
        result = ledger.return_lines("T1", "R1", {"1": 3000, "2": 1250})
        member = ledger.get_member("M1")
        assert member.points_balance == -earned == result.member_balance
        assert member.points_owed == earned and member.spendable == 0
        assert member.to_engine().points_balance == 0
        assert ledger.verify_balances() == []
