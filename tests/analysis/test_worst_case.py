"""The worst-case bound, its witness basket, and `max_discount` in `promo check`.

Every witness is pasted back into its ruleset as the `example` block `promo analyze` prints;
the file must still check (so the block parses and its expectations hold), and the evaluated
line must lose exactly the share the witness claims, never more than the bound.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

import dsl
from dsl.programme import bundle_text, read_folder
from engine.analysis import analyze, example_block
from engine.check.run_examples import example_request, run_examples
from engine.compiled import compile_ruleset
from server.cli.main import main

STACKED = """\
ruleset "stacked" {
  currency CNY
  redeem 50 points per_yuan, cap 50%
  max_discount {ceiling}
}

tier normal "普通" points x1.0

rule a "A类 8折" {
  when item.category = "A"
  then item discount 8折
}

rule a_100_10 "A类 满100减10" {
  when subtotal(item.category = "A") >= 100.00
  then basket discount 10.00 over item.category = "A"
}

coupon C9 "满90减9" {
  value 9.00, min_spend 90.00
}

example "A 类一件" {
  member tier normal
  at 2026-11-15 10:00
  line "x" category "A" price 125.00 qty 1 tax 13%
  expect payable 90.00
}
"""
# The bound: 8折 takes 20%, the 满减 10/100 = 10% of what is left, the coupon 9/90 = 10%, points 50%:
# 1 - 0.8 x 0.9 x 0.9 x 0.5 = 67.6%. The witness (the example with the coupon and the most points):
# 12500 -> 10000 (8折) -> 9000 (满减: A subtotal 10000 >= 10000) -> 8100 (C9: 9000 >= 9000, 900 off)
# -> cap floor(50% x 8100) = 4050 fen paid with 2025 points -> 4050 left.
# It loses 8450 of 12500 = 67.6%: the basket sits on every threshold, so it reaches the bound.


def _compiled(text: str, name: str = "stacked.rules"):
    return compile_ruleset(dsl.load(text, name))


BUNDLED = sorted(Path("rulesets").glob("*.rules"))
FOLDERS = [p for p in sorted(Path("rulesets").iterdir()) if (p / "programme.rules").is_file()]


def _pasted(text: str, block: str):  # type: ignore[no-untyped-def]
    """The ruleset with ``block`` added (to programme.rules when ``text`` is a programme bundle)."""
    from dsl.programme import is_bundle, unbundle

    if not is_bundle(text):
        return _compiled(text + "\n" + block + "\n", "pasted.rules")
    files = unbundle(text)
    files["programme.rules"] += "\n" + block + "\n"
    return compile_ruleset(dsl.load_files(files, "pasted"))


@pytest.mark.parametrize(
    "text",
    [STACKED.replace("{ceiling}", "100%")]
    + [p.read_text("utf-8") for p in BUNDLED]
    + [bundle_text(read_folder(p)) for p in FOLDERS],
)
def test_the_witness_pasted_back_reaches_the_share_it_claims(text: str) -> None:
    compiled = _compiled(text)
    result = analyze(compiled, as_of=date(2026, 1, 1))
    w = result.witness
    assert w is not None
    assert 0 < w.share <= result.bound.share
    pasted = _pasted(text, example_block(w))
    assert run_examples(pasted) == []  # the block parses and its expectations hold
    example = pasted.ruleset.examples[-1]
    line = pasted.evaluate(example_request(pasted.ruleset, example)).lines[w.line - 1]
    assert Fraction(line.discount, line.amount) == w.share


def test_the_bound_compounds_the_stages() -> None:
    result = analyze(_compiled(STACKED.replace("{ceiling}", "100%")))
    assert result.bound.share == 1 - Fraction(8, 10) * Fraction(9, 10) * Fraction(9, 10) * Fraction(1, 2)
    assert [s for s, _ in result.bound.steps] == ["a", "a_100_10", "coupon:C9", "points"]


def test_the_witness_of_a_basket_on_every_threshold_reaches_the_bound() -> None:
    result = analyze(_compiled(STACKED.replace("{ceiling}", "100%")))
    assert result.witness is not None
    assert result.witness.share == result.bound.share == Fraction(8450, 12500)


def test_check_refuses_a_bound_above_max_discount(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stacked.rules"
    path.write_text(STACKED.replace("{ceiling}", "60%"), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:4:3: the worst case takes 67.60% of a line's amount, above max_discount 60.00%" in out
    assert out.rstrip().endswith(f"{path}: refused, 1 example passed, 1 error")
    assert main(["analyze", str(path)]) == 1


def test_check_accepts_a_bound_under_max_discount(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stacked.rules"
    path.write_text(STACKED.replace("{ceiling}", "70%"), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok, 1 example passed\n"


def test_max_discount_must_be_a_share(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "stacked.rules"
    path.write_text(STACKED.replace("{ceiling}", "0%"), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    assert "max_discount must be above 0% and at most 100%" in capsys.readouterr().out


UNIT_FORMS = """\
ruleset "units" {{
  currency CNY
  max_discount 60%
}}

tier normal "普通" points x1.0

rule half "第二件半价" {{
  when item.category = "A"
  then every 2nd unit 5折
}}

{extra}

coupon P10 "九折券" {{
  value 10%, max 50.00
}}

example "A 类两件" {{
  member tier normal
  at 2026-11-15 10:00
  line "x" category "A" price 100.00 qty 2 tax 13%
  coupon P10
  expect payable 135.00
}}
"""


def test_unit_forms_and_percent_coupons_count_in_the_bound() -> None:
    """第N件X折 takes its rate, a percent coupon its percent; 买N赠M and gifts can take a whole line."""
    rated = analyze(_compiled(UNIT_FORMS.format(extra=""), "units.rules"))
    assert rated.bound.share == 1 - Fraction(1, 2) * Fraction(9, 10)  # 55%
    free = UNIT_FORMS.format(
        extra='rule b11 "B类 买一赠一" {\n  when item.category = "B"\n  then buy 1 get 1 free\n}'
    )
    assert analyze(_compiled(free, "units.rules")).bound.share == 1


# Planted programmes whose examples do not reach the bound: the witness has to be built from the
# rules. Each is designed so that the bound is reachable exactly (thresholds chain: 250.00 -> 8折
# 200.00 -> 满200减20 180.00 -> 满180减18 162.00 -> half paid with points), and the witness must hit it.
CHAINED = """\
ruleset "chained" {
  currency CNY
  redeem 50 points per_yuan, cap 50%
}

tier normal "普通" points x1.0
tier gold "金卡" points x1.5

rule gold_a "A类 金卡 周三 8折" {
  valid on wed
  when item.category = "A" and member.tier >= gold and member.tags has "vip"
  then item discount 8折
}

rule a_200_20 "A类 满200减20" {
  when subtotal(item.category = "A") >= 200.00
  then basket discount 20.00 over item.category = "A"
}

coupon C18 "满180减18" {
  value 18.00, min_spend 180.00
}

example "散客 买B类" {
  member guest
  at 2026-11-16 10:00
  line "b" category "B" price 10.00 qty 1 tax 13%
  expect payable 10.00
}
"""

UNITS = """\
ruleset "units-only" {
  currency CNY
}

tier normal "普通" points x1.0

rule b21 "零食 买二赠一" {
  when item.category = "零食" and hour >= 18
  then buy 2 get 1 free
}

rule gift "满300 赠购物袋" {
  when subtotal() >= 300.00 and basket.channel = "app"
  then gift "BAG-01" qty 1
}

example "一件零食 上午" {
  member tier normal
  at 2026-11-16 10:00
  line "薯片" category "零食" price 8.00 qty 1 tax 13%
  expect payable 8.00
}
"""


def _bundled() -> list[tuple[str, str]]:
    return [(p.name, bundle_text(read_folder(p))) for p in FOLDERS] + [
        (p.name, p.read_text("utf-8")) for p in BUNDLED
    ]


@pytest.mark.parametrize(("name", "text"), [*_bundled(), ("chained", CHAINED), ("units", UNITS)])
def test_every_witness_evaluated_really_loses_the_share_it_claims(name: str, text: str) -> None:
    """The witness basket, priced again from its request, loses exactly its claimed share; it says it
    reaches the bound only when that share equals the bound, and otherwise prints both figures."""
    from engine.analysis import reach_text

    compiled = _compiled(text, f"{name}.rules")
    result = analyze(compiled, as_of=date(2026, 1, 1))
    w = result.witness
    assert w is not None
    line = compiled.evaluate(w.request).lines[w.line - 1]
    assert Fraction(line.discount, line.amount) == w.share <= result.bound.share
    said = reach_text(result)
    if w.share == result.bound.share:
        assert said.startswith("witness reaches the bound")
    else:
        assert said.startswith("bound not reached by witness: bound ")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        *[(n, t) for n, t in _bundled() if n != "supermarket"],
        ("stacked", STACKED.replace("{ceiling}", "100%")),
        ("chained", CHAINED),
        ("units", UNITS),
    ],
)
def test_the_witness_reaches_the_bound_where_the_bound_can_be_reached(name: str, text: str) -> None:
    """Built from the rules, not picked from the examples: the chained thresholds, the 买二赠一 unit
    and the gift are all reached exactly (exact rationals)."""
    result = analyze(_compiled(text, f"{name}.rules"), as_of=date(2026, 1, 1))
    assert result.reached, (result.bound.share, result.witness and result.witness.share)


def test_the_chained_witness_meets_every_condition_and_threshold() -> None:
    result = analyze(_compiled(CHAINED, "chained.rules"))
    assert result.bound.share == 1 - Fraction(8, 10) * Fraction(9, 10) * Fraction(9, 10) * Fraction(1, 2)
    w = result.witness
    assert w is not None and w.share == result.bound.share
    assert w.example.at.weekday() == 2 and w.example.member is not None
    assert w.example.member.tier == "gold" and "vip" in w.example.member.tags
    sources = [d.source for d in w.evaluation.lines[w.line - 1].discounts]
    assert sources == ["gold_a", "a_200_20", "coupon:C18", "points"]


def test_a_member_price_bound_is_not_claimed_as_reached() -> None:
    """A member price leaves a vanishing but non-zero share of a dear line: the bound (100%) is a
    supremum no basket reaches, and the report says so with both figures."""
    from engine.analysis import reach_text

    result = analyze(_compiled(bundle_text(read_folder("rulesets/supermarket")), "supermarket.rules"))
    assert result.bound.share == 1 and result.witness is not None
    assert Fraction(99, 100) < result.witness.share < 1
    assert not result.reached
    assert reach_text(result).startswith("bound not reached by witness: bound 100.00%, witness 99.99%")
