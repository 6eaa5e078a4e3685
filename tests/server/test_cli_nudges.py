"""`promo eval --explain` prints the nudges: what more of which lines would trigger a rule or coupon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli.main import main

RULES = """\
ruleset "nudge" {
}
tier normal "普通"
rule food "满100减20" {
  when subtotal(item.category = "食品") >= 100.00
  then basket discount 20.00 over item.category = "食品"
}
"""


def test_eval_prints_the_nudge_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """食品 87.70 in the basket: 100.00 - 87.70 = 12.30 more of 食品."""
    (tmp_path / "n.rules").write_text(RULES, encoding="utf-8")
    request = {
        "ruleset": "nudge",
        "time": "2026-11-15T10:00:00+08:00",
        "lines": [
            {
                "id": "1",
                "name": "*食品*米",
                "category": "食品",
                "unitPriceFen": 8770,
                "quantityMilli": 1000,
                "taxRate": "9%",
                "taxCode": "1010101010000000000",
            }
        ],
    }
    (tmp_path / "r.json").write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    code = main(
        ["eval", "--explain", "--ruleset", str(tmp_path / "n.rules"), "--request", str(tmp_path / "r.json")]
    )
    assert code == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["nudges"] == [
        {
            "source": "food",
            "label": "满100减20",
            "missingFen": "1230",
            "measure": "subtotal",
            "thresholdFen": "10000",
            "scope": "食品",
            "text": "12.30 more of 食品 for 满100减20",
        }
    ]
