"""Concurrency for real: threads and processes against the same database, and a till killed mid-commit."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from ledger_helpers import enroll, line
from sqlalchemy import func, select

from server.storage import sales as sales_module
from server.storage.errors import CouponUnavailable
from server.storage.models import PointsEntry, Sale
from server.storage.store import Ledger

FORK = multiprocessing.get_context("fork")


def _outcome(ledger: Ledger, sale) -> str:
    try:
        return "replayed" if ledger.commit_sale(sale).replayed else "committed"
    except CouponUnavailable as exc:
        return exc.reason


class TestThreads:
    def test_concurrent_commits_for_one_member_lose_no_update(self, ledger, shop):
        """Eight tills committing 48 sales for one member at once: points and spend add up exactly."""
        enroll(ledger)
        sales = [shop.sale(f"T{i}", (line("1", 1000 + i, 1000),)) for i in range(48)]
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(lambda s: _outcome(ledger, s), sales))
        assert outcomes == ["committed"] * 48
        member = ledger.get_member("M1", recent=0)
        assert member.points_balance == sum(s.evaluation.points.earned for s in sales)
        assert member.lifetime_spend_fen == sum(s.evaluation.payable for s in sales)
        assert ledger.verify_balances() == []

    def test_same_coupon_at_two_tills_is_spent_once(self, ledger, shop):
        """Two sales racing for each of six coupons: one wins per coupon, the other gets already_used."""
        enroll(ledger)
        enroll(ledger, "M2")
        races = []
        for n in range(6):
            code = f"CP-{n}"
            ledger.issue_coupon(code, "C10", "ledger-test")
            races.append(
                [
                    shop.sale(f"A{n}", (line("1", 5000, 1000),), coupons=((code, "C10"),)),
                    shop.sale(f"B{n}", (line("1", 6000, 1000),), member="M2", coupons=((code, "C10"),)),
                ]
            )
        for pair in races:
            barrier = threading.Barrier(2)

            def go(sale, barrier=barrier):
                barrier.wait()
                return _outcome(ledger, sale)

            with ThreadPoolExecutor(2) as pool:
                assert sorted(pool.map(go, pair)) == ["already_used", "committed"]
        with ledger.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Sale)) == 6
        assert ledger.verify_balances() == []

    def test_racing_retries_post_once(self, ledger, shop):
        """Four copies of one commit sent at once: one commits, three replay, the points post once."""
        enroll(ledger)
        ledger.issue_coupon("CP-1", "C10", "ledger-test")
        sale = shop.sale("T1", (line("1", 5000, 1000),), coupons=(("CP-1", "C10"),))
        barrier = threading.Barrier(4)

        def go(_):
            barrier.wait()
            return _outcome(ledger, sale)

        with ThreadPoolExecutor(4) as pool:
            assert Counter(pool.map(go, range(4))) == {"committed": 1, "replayed": 3}
        assert ledger.get_member("M1").points_balance == sale.evaluation.points.earned
        with ledger.sessions() as s:
            assert s.scalar(select(func.count()).select_from(PointsEntry)) == 1


# --------------------------------------------------------------------------- processes


def _commit_in_child(url: str, sales, results) -> None:
    ledger = Ledger.open(url, migrate=False)
    results.put([_outcome(ledger, s) for s in sales])


def _commit_and_hang(url: str, sale, inside) -> None:
    def hang(*args, **kwargs):
        inside.send("inside the transaction")
        time.sleep(60)

    sales_module._upgrade = hang  # this child only: pause after the sale, coupon and member writes
    Ledger.open(url, migrate=False).commit_sale(sale)


class TestProcesses:
    def test_processes_committing_for_one_member_lose_no_update(self, ledger, shop, db):
        """Four processes commit 15 sales each for one member: the totals add up."""
        enroll(ledger)
        batches = [[shop.sale(f"P{p}-{i}", (line("1", 700 + i, 1000),)) for i in range(15)] for p in range(4)]
        results = FORK.Queue()
        procs = [FORK.Process(target=_commit_in_child, args=(db.url, b, results)) for b in batches]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        assert all(o == ["committed"] * 15 for o in outcomes)
        every = [s for b in batches for s in b]
        member = ledger.get_member("M1", recent=0)
        assert member.points_balance == sum(s.evaluation.points.earned for s in every)
        assert member.lifetime_spend_fen == sum(s.evaluation.payable for s in every)

    def test_same_coupon_in_two_processes(self, ledger, shop, db):
        """Two processes race for the same coupons: each coupon is spent by exactly one of them."""
        enroll(ledger)
        for n in range(5):
            ledger.issue_coupon(f"CP-{n}", "C10", "ledger-test")
        batches = [
            [
                shop.sale(f"{who}{n}", (line("1", 5000, 1000),), coupons=((f"CP-{n}", "C10"),))
                for n in range(5)
            ]
            for who in "AB"
        ]
        results = FORK.Queue()
        procs = [FORK.Process(target=_commit_in_child, args=(db.url, b, results)) for b in batches]
        for p in procs:
            p.start()
        a, b = (results.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=30)
        for n in range(5):
            assert sorted([a[n], b[n]]) == ["already_used", "committed"]
        assert ledger.verify_balances() == []

    def test_commit_killed_half_way_leaves_nothing(self, ledger, shop, db):
        """A till process killed inside its commit transaction leaves no sale, entry, spend or coupon use."""
        enroll(ledger)
        ledger.issue_coupon("CP-1", "C10", "ledger-test")
        sale = shop.sale("T1", (line("1", 5000, 1000),), coupons=(("CP-1", "C10"),))
        parent, child = FORK.Pipe()
        proc = FORK.Process(target=_commit_and_hang, args=(db.url, sale, child))
        proc.start()
        assert parent.poll(30), "the child never reached the middle of its commit"
        parent.recv()
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
        member = ledger.get_member("M1")
        assert (member.points_balance, member.lifetime_spend_fen, member.recent) == (0, 0, ())
        assert ledger.lookup_coupons(["CP-1"], member_id="M1", on=date(2026, 5, 1))["CP-1"].problem is None
        result = ledger.commit_sale(sale)  # the till's retry: posts now, exactly once
        assert not result.replayed and result.points_earned == sale.evaluation.points.earned


@pytest.fixture(autouse=True)
def _no_leaked_children():
    yield
    assert not multiprocessing.active_children()
