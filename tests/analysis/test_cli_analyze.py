"""`promo analyze`: findings with their place, the worst case, the witness block; exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_findings import PLANTED

from server.cli.main import main


def test_analyze_prints_findings_bound_and_witness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "planted.rules"
    path.write_text(PLANTED, encoding="utf-8")
    assert main(["analyze", str(path), "--as-of", "2026-11-01"]) == 0  # findings are warnings
    out = capsys.readouterr().out
    assert f"{path}:22:32: warning: rule 'both' can never apply" in out
    # `clear` 50% and locked; else ghost, bag_pct and pct_later 20% each: 48.8%; CLR is shadowed
    assert f"{path}: worst case 50.00% of a line's amount" in out
    assert "witness reaches the bound: line" in out
    assert 'example "worst case: line 2 loses 50.00% of its amount" {' in out
    assert out.rstrip().endswith(f"{path}: 10 finding(s)")


def test_analyze_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "planted.rules"
    path.write_text(PLANTED, encoding="utf-8")
    assert main(["analyze", "--json", "--as-of", "2026-11-01", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {(f["subject"], f["kind"], f["line"]) for f in doc["findings"]}
    assert ("ghost", "unseen_value", 44) in kinds
    assert doc["witness"]["share"] == "1/2"
    assert doc["worst_case"]["over_max_discount"] is False


def test_a_ruleset_that_does_not_check_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.rules"
    path.write_text(PLANTED.replace("member.tier > gold", "member.tier > glod"), encoding="utf-8")
    assert main(["analyze", str(path)]) == 1
    assert "unknown tier 'glod'" in capsys.readouterr().out


def test_a_bad_as_of_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "planted.rules"
    path.write_text(PLANTED, encoding="utf-8")
    assert main(["analyze", str(path), "--as-of", "yesterday"]) == 2
    assert "--as-of: not a date" in capsys.readouterr().err
