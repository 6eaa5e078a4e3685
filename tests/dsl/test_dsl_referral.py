"""The header's `referral` lines: parsed into ReferralAward, checked, and kept by the formatter."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsl
from engine.rules import ReferralAward

HEADER = """ruleset "r" {
  referral level 1 points 1 per 10.00
  referral level 1 points 50 at 500.00
  referral level 2 points 1 per 100.00
}
"""


def test_awards_in_file_order():
    awards = dsl.load(HEADER, "r.rules").settings.referral
    assert awards == (
        ReferralAward(1, 1, per=1000),
        ReferralAward(1, 50, at=50000),
        ReferralAward(2, 1, per=10000),
    )
    assert awards[1].span.line == 3


def test_no_referral_by_default():
    assert dsl.load('ruleset "r" {\n}\n', "r.rules").settings.referral == ()


def test_formatter_keeps_them():
    assert dsl.format_text(HEADER, "r.rules") == HEADER


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("referral level 3 points 1 per 10.00", "referral level 3 does not exist"),
        ("referral level 1 points 0 per 10.00", "positive number of points"),
        ("referral level 1 points 1 per 0.00", "positive amount"),
        ("referral level 2 points 1 at 0.00", "positive amount"),
    ],
)
def test_bad_awards_are_refused_with_their_line(line, message):
    with pytest.raises(dsl.RuleErrors) as err:
        dsl.load(f'ruleset "r" {{\n  {line}\n}}\n', "r.rules")
    assert message in str(err.value) and "r.rules:2:3" in str(err.value)


def test_the_same_award_twice_is_refused():
    text = 'ruleset "r" {\n  referral level 1 points 1 per 10.00\n  referral level 1 points 2 per 10.00\n}\n'
    with pytest.raises(dsl.RuleErrors, match=r"r.rules:3:3: referral level 1 per 10.00 is declared twice"):
        dsl.load(text, "r.rules")


def test_money_needs_two_decimals_at_most():
    with pytest.raises(dsl.RuleErrors):
        dsl.load('ruleset "r" {\n  referral level 1 points 1 per 10.001\n}\n', "r.rules")


def test_bundled_health_programme_declares_the_source_scheme():
    awards = dsl.load_path(Path(__file__).resolve().parents[2] / "rulesets" / "health").settings.referral
    assert {(a.level, a.points, a.per, a.at) for a in awards} == {
        (1, 1, 1000, None),
        (2, 1, 10000, None),
        (1, 50, None, 50000),
    }
