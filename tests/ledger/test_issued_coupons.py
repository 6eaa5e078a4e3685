"""Issued coupons (`issue COUPON on ...`) on both databases: maintain issues each member's coupon once
per declaration and period (the unique index, not a read first), owner-bound, with its own validity;
a second run issues nothing; GetMember lists them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from ledger_helpers import CST, enroll, line
from sqlalchemy import func, select

import dsl
from server.storage.models import Coupon

PROGRAMME = "ledger-test"
HEADER = """ruleset "ledger-test" {
  issue C10 on day 48 without purchase, valid 14 days
  issue C10 on birthday, valid 7 days
  issue PT5 on reaching gold, valid 30 days
}
tier normal
tier gold
tier diamond
coupon C10 "10 off" { value 10.00 }
coupon PT5 "5 off" { value 5.00 }
"""
AS_OF = date(2026, 6, 18)  # 48 days after the sales of 2026-05-01


def settings(compiled):
    return replace(compiled.ruleset.settings, issued=dsl.load(HEADER, "h.rules").settings.issued)


def run(ledger, compiled, day=AS_OF):
    return dict(ledger.maintain(day, settings(compiled), compiled.ruleset.tiers, PROGRAMME).coupons_issued)


def coupon_rows(db):
    with db.engine.connect() as c:
        return c.execute(
            select(
                Coupon.owner_id, Coupon.definition_id, Coupon.valid_from, Coupon.valid_to, Coupon.issued_by
            ).order_by(Coupon.owner_id, Coupon.issued_by)
        ).all()


def test_maintain_issues_once_per_member_and_day(ledger, shop, compiled, db):
    for member, kw in {
        "W": {},  # bought on 2026-05-01: day 48 on 2026-06-18
        "W2": {},  # bought a day later: day 47
        "B": {"birthday": date(1990, 6, 18)},
        "G": {"tier": "gold"},
        "D": {"tier": "diamond"},  # above gold: reached it too
        "N": {},  # nothing concerns them
        "X": {"programme": "another"},  # another programme's member: never touched
    }.items():
        kw.setdefault("programme", PROGRAMME)
        enroll(ledger, member, kw.pop("tier", "normal"), **kw)
    ledger.commit_sale(shop.sale("T1", (line("1", 1000, 1000),), member="W"))
    later = datetime(2026, 5, 2, 23, 59, tzinfo=CST)
    ledger.commit_sale(shop.sale("T2", (line("1", 1000, 1000),), member="W2", at=later))
    ledger.commit_sale(shop.sale("T3", (line("1", 1000, 1000),), member="X"))

    assert run(ledger, compiled) == {"C10@day48": 1, "C10@birthday": 1, "PT5@tier:gold": 2}
    end = AS_OF + timedelta(days=13)
    assert coupon_rows(db) == [
        ("B", "C10", AS_OF, AS_OF + timedelta(days=6), "C10@birthday"),
        ("D", "PT5", AS_OF, AS_OF + timedelta(days=29), "PT5@tier:gold"),
        ("G", "PT5", AS_OF, AS_OF + timedelta(days=29), "PT5@tier:gold"),
        ("W", "C10", AS_OF, end, "C10@day48"),
    ]
    assert run(ledger, compiled) == {"C10@day48": 0, "C10@birthday": 0, "PT5@tier:gold": 0}
    # The next day: W2 reaches day 48; the birthday was this year's and gold is once.
    assert run(ledger, compiled, AS_OF + timedelta(days=1)) == {
        "C10@day48": 1,
        "C10@birthday": 0,
        "PT5@tier:gold": 0,
    }
    assert len(coupon_rows(db)) == 5


def test_get_member_lists_coupons_and_codes_are_owner_bound(ledger, shop, compiled, db):
    enroll(ledger, "W", programme=PROGRAMME)
    enroll(ledger, "N", programme=PROGRAMME)
    ledger.commit_sale(shop.sale("T1", (line("1", 1000, 1000),), member="W"))
    run(ledger, compiled)
    (owned,) = ledger.get_member("W").coupons
    assert (owned.definition_id, owned.state, owned.valid_from, owned.valid_to, owned.issued_by) == (
        "C10",
        "issued",
        AS_OF,
        AS_OF + timedelta(days=13),
        "C10@day48",
    )
    assert owned.code.startswith("C10-") and len(owned.code) == len("C10-") + 12
    assert ledger.get_member("N").coupons == ()
    mine = ledger.lookup_coupons([owned.code], member_id="W", on=AS_OF)[owned.code]
    theirs = ledger.lookup_coupons([owned.code], member_id="N", on=AS_OF)[owned.code]
    too_late = ledger.lookup_coupons([owned.code], member_id="W", on=AS_OF + timedelta(days=14))[owned.code]
    assert (mine.problem, theirs.problem, too_late.problem) == (None, "not_owner", "expired")


def test_leap_day_birthday_is_kept_on_28_february(ledger, compiled, db):
    enroll(ledger, "L", birthday=date(2000, 2, 29), programme=PROGRAMME)
    assert run(ledger, compiled, date(2027, 2, 28))["C10@birthday"] == 1
    assert run(ledger, compiled, date(2028, 2, 28))["C10@birthday"] == 0  # a leap year: on the 29th
    assert run(ledger, compiled, date(2028, 2, 29))["C10@birthday"] == 1


def test_an_erased_or_terminated_member_gets_none(ledger, shop, compiled, db):
    enroll(ledger, "G", "gold", programme=PROGRAMME)
    ledger.erase_member("G", "asked", "ops")
    with db.engine.connect() as c:
        before = c.scalar(select(func.count()).select_from(Coupon))
    assert run(ledger, compiled)["PT5@tier:gold"] == 1  # the anonymous row is still a gold member
    with db.engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Coupon)) == before + 1
