"""`promo eval` and the wire reply carry the unit-form prompts (free units, gifts available)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli.main import main

REQUEST = "rulesets/requests/cosmetics-lipsticks.json"


def test_eval_lists_the_free_unit_and_the_gift(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two lipsticks under 买二赠一 (one more is free); 433.00 of goods, no bag (one bag to give)."""
    assert main(["eval", "--ruleset", "rulesets/cosmetics.rules", "--request", REQUEST, "--explain"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["freeUnits"] == [{"rule": "lipstick_321", "units": 1}]
    assert reply["gifts"] == [{"rule": "gift_bag", "sku": "BAG-01", "quantity": 1}]
    # 面膜 30.00 x 2: the 2nd unit half price; the lipsticks took nothing yet
    discounts = {line["lineId"]: [d["source"] for d in line["discounts"]] for line in reply["lines"]}
    assert discounts["2"][0] == "mask_half" and "lipstick_321" not in discounts["1"]


def test_with_the_bag_rung_up_the_prompt_goes_and_the_bag_is_free(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = json.loads(Path(REQUEST).read_text(encoding="utf-8"))
    bag = dict(request["lines"][0], id="4", sku="BAG-01", name="*化妆品*化妆包", category="礼品")
    bag.update(unitPriceFen=5900, quantityMilli=1000)
    request["lines"].append(bag)
    path = tmp_path / "with-bag.json"
    path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    assert main(["eval", "--ruleset", "rulesets/cosmetics.rules", "--request", str(path)]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["gifts"] == []
    bag_line = next(line for line in reply["lines"] if line["lineId"] == "4")
    assert bag_line["netFen"] == "0" and bag_line["discountFen"] == "5900"
