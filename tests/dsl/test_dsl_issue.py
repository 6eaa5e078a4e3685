"""The header's `issue` lines (coupons promo maintain issues): parsed into IssuedCoupon, checked at
their line, kept by the formatter."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsl
from engine.rules import IssuedCoupon

TAIL = """tier normal
tier gold
coupon BACK "b" { value 30.00 }
coupon BDAY "d" { value 20.00 }
"""
HEADER = """ruleset "r" {
  issue BACK on day 48 without purchase, valid 14 days
  issue BDAY on birthday, valid 7 days
  issue BDAY on reaching gold, valid 30 days
}
"""


def test_issued_in_file_order():
    issued = dsl.load(HEADER + TAIL, "r.rules").settings.issued
    assert issued == (
        IssuedCoupon("BACK", "idle", 14, days=48),
        IssuedCoupon("BDAY", "birthday", 7),
        IssuedCoupon("BDAY", "tier", 30, tier="gold"),
    )
    assert [i.key for i in issued] == ["BACK@day48", "BDAY@birthday", "BDAY@tier:gold"]
    assert issued[2].span.line == 4


def test_formatter_keeps_them():
    assert dsl.format_text(HEADER, "r.rules") == HEADER


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("issue NOPE on birthday, valid 7 days", "issue: unknown coupon 'NOPE'"),
        ("issue BACK on reaching platinum, valid 7 days", "issue: unknown tier 'platinum'"),
        ("issue BACK on day 0 without purchase, valid 7 days", "must be 1 or later"),
        ("issue BACK on birthday, valid 0 days", "valid for at least 1 day"),
        ("issue BACK on birthday", "r.rules:2:"),  # no validity: a syntax error at the line
        ("issue BACK on payday, valid 7 days", "r.rules:2:"),
        ("issue BACK on day 4.5 without purchase, valid 7 days", "r.rules:2:"),
    ],
)
def test_bad_lines_are_refused_with_their_line(line, message):
    with pytest.raises(dsl.RuleErrors) as err:
        dsl.load(f'ruleset "r" {{\n  {line}\n}}\n' + TAIL, "r.rules")
    assert message in str(err.value) and "r.rules:2:" in str(err.value)


def test_the_same_line_twice_is_refused():
    text = (
        'ruleset "r" {\n  issue BDAY on birthday, valid 7 days\n  issue BDAY on birthday, valid 3 days\n}\n'
    )
    with pytest.raises(dsl.RuleErrors, match=r"r.rules:3:3: issue: 'BDAY@birthday' is declared twice"):
        dsl.load(text + TAIL, "r.rules")


def test_bundled_health_programme_issues_the_win_back():
    issued = dsl.load_path(Path(__file__).resolve().parents[2] / "rulesets" / "health").settings.issued
    assert issued == (IssuedCoupon("BACK48", "idle", 14, days=48),)
