"""An audit export reads one moment of the ledger and holds up no till while it runs.

The export runs for minutes on a big ledger. Tills keep committing sales and returns
meanwhile: on SQLite they must not wait for the export's lock (it used to hold the
write lock throughout), and the export must not pick up half of what they wrote
(its count and its rows come from one snapshot).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from ledger_helpers import enroll, line

import server.storage.db as db_module
from server.finance.export import export
from server.storage.db import make_engine, make_sessionmaker
from server.storage.store import Ledger

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 5, 1)  # the shop's default sale day
LAST = date(2099, 12, 31)  # returns are dated by the ledger's clock: today


class _WritesOnce(io.StringIO):
    """An output that runs ``meanwhile`` at the export's first write: a till working during the export."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        super().__init__()
        self.meanwhile: Callable[[], None] | None = meanwhile

    def write(self, text: str) -> int:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return super().write(text)


@pytest.fixture
def till(db, monkeypatch):
    """A second ledger on its own connections, which gives up on a lock after 0.5 s instead of 30."""
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 500)
    engine = make_engine(db.url)
    yield Ledger(make_sessionmaker(engine))
    engine.dispose()


def _records(text: str) -> list[tuple[str, str]]:
    return [(r["record"], r["return_id"] or r["transaction_id"]) for r in json.loads(text)["records"]]


def test_a_till_commits_during_an_export_and_the_export_keeps_its_moment(ledger, shop, till):
    enroll(ledger)
    ledger.commit_sale(shop.sale("T1", (line("1", 3330, 3000, category="A"),)))

    def till_works() -> None:
        till.commit_sale(shop.sale("T2", (line("1", 1000, 1000),)))
        till.return_lines("T1", "R1", {"1": 1000})

    out = _WritesOnce(till_works)
    written = export(ledger, FIRST, LAST, SHANGHAI, "json", out)

    assert out.meanwhile is None, "the export wrote nothing, so the till never ran"
    assert _records(out.getvalue()) == [("sale", "T1")]
    assert written == 1
    after = io.StringIO()
    assert export(ledger, FIRST, LAST, SHANGHAI, "json", after) == 3
    assert sorted(_records(after.getvalue())) == [("return", "R1"), ("sale", "T1"), ("sale", "T2")]


def test_members_are_masked_but_told_apart():
    from server.finance.export import mask_member

    assert [mask_member(m) for m in ("M0012345", "M1", "ABCD", "ABCDE", None, "")] == [
        "M0****45",
        "M*",
        "A***",
        "AB*DE",
        "",
        "",
    ]


def test_the_reports_keep_their_moment_while_a_till_commits(ledger, shop, till, monkeypatch):
    """A sale committed while the promotion and points reports read is in neither, and no till waits."""
    from server.finance import points as points_module
    from server.finance import promotions

    enroll(ledger)
    ledger.commit_sale(shop.sale("T1", (line("1", 3330, 3000, category="A"),)))
    calls = []
    real = promotions.stored.sold_lines

    def reading(text):  # the report's first read of a sale: a till commits T2 meanwhile
        if not calls:
            calls.append(1)
            till.commit_sale(shop.sale("T2", (line("1", 1000, 1000, category="A"),)))
        return real(text)

    monkeypatch.setattr(promotions.stored, "sold_lines", reading)
    rows = promotions.promotion_report(ledger, FIRST, LAST, SHANGHAI, progress=False)
    assert calls and sum(r.sales for r in rows if r.source == "cat_a") == 1
    monkeypatch.setattr(promotions.stored, "sold_lines", real)
    after = promotions.promotion_report(ledger, FIRST, LAST, SHANGHAI, progress=False)
    assert sum(r.sales for r in after if r.source == "cat_a") == 2
    today = datetime.now(SHANGHAI).date()
    assert points_module.points_report(ledger, today, SHANGHAI, 100, progress=False).problems == []
