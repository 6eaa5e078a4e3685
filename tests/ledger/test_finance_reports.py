"""A month of generated sales and returns, then finance's promotion report ties out to the invoices.

On SQLite and PostgreSQL: 30 days of sales (rule discounts, ledger coupons, points
redemption, three tax rates, guests, baskets big enough to be split over two invoices)
and partial and full returns. The promotion report's discount must equal the sum of the
discount lines (折扣行) on the stored invoices, its reversed part the returns' reversed
discounts, and every grouping (--by day / store / campaign) the same totals.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ledger_helpers import CST, enroll, line
from sqlalchemy import select

from server.finance.campaigns import PROGRAMME
from server.finance.export import export
from server.finance.promotions import promotion_report, totals
from server.rulesets.sources import SourceBook
from server.storage.models import Return, Sale

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 5, 1), date(2099, 12, 31)  # returns are dated by the ledger's clock: today


def a_month(ledger, shop, seed: int = 15) -> list[str]:
    """Commit 30 days of sales (4 a day) and return parts of some; the transaction ids."""
    rng = random.Random(seed)
    SourceBook(ledger).remember(shop.compiled)  # as the desk does: --by campaign reads the version
    enroll(ledger, "M1")
    enroll(ledger, "M2")
    tids = []
    for day in range(30):
        for k in range(4):
            tid = f"D{day:02d}-{k}"
            n = 289 if (day, k) == (3, 1) else rng.randint(1, 6)  # one sale split over two invoices
            lines = tuple(
                line(
                    f"{i}",
                    99 if n == 289 else rng.choice((350, 1990, 5990, 12345)),
                    1000 if n == 289 else rng.choice((1000, 2000, 1250)),
                    category="" if n == 289 else rng.choice(("A", "A", "")),
                    tax="13%" if n == 289 else rng.choice(("13%", "9%", "exempt")),
                )
                for i in range(n)
            )
            member = None if n == 289 else rng.choice(("M1", "M2", None))
            coupons = ()
            if member and rng.random() < 0.3:
                code = f"CPN-{tid}"
                ledger.issue_coupon(code, "C10", "test")
                coupons = ((code, "C10"),)
            redeem = rng.choice((0, 0, 300)) if member else 0
            at = datetime(2026, 5, 1, 10, 0, tzinfo=CST) + timedelta(days=day, minutes=k)
            sale = shop.sale(tid, lines, member=member, coupons=coupons, redeem=redeem, at=at, balance=None)
            ledger.commit_sale(sale)
            tids.append(tid)
            if rng.random() < 0.2:
                sold = {x.id: x.quantity for x in lines}
                first_id = next(iter(sold))
                ledger.return_lines(tid, f"R-{tid}", {first_id: sold[first_id] // rng.choice((1, 2))})
    return tids


def test_the_promotion_report_ties_out_to_the_invoices(ledger, shop):
    a_month(ledger, shop)
    with ledger.sessions() as s:
        stored = s.scalars(select(Sale.invoice)).all()
        reversed_fen = sum(s.scalars(select(Return.discount_reversed_fen)).all())
    discount_lines = [
        -int(x["grossFen"])
        for text in stored
        for invoice in json.loads(text)
        for x in invoice.get("lines", [])
        if x.get("kind") == 1
    ]
    assert any(len(json.loads(text)) == 2 for text in stored)  # the split sale is in the month
    rows = promotion_report(ledger, FIRST, LAST, SHANGHAI, progress=False)
    total = totals(rows)
    assert total.discount == sum(discount_lines) > 0
    assert total.reversed == reversed_fen > 0
    assert {r.source for r in rows} >= {"cat_a", "coupon:C10", "points"}
    # ... and to what finance books: the audit export's discount lines (折扣行) of the same month
    out = io.StringIO()
    export(ledger, FIRST, LAST, SHANGHAI, "csv", out)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    booked = -sum(Decimal(r["gross"]) for r in exported if r["record"] == "sale" and r["kind"] == "折扣行")
    assert booked * 100 == total.discount
    assert {r.tax_rate for r in rows if r.discount} == {"13%", "9%", "exempt"}
    for by in ("day", "store", "campaign"):
        grouped = promotion_report(ledger, FIRST, LAST, SHANGHAI, by, progress=False)
        assert (totals(grouped).discount, totals(grouped).reversed) == (total.discount, total.reversed)
    by_day = promotion_report(ledger, FIRST, LAST, SHANGHAI, "day", progress=False)
    assert len({r.group for r in by_day if r.discount}) > 20  # a month of days
    campaign = promotion_report(ledger, FIRST, LAST, SHANGHAI, "campaign", progress=False)
    assert all(r.group == r.campaign == PROGRAMME for r in campaign)  # a one-file programme: no campaigns


def test_a_period_without_sales_is_empty(ledger, shop):
    a_month(ledger, shop)
    assert promotion_report(ledger, date(2020, 1, 1), date(2020, 1, 31), SHANGHAI, progress=False) == []


def test_the_points_liability_ties_out_to_the_ledger(ledger, shop):
    """Opening + movements = closing, the movements are the sales' and returns' points, closing = members."""
    from sqlalchemy import func, update

    from server.finance.points import points_report
    from server.storage.models import Member, PointsEntry

    a_month(ledger, shop)
    today = datetime.now(SHANGHAI).date()
    report = points_report(ledger, today, SHANGHAI, 100, period_from=date(2026, 1, 1), progress=False)
    assert report.problems == []
    with ledger.sessions() as s:
        earned = sum(s.scalars(select(Sale.points_earned)).all())
        redeemed = sum(s.scalars(select(Sale.points_redeemed)).all())
        clawed = sum(s.scalars(select(Return.points_clawed_back)).all())
        held = s.scalar(select(func.sum(Member.points_balance)))
        owed = s.scalar(select(func.sum(Member.points_owed)))
        entries = s.scalar(select(func.count()).select_from(PointsEntry))
    assert entries > 0 and earned > 0 and redeemed > 0 and clawed > 0
    m = report.movements
    assert (m["earned"], m["redeemed"], m["clawed_back"], m["referral"]) == (earned, -redeemed, -clawed, 0)
    assert report.opening == 0 and report.closing == earned - redeemed - clawed == held - owed
    assert (report.outstanding, report.owed) == (held, owed)
    assert report.value_fen == held  # 100 points a yuan: a point is a fen
    assert report.expiring[30] <= report.expiring[60] <= report.expiring[90] <= report.outstanding
    later = points_report(ledger, today, SHANGHAI, 100, progress=False)  # this month only
    assert later.opening + sum(later.movements.values()) == later.closing == report.closing
    with ledger.sessions() as s, s.begin():  # a balance that no entry explains
        s.execute(update(Member).where(Member.id == "M1").values(points_balance=Member.points_balance + 7))
    broken = points_report(ledger, today, SHANGHAI, 100, progress=False)
    assert any("members table" in p for p in broken.problems)
