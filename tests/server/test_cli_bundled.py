"""The real DSL on the bundled rulesets and sample requests: check, fmt, eval and invoice end to end."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from server.cli.main import main


def _summary(out: str, path: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith(f"{path}: ")]
    assert lines, out
    return lines[-1]


class TestCheckBundledRulesets:
    def test_health_rules_pass(self, in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The bundled ruleset is sound and every embedded example passes."""
        assert main(["check", "rulesets/health"]) == 0, capsys.readouterr().out
        summary = _summary(capsys.readouterr().out, "rulesets/health")
        assert re.fullmatch(r"rulesets/health: ok, \d+ examples passed", summary)

    def test_the_rulesets_directory_passes(self, in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Checking the folder checks every bundled programme (folder or single file), one summary each."""
        assert main(["check", "rulesets"]) == 0, capsys.readouterr().out
        out = capsys.readouterr().out
        summaries = sorted(line.split(":")[0] for line in out.splitlines() if ": ok, " in line)
        assert summaries == [
            "rulesets/cosmetics.rules",
            "rulesets/department-store",
            "rulesets/health",
            "rulesets/supermarket",
        ]

    def test_a_misspelt_tier_is_reported_with_its_place(
        self, in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A typo in a campaign file gives that file's file:line:col, the line, a caret, and exit 1;
        the summary names the programme folder, the whole version is refused."""
        folder = tmp_path / "health"
        shutil.copytree(in_repo / "rulesets" / "health", folder)
        bad = folder / "member-prices.rules"
        text = bad.read_text(encoding="utf-8")
        assert "member.tier >= gold" in text
        bad.write_text(text.replace("member.tier >= gold", "member.tier >= glod", 1), encoding="utf-8")
        assert main(["check", str(folder)]) == 1
        out = capsys.readouterr().out
        assert re.search(rf"{re.escape(str(bad))}:\d+:\d+: .*glod", out)
        assert "^" in out
        assert re.fullmatch(rf"{re.escape(str(folder))}: \d+ errors?", _summary(out, str(folder)))

    def test_a_wrong_expectation_fails_its_example(
        self, in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Changing one example's expected payable makes exactly that example fail, exit 1."""
        bad = tmp_path / "health"
        shutil.copytree(in_repo / "rulesets" / "health", bad)
        programme = bad / "programme.rules"
        text = programme.read_text(encoding="utf-8")
        assert "expect payable 316.90" in text
        programme.write_text(text.replace("expect payable 316.90", "expect payable 316.91"), encoding="utf-8")
        assert main(["check", str(bad)]) == 1
        out = capsys.readouterr().out
        assert "316.91" in out
        assert re.fullmatch(rf"{re.escape(str(bad))}: 1 of \d+ examples failed", _summary(out, str(bad)))


class TestFmtBundledRulesets:
    def test_formatting_is_stable(
        self, in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """After promo fmt, promo fmt --check passes and a second fmt changes nothing."""
        folder = tmp_path / "health"
        shutil.copytree(in_repo / "rulesets" / "health", folder)
        assert main(["fmt", str(folder)]) == 0
        once = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.rules")}
        assert main(["fmt", "--check", str(folder)]) == 0
        assert {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.rules")} == once
        assert main(["check", str(folder)]) == 0, capsys.readouterr().out

    def test_check_spots_extra_spaces(
        self, in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A ruleset with stray spaces would be reformatted: --check exits 1 and names it."""
        copy = tmp_path / "programme.rules"
        shutil.copy(in_repo / "rulesets" / "health" / "programme.rules", copy)
        main(["fmt", str(copy)])
        messy = copy.read_text(encoding="utf-8").replace("currency CNY", "currency      CNY", 1)
        copy.write_text(messy, encoding="utf-8")
        capsys.readouterr()
        assert main(["fmt", "--check", str(copy)]) == 1
        assert capsys.readouterr().out == f"would reformat {copy}\n"
        assert copy.read_text(encoding="utf-8") == messy


class TestEvalBundledRequests:
    @pytest.mark.parametrize(
        ("request_file", "payable", "points"),
        [
            ("health-gold.json", "34470", "517"),
            ("health-diamond-redeem.json", "53380", "6405"),
            ("health-guest.json", "38015", "0"),
            ("supermarket-wednesday.json", "26950", "359"),
        ],
    )
    def test_sample_requests_price_as_worked_out(
        self, in_repo: Path, capsys: pytest.CaptureFixture[str], request_file: str, payable: str, points: str
    ) -> None:
        """Each sample request in rulesets/requests prices to the hand-computed payable and points."""
        ruleset = "rulesets/supermarket" if request_file.startswith("supermarket") else "rulesets/health"
        code = main(["eval", "--ruleset", ruleset, "--request", f"rulesets/requests/{request_file}"])
        out, err = capsys.readouterr()
        assert code == 0, err
        reply = json.loads(out)
        assert reply["payableFen"] == payable
        assert reply["points"]["earned"] == points
        assert reply["invoice"]["refusedReason"] == ""
        assert reply["invoice"]["totals"]["grossFen"] == payable

    def test_the_diamond_sample_redeems_points(
        self, in_repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The diamond sample spends 5000 points for 100.00 and asks for the explanation itself."""
        main(
            [
                "eval",
                "--ruleset",
                "rulesets/health",
                "--request",
                "rulesets/requests/health-diamond-redeem.json",
            ]
        )
        reply = json.loads(capsys.readouterr().out)
        assert reply["redemption"] == {"points": "5000", "valueFen": "10000"}
        assert [m["rule"] for m in reply["points"]["multipliers"]] == ["member_day", "birthday"]

    def test_the_gold_sample_rejects_one_coupon(
        self, in_repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """HY20 is accepted and VIP50 falls short of its minimum spend, in the ruleset's coupon order."""
        main(["eval", "--ruleset", "rulesets/health", "--request", "rulesets/requests/health-gold.json"])
        coupons = json.loads(capsys.readouterr().out)["coupons"]
        assert [(c["code"], c["reason"]) for c in coupons] == [("HY20", "accepted"), ("VIP50", "min_spend")]

    @pytest.mark.parametrize("fmt", ["table", "json", "csv"])
    def test_invoice_in_every_format(
        self, in_repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
    ) -> None:
        """promo invoice prints the gold sample's invoice in each format, totalling 344.70."""
        args = [
            "invoice",
            "--ruleset",
            "rulesets/health",
            "--request",
            "rulesets/requests/health-gold.json",
        ]
        assert main([*args, "--format", fmt]) == 0
        assert "344.70" in capsys.readouterr().out
