"""`points pending 7 days` on both databases: held points count toward the balance but cannot be
spent; a return inside the window takes its clawback from them first; maintain releases them once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from ledger_helpers import CST, enroll, line

from server.storage.errors import InsufficientPoints


@pytest.fixture
def held(ledger, shop, compiled):
    """M1 has 100 spendable points, then buys 3 x 100.00 on 2026-05-01 10:00: 300 points held to 05-08."""
    enroll(ledger)
    ledger.adjust_points("M1", 100, "opening balance", "ops", "open-1")
    sale = replace(shop.sale("T1", (line("1", 10000, 3000),)), points_pending_days=7)
    assert sale.evaluation.points.earned == 300
    ledger.commit_sale(sale)
    return ledger


def member(ledger):
    m = ledger.get_member("M1")
    return m.points_balance, m.points_pending, m.spendable


def test_held_points_count_but_cannot_be_spent(held, shop):
    assert member(held) == (400, 300, 100)
    too_much = replace(
        shop.sale("T2", (line("1", 10000, 3000),), redeem=200, balance=400), points_pending_days=7
    )
    assert too_much.evaluation.redemption.points == 200
    with pytest.raises(InsufficientPoints):
        held.commit_sale(too_much)
    assert member(held) == (400, 300, 100)  # nothing posted
    ok = replace(shop.sale("T3", (line("1", 10000, 1000),), redeem=100, balance=400), points_pending_days=7)
    held.commit_sale(ok)
    earned = ok.evaluation.points.earned
    assert member(held) == (400 - 100 + earned, 300 + earned, 0)


def test_return_inside_the_window_claws_back_from_pending_first(held):
    result = held.return_lines("T1", "R1", {"1": 1000})
    assert result.points_clawed_back == 100
    assert member(held) == (300, 200, 100)  # the spendable 100 are untouched


def test_maintain_releases_on_the_day_and_only_once(held, compiled):
    settings, tiers = compiled.ruleset.settings, compiled.ruleset.tiers
    held.return_lines("T1", "R1", {"1": 1000})  # 200 of T1's 300 still held
    assert held.maintain(date(2026, 5, 7), settings, tiers).points_released == 0
    assert member(held) == (300, 200, 100)
    report = held.maintain(date(2026, 5, 8), settings, tiers)
    assert (report.points_released, report.members_released) == (200, 1)
    assert member(held) == (300, 0, 300)
    assert held.maintain(date(2026, 5, 8), settings, tiers).points_released == 0
    held.return_lines("T1", "R2", {"1": 1000})  # after the window: the clawback comes off the balance
    assert member(held) == (200, 0, 200)


def test_without_pending_nothing_is_held(ledger, shop):
    enroll(ledger)
    ledger.commit_sale(shop.sale("T1", (line("1", 10000, 3000),)))
    assert member(ledger) == (300, 0, 300)


def test_a_hold_that_paid_off_owed_points_frees_no_later_hold_early(ledger, shop, compiled):
    """T2's held 300 first pay off 203 owed points, so only 97 of them are held; releasing T2 must
    leave T3's 100 held (subtracting T2's 300 from the 197 held would free them early)."""
    enroll(ledger)
    ledger.commit_sale(shop.sale("T0", (line("1", 10000, 3000),)))  # 300 points, not held
    ledger.commit_sale(shop.sale("T1", (line("1", 10000, 1000),), redeem=300, balance=300))  # spends them
    ledger.return_lines("T0", "R0", {"1": 3000})  # claws back 300 of a balance of 97: 203 owed
    assert (ledger.get_member("M1").points_owed, member(ledger)) == (203, (-203, 0, 0))
    ledger.commit_sale(replace(shop.sale("T2", (line("1", 10000, 3000),)), points_pending_days=7))
    assert member(ledger) == (97, 97, 0)
    later = shop.sale("T3", (line("1", 10000, 1000),), at=datetime(2026, 5, 3, 10, 0, tzinfo=CST))
    ledger.commit_sale(replace(later, points_pending_days=7))
    assert member(ledger) == (197, 197, 0)
    settings, tiers = compiled.ruleset.settings, compiled.ruleset.tiers
    report = ledger.maintain(date(2026, 5, 8), settings, tiers)  # T2 is due, T3 not until 05-10
    assert (report.points_released, member(ledger)) == (97, (197, 100, 97))
    report = ledger.maintain(date(2026, 5, 10), settings, tiers)
    assert (report.points_released, member(ledger)) == (100, (197, 0, 197))
