"""``promo check`` and ``promo fmt``: exit codes, rendered errors and one summary line per file.

The loader and formatter are replaced so the CLI's own behaviour is pinned whatever the DSL
does; test_cli_bundled.py runs the real DSL on the bundled rulesets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest

import dsl
from engine.errors import RuleError, RuleErrors
from engine.rules import Example, ExampleLine, Expectation, Ruleset, Settings, Tier
from engine.spans import Source, Span
from server.cli import rules as cli_rules
from server.cli.main import main

MINI = Ruleset("mini", Settings(), tiers=(Tier("normal", "普通", Fraction(1), 0),), source_text="mini")
ONE_EXAMPLE = Example(
    "a", datetime(2026, 11, 15, 10, 0), (ExampleLine("x", 100, 1000),), Expectation(payable=200)
)


def _glod(path: Path) -> RuleError:
    text = path.read_text(encoding="utf-8")
    return RuleError(
        "unknown tier 'glod'", Span(Source(str(path), text), 1, 6, 1, 10), "did you mean 'gold'?"
    )


@pytest.fixture
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """good.rules loads as MINI; bad.rules has one error, whatever the DSL does."""
    (tmp_path / "good.rules").write_text("good\n", encoding="utf-8")
    (tmp_path / "bad.rules").write_text("tier glod\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a ruleset\n", encoding="utf-8")

    def load(name: str, text: str) -> tuple[Ruleset | None, list[RuleError]]:
        return (None, [_glod(Path(name))]) if name.endswith("bad.rules") else (MINI, [])

    monkeypatch.setattr(cli_rules, "load_and_check", load)
    return tmp_path


class TestCheck:
    def test_a_good_file_exits_0_with_a_summary(
        self, rules_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A sound ruleset prints one "ok" line and exits 0; having no examples is only a warning."""
        good = rules_dir / "good.rules"
        assert main(["check", str(good)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("warning: ruleset 'mini' has no examples")
        assert out.endswith(f"{good}: ok, no examples, 1 warning\n")

    def test_a_bad_file_prints_rendered_errors_and_exits_1(
        self, rules_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each error is printed exactly as str(RuleError), then the file's summary; exit 1."""
        bad = rules_dir / "bad.rules"
        assert main(["check", str(bad)]) == 1
        out = capsys.readouterr().out
        assert out.startswith(str(_glod(bad)))
        assert out.rstrip().endswith(f"{bad}: 1 error")
        assert "^^^^" in out and "hint: did you mean 'gold'?" in out

    def test_a_directory_checks_every_rules_file_in_order(
        self, rules_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A directory expands to its *.rules files, sorted; one bad file makes the exit 1."""
        assert main(["check", str(rules_dir)]) == 1
        summaries = [line for line in capsys.readouterr().out.splitlines() if line.startswith(str(rules_dir))]
        assert summaries[-2:] == [
            f"{rules_dir / 'bad.rules'}: 1 error",
            f"{rules_dir / 'good.rules'}: ok, no examples, 1 warning",
        ]
        assert not any("notes.txt" in line for line in summaries)

    def test_a_missing_path_is_a_usage_error(
        self, rules_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A path that does not exist exits 2 before anything is checked."""
        assert main(["check", str(rules_dir / "good.rules"), str(rules_dir / "nope.rules")]) == 2
        captured = capsys.readouterr()
        assert "nope.rules: no such file or directory" in captured.err
        assert captured.out == ""

    def test_a_directory_without_rulesets_is_a_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An empty directory is most likely a typo: exit 2."""
        (tmp_path / "empty").mkdir()
        assert main(["check", str(tmp_path / "empty")]) == 2
        assert "no *.rules files" in capsys.readouterr().err

    def test_a_file_that_is_not_utf8_fails(self, rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Bytes that are not UTF-8 are reported with their offset, exit 1, no traceback."""
        path = rules_dir / "gbk.rules"
        path.write_bytes("会员".encode("gbk"))
        assert main(["check", str(path)]) == 1
        out = capsys.readouterr().out
        assert "not UTF-8" in out and "Traceback" not in out

    def test_failing_examples_are_counted(
        self, rules_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Expectation failures print as errors and the summary counts failed examples, exit 1."""
        good = rules_dir / "good.rules"
        source = Source(str(good), "good\n")
        failures = [
            RuleError("example 'a': payable is 1.00, expected 2.00", Span(source, 1, 1)),
            RuleError("example 'a': points is 1, expected 2", Span(source, 1, 1)),
        ]
        monkeypatch.setattr("engine.check.run_examples.run_examples", lambda compiled: failures)
        with_example = replace(MINI, examples=(ONE_EXAMPLE, ONE_EXAMPLE))
        monkeypatch.setattr(cli_rules, "load_and_check", lambda name, text: (with_example, []))
        assert main(["check", str(good)]) == 1
        out = capsys.readouterr().out
        assert "payable is 1.00, expected 2.00" in out
        assert out.rstrip().endswith(f"{good}: 1 of 2 examples failed")


class TestFmt:
    @pytest.fixture(autouse=True)
    def squeeze(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A stand-in formatter: canonical form has single spaces; "!" does not parse."""

        def format_text(text: str, name: str) -> str:
            if "!" in text:
                raise RuleErrors(
                    [RuleError("unexpected '!'", Span(Source(name, text), 1, text.index("!") + 1))]
                )
            return "\n".join(" ".join(line.split()) for line in text.splitlines()) + "\n"

        monkeypatch.setattr(dsl, "format_text", format_text, raising=False)

    def test_check_lists_files_that_would_change_without_writing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--check exits 1, names the file and leaves it untouched."""
        path = tmp_path / "a.rules"
        path.write_text("tier  normal\n", encoding="utf-8")
        assert main(["fmt", "--check", str(path)]) == 1
        assert capsys.readouterr().out == f"would reformat {path}\n"
        assert path.read_text(encoding="utf-8") == "tier  normal\n"

    def test_check_passes_on_canonical_files(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--check exits 0 and prints nothing when every file is canonical."""
        path = tmp_path / "a.rules"
        path.write_text("tier normal\n", encoding="utf-8")
        assert main(["fmt", "--check", str(path)]) == 0
        assert capsys.readouterr().out == ""

    def test_fmt_rewrites_then_check_passes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --check the file is rewritten in canonical form and reported."""
        path = tmp_path / "a.rules"
        path.write_text("tier   normal\n", encoding="utf-8")
        assert main(["fmt", str(path)]) == 0
        assert path.read_text(encoding="utf-8") == "tier normal\n"
        assert capsys.readouterr().out == f"reformatted {path}\n"
        assert main(["fmt", "--check", str(path)]) == 0

    def test_a_file_that_does_not_parse_is_an_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A syntax error exits 1 with the rendered error; the file is not touched."""
        path = tmp_path / "a.rules"
        path.write_text("tier ! normal\n", encoding="utf-8")
        assert main(["fmt", str(path)]) == 1
        err = capsys.readouterr().err
        assert f"{path}:1:6: unexpected '!'" in err
        assert path.read_text(encoding="utf-8") == "tier ! normal\n"
