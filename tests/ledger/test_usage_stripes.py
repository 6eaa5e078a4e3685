"""Striped budget counters (server/storage/usage.py): a sale takes from the stripe its transaction id
picks; when that stripe cannot take its share the sale runs again taking from the whole counter,
so the last fen of a budget is usable whichever stripe holds it, and never a fen more."""

from __future__ import annotations

import dataclasses

import pytest
from ledger_helpers import line
from sqlalchemy import select

from server.storage import usage
from server.storage.errors import BudgetExceeded
from server.storage.models import SaleUsage, UsageCounter
from server.storage.results import UsageTake

KEY = "ledger-test|fen|flash|2026-05-01"
CAP = 1000  # 10.00: 62 or 63 fen a stripe once spread over 16


def _commit(ledger, shop, tid: str, amount: int, cap: int = CAP):  # type: ignore[no-untyped-def]
    take = UsageTake(KEY, amount, cap, "campaign 'flash'", shared=True)
    sale = dataclasses.replace(shop.sale(tid, (line("1", 5000, 1000),), member=None), usage=(take,))
    return ledger.commit_sale(sale)


def _stripes(ledger) -> dict[int, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    with ledger.sessions() as s:
        rows = s.execute(select(UsageCounter.stripe, UsageCounter.used, UsageCounter.allot, UsageCounter.cap))
        return {stripe: (used, allot, cap) for stripe, used, allot, cap in rows}


def _total(ledger) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with ledger.sessions() as s:
        return usage.totals(s)[KEY]


def _tid_on(stripe: int, prefix: str) -> str:
    """A transaction id whose sale picks ``stripe``."""
    take = UsageTake(KEY, 1, CAP, "", shared=True)
    return next(f"{prefix}{n}" for n in range(10_000) if usage.stripe_of(take, f"{prefix}{n}") == stripe)


class TestStripes:
    def test_the_first_sale_makes_every_stripe_and_spreads_the_cap(self, ledger, shop) -> None:
        _commit(ledger, shop, "T1", 100)
        stripes = _stripes(ledger)
        assert sorted(stripes) == list(range(usage.STRIPES))
        assert sum(used for used, _, _ in stripes.values()) == 100
        assert sum(allot for _, allot, _ in stripes.values()) == CAP
        assert all(used <= allot and cap == CAP for used, allot, cap in stripes.values())

    def test_the_last_fen_is_usable_when_it_sits_in_another_stripe(self, ledger, shop) -> None:
        """Spend all but the last fen from stripe 0 (each take runs it dry and rebalances), then a sale
        on another stripe takes that last fen; one fen more is refused and posts nothing."""
        for n in range(9):
            _commit(ledger, shop, _tid_on(0, f"A{n}-"), 111)  # 999 fen, all on stripe 0
        stripes = _stripes(ledger)
        assert stripes[0][0] == 999 and sum(u for u, _, _ in stripes.values()) == 999
        holder = next(s for s, (used, allot, _) in stripes.items() if allot > used)
        other = (holder + 1) % usage.STRIPES  # its allotment is used up: the take must come from `holder`
        assert stripes[other][1] == stripes[other][0]
        _commit(ledger, shop, _tid_on(other, "LAST-"), 1)
        assert _total(ledger) == (CAP, CAP)
        with pytest.raises(BudgetExceeded, match="campaign 'flash'"):
            _commit(ledger, shop, _tid_on(holder, "MORE-"), 1)
        assert _total(ledger) == (CAP, CAP)
        with ledger.sessions() as s:
            taken = dict(s.execute(select(SaleUsage.transaction_id, SaleUsage.stripe)).all())
        assert len(taken) == 10 and taken[_tid_on(other, "LAST-")] == other

    def test_a_take_larger_than_any_stripe_holds_comes_from_the_total(self, ledger, shop) -> None:
        _commit(ledger, shop, "T1", 1)  # 999 left, spread: no stripe holds more than 63
        _commit(ledger, shop, "T2", 999)
        assert _total(ledger) == (CAP, CAP)

    def test_a_new_cap_rebalances_and_still_never_overspends(self, ledger, shop) -> None:
        """Another version with a smaller budget: its sales take from what its cap leaves."""
        _commit(ledger, shop, "T1", 600)
        with pytest.raises(BudgetExceeded):
            _commit(ledger, shop, "T2", 101, cap=700)
        _commit(ledger, shop, "T3", 100, cap=700)
        stripes = _stripes(ledger)
        assert sum(allot for _, allot, _ in stripes.values()) == 700
        assert {cap for _, _, cap in stripes.values()} == {700}
        assert _total(ledger) == (700, 700)

    def test_a_counter_from_before_the_stripes_keeps_its_usage(self, ledger, shop) -> None:
        """Migration 0017 made an old counter its stripe 0 with the whole cap; the next sale goes on."""
        with ledger.sessions() as s, s.begin():
            s.add(UsageCounter(key=KEY, stripe=0, programme="ledger-test", used=990, allot=CAP, cap=CAP))
        _commit(ledger, shop, _tid_on(5, "N-"), 10)
        with pytest.raises(BudgetExceeded):
            _commit(ledger, shop, "T2", 1)
        assert _total(ledger) == (CAP, CAP)
