"""``report promotions --by campaign``: each source under the campaign file it came from, in the
version that priced the sale (a rule that moved to another campaign file between two versions
counts under each for the sales each version priced)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import RULES
from ledger_helpers import CST, Shop, enroll, line

import dsl
from engine.compiled import compile_ruleset
from server.finance.campaigns import PROGRAMME, UNKNOWN
from server.finance.promotions import promotion_report, totals
from server.rulesets.sources import SourceBook

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER, _, REST = RULES.partition("\nrule cat_a")
CAT_A = "rule cat_a" + REST.partition("\ncoupon C10")[0]
C10 = "coupon C10" + REST.partition("\ncoupon C10")[2].partition("\ncoupon PT5")[0]


def _campaign(name: str, body: str) -> str:
    return f'campaign "{name}" {{\n  valid 2026-01-01 to 2026-12-31\n  status live\n}}\n\n{body}\n'


def _version(cat_a_in: str) -> Shop:
    files = {
        "programme.rules": HEADER,
        f"{cat_a_in}.rules": _campaign(cat_a_in, CAT_A),
        "vouchers.rules": _campaign("vouchers", C10),
    }
    return Shop(compile_ruleset(dsl.load_files(files, "ledger-test")))


def test_sources_are_grouped_by_the_campaign_of_the_version_that_priced_them(ledger):
    enroll(ledger)
    spring, summer = _version("spring"), _version("summer")
    assert spring.compiled.digest != summer.compiled.digest
    day = datetime(2026, 5, 1, 10, tzinfo=CST)
    basket = (line("1", 10000, 1000, category="A"), line("2", 5000, 1000, category="A"))
    for n, shop in enumerate((spring, spring, summer)):
        SourceBook(ledger).remember(shop.compiled)
        ledger.issue_coupon(f"CPN{n}", "C10", "test")
        sale = shop.sale(f"T{n}", basket, coupons=((f"CPN{n}", "C10"),), at=day + timedelta(hours=n))
        ledger.commit_sale(sale)
    plain = Shop(compile_ruleset(dsl.load(RULES + "\n# never stored\n", "ledger-test.rules")))
    ledger.commit_sale(plain.sale("T9", basket, at=day + timedelta(hours=5)))

    first, last = date(2026, 5, 1), date(2026, 5, 31)
    rows = promotion_report(ledger, first, last, SHANGHAI, "campaign", progress=False)
    by_key = {(r.group, r.source): r for r in rows}
    assert all(r.group == r.campaign for r in rows)
    assert (by_key["spring", "cat_a"].sales, by_key["summer", "cat_a"].sales) == (2, 1)
    assert by_key["spring", "cat_a"].discount == 2 * by_key["summer", "cat_a"].discount > 0
    assert by_key["vouchers", "coupon:C10"].sales == 3
    assert by_key[UNKNOWN, "cat_a"].sales == 1
    assert {r.campaign for r in rows} == {"spring", "summer", "vouchers", UNKNOWN}
    whole = promotion_report(ledger, first, last, SHANGHAI, progress=False)
    assert totals(whole).discount == totals(rows).discount
    assert {r.campaign for r in whole if r.source == "cat_a"} == {"spring", "summer", UNKNOWN}
    assert all(r.group == "" for r in whole)


def test_points_redemption_belongs_to_the_programme():
    from server.finance.campaigns import CampaignBook

    assert CampaignBook(session=None).campaign("any digest", "points") == PROGRAMME
