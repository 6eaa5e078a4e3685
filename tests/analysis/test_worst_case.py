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


@pytest.mark.parametrize(
    "text", [STACKED.replace("{ceiling}", "100%")] + [p.read_text("utf-8") for p in BUNDLED]
)
def test_the_witness_pasted_back_reaches_the_share_it_claims(text: str) -> None:
    compiled = _compiled(text)
    result = analyze(compiled, as_of=date(2026, 1, 1))
    w = result.witness
    assert w is not None
    assert 0 < w.share <= result.bound.share
    pasted = _compiled(text + "\n" + example_block(w) + "\n", "pasted.rules")
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
