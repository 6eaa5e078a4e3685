"""Each kind of finding, planted in a ruleset, is reported once, at the line that causes it.

The planted file (PLANTED) marks every line a finding must point at with a `# <- kind` comment;
the test reads the expected places from those comments, so the text and the assertions cannot drift.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

import dsl
from engine.analysis import analyze
from engine.compiled import compile_ruleset

PLANTED = """\
ruleset "planted" {
  currency CNY
  timezone "Asia/Shanghai"
}

tier normal "普通" points x1.0
tier gold   "金卡" points x1.5

rule clear "清仓 5折 独享" {
  priority 50
  exclusive
  when item.category = "清仓"
  then item discount 5折
}

rule clear_extra "清仓 再9折" {
  when item.category = "清仓" and member.tier >= normal  # <- shadowed
  then item discount 9折
}

rule both "两个品类" {
  when item.category = "A" and item.category = "B"  # <- never_applies
  then item discount 9折
}

rule above_top "高于最高等级" {
  when member.tier > gold  # <- never_applies
  then item discount 9折
}

rule window_past "去年的活动" {
  valid 2025-01-01 to 2025-01-31  # <- never_applies
  when item.category = "A"
  then item discount 9折
}

rule weekday_clash "周三 但只有那个周四" {
  valid 2026-12-03 to 2026-12-03  # <- never_applies (a Thursday; the window's span starts here)
  valid on wed
  then points x2
}

rule ghost "没人卖的SKU" {
  when item.sku = "NO-SUCH-SKU"  # <- unseen_value
  then item discount 8折
}

rule bag_pct "箱包 8折" {
  group "bags"
  when item.category = "A"
  then item discount 8折
}

rule bag_small "箱包 9折" {
  group "bags"
  when item.category = "A" and member.tier >= gold
  then item discount 9折  # the rule above always gives more
}

rule pct_first "先写的 9折" {
  group "late"
  when item.category = "A"
  then item discount 9折
}

rule pct_later "后写的 8折 更多 但小额行会四舍五入成平手" {
  group "late"
  when item.category = "A"
  then item discount 8折  # not reported: on a 1 fen line both take 0, and the tie goes to pct_first
}

rule x2_first "先写的 积分x2" {
  group "points"
  then points x2
}

rule x3_later "后写的 积分x3" {
  group "points"
  then points x3
}

rule hours_empty "营业时间外" {
  when hour >= 22 and hour < 8  # <- never_applies
  then points x2
}

coupon CLR "清仓券" {
  value 5.00, applies_to item.category = "清仓"
}

example "A 类一件" {
  member tier gold
  at 2026-11-15 10:00
  line "x" sku "S1" category "A" price 100.00 qty 1 tax 13%
  line "y" category "清仓" price 50.00 qty 1 tax 13%
  expect payable 105.00
}
"""


def _marks(text: str) -> list[tuple[int, str]]:
    return [
        (n, m.group(1))
        for n, line in enumerate(text.splitlines(), 1)
        if (m := re.search(r"# <- (\w+)", line))
    ]


@pytest.fixture(scope="module")
def findings():
    compiled = compile_ruleset(dsl.load(PLANTED, "planted.rules"))
    return analyze(compiled, as_of=date(2026, 11, 1)).findings


def test_every_planted_finding_is_reported_at_its_line(findings) -> None:
    got = {(f.span.line, f.kind) for f in findings if f.span is not None and f.kind != "shadowed"}
    want = {(n, kind) for n, kind in _marks(PLANTED) if kind != "shadowed"}
    assert want <= got


def test_shadowed_rule_points_at_the_rule_it_is_about(findings) -> None:
    shadowed = {f.subject: f for f in findings if f.kind == "shadowed"}
    assert set(shadowed) == {"clear_extra", "CLR"}
    assert shadowed["clear_extra"].span.line == 16  # `rule clear_extra` opens on line 16
    assert "'clear'" in shadowed["clear_extra"].message


def test_best_of_member_that_never_wins(findings) -> None:
    never = [f for f in findings if f.kind == "never_wins"]
    assert [f.subject for f in never] == ["bag_small", "x2_first"]
    assert never[0].span.line == PLANTED.splitlines().index('rule bag_small "箱包 9折" {') + 1
    assert "'x3_later'" in never[1].message


def test_nothing_else_is_reported(findings) -> None:
    """Sound rules (clear, bag_pct) are not flagged: a finding is only reported when proved."""
    flagged = {f.subject for f in findings}
    assert "clear" not in flagged and "bag_pct" not in flagged


def test_findings_render_as_warnings_with_a_caret(findings) -> None:
    text = str(next(f for f in findings if f.subject == "both"))
    head, line, caret = text.splitlines()[:3]
    assert head.startswith("planted.rules:22:32: warning: rule 'both' can never apply")
    assert line.strip().startswith('when item.category = "A" and item.category = "B"')
    assert caret.strip() == "^" * len('item.category = "B"')  # the comparison that contradicts


def test_the_bundled_rulesets_have_no_findings() -> None:
    """No false alarms on the hand-checked programmes."""
    from pathlib import Path

    for path in sorted(Path("rulesets").glob("*.rules")):
        result = analyze(compile_ruleset(dsl.load_path(path)), as_of=date(2026, 1, 1))
        assert result.findings == (), [str(f) for f in result.findings]


def test_a_ruleset_without_examples_is_a_finding() -> None:
    text = PLANTED.split("example ")[0]
    result = analyze(compile_ruleset(dsl.load(text, "bare.rules")), as_of=date(2026, 12, 4))
    assert [f.kind for f in result.findings if f.kind == "no_examples"] == ["no_examples"]
    assert not any(f.kind == "unseen_value" for f in result.findings)  # nothing seen: nothing to say
