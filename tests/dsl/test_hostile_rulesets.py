"""Ruleset tooling given hostile files: a located error, linear time, a formatter that settles."""

from __future__ import annotations

import pytest

import dsl
from engine.check.conditions import MAX_DEPTH
from engine.compiled import compile_ruleset
from engine.errors import RuleErrors
from server.cli.main import main

BASE = """ruleset "t" {
  currency CNY
  timezone "Asia/Shanghai"
  points per_yuan 1
}
tier normal "n" points x1.0
"""


def _rule(when: str) -> str:
    return BASE + f'rule r "r" {{\n  when {when}\n  then item discount 9折\n}}\n'


@pytest.mark.parametrize("depth", [MAX_DEPTH + 2, 199, 400])
def test_deeply_nested_not_is_a_located_error(depth: int, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "deep.rules"
    path.write_text(_rule("not " * depth + 'item.category = "A"'), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().out + capsys.readouterr().err
    assert f"{path}:8:" in err and "nests more than" in err


def test_a_condition_at_the_limit_still_compiles() -> None:
    compiled = compile_ruleset(dsl.load(_rule("not " * (MAX_DEPTH - 2) + 'item.category = "A"'), "ok"))
    assert compiled.ruleset.rules


def test_a_300_character_timezone_is_a_clear_error() -> None:
    with pytest.raises(RuleErrors) as caught:
        dsl.load(BASE.replace("Asia/Shanghai", "A" * 300), "tz")
    (error,) = caught.value.errors
    assert "unknown timezone" in error.message and "(300 characters)" in error.message


def test_many_errors_split_the_file_once() -> None:
    """4,000 failing ladder steps: every error quotes its line, and the file is split into lines once
    (it was split again for each error: quadratic, 28 s for 4,000 steps)."""
    from engine.spans import _lines

    n = 4000
    steps = ", ".join(f"{(n - k) * 10}.00 -> {k + 1}.00" for k in range(n))
    text = BASE + f'rule r "r" {{\n  when subtotal() >= 1.00\n  then basket discount steps {steps}\n}}\n'
    _lines.cache_clear()
    with pytest.raises(RuleErrors) as caught:
        dsl.load(text, "steps")
    rendered = [str(e) for e in caught.value.errors]
    assert len(rendered) == n - 1 and all("then basket discount steps" in r for r in rendered[:3])
    assert _lines.cache_info().misses == 1


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c"])
def test_fmt_settles_when_a_comment_holds_a_line_separator(separator: str) -> None:
    text = BASE + f"\n# a comment{separator}still the comment\n" + _rule('item.category = "A"')[len(BASE) :]
    once = dsl.format_text(text, "x")
    assert dsl.format_text(once, "x") == once
