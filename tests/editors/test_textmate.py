"""The TextMate grammar (editors/promo-rules.tmLanguage.json) tokenizes every bundled ruleset.

The tokenizer below is TextMate's algorithm, driven by Oniguruma itself (onigurumacffi, the
regex engine TextMate and VS Code use; `compile_regset` finds the leftmost match, ties to the
first pattern, as they do): each line on its own, `match` rules scope what they match, a
`begin` pushes a frame whose `end` is tried first, `include` expands from the repository.
"Without error" means: every regex compiles in Oniguruma, no character falls to the grammar's
catch-all `invalid.illegal` rule, and every `{` is closed by the end of the file.
A full TextMate port (textmate-grammar-python) exists on PyPI, but it has not been released
since 2024 and pulls in more than it adds; this driver is ~40 lines over the same regex engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import onigurumacffi
import pytest

GRAMMAR = json.loads(Path("editors/promo-rules.tmLanguage.json").read_text(encoding="utf-8"))
BUNDLED = sorted(Path("rulesets").glob("**/*.rules"))  # single files and programme folders
Token = tuple[int, str, tuple[str, ...]]  # (line number, text, scopes innermost last)


def _expand(patterns: list[dict]) -> list[dict]:
    out = []
    for p in patterns:
        if "include" in p:
            out.extend(_expand([GRAMMAR["repository"][p["include"][1:]]]))
        elif "patterns" in p and "match" not in p and "begin" not in p:
            out.extend(_expand(p["patterns"]))
        else:
            out.append(p)
    return out


def tokenize(text: str) -> tuple[list[Token], int]:
    """Tokens with their scopes, and how many frames are still open at the end of the text."""
    root = GRAMMAR["scopeName"]
    stack: list[tuple[dict | None, tuple[str, ...]]] = [(None, (root,))]
    tokens: list[Token] = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        pos = 0
        while pos < len(line):
            rule, scopes = stack[-1]
            rules = _expand(rule["patterns"] if rule is not None else GRAMMAR["patterns"])
            regexes = [r.get("match") or r["begin"] for r in rules]
            if rule is not None:
                regexes.insert(0, rule["end"])
            index, m = onigurumacffi.compile_regset(*regexes).search(line, pos)
            if m is None:
                break
            if rule is not None and index == 0:
                tokens.append((number, m.group(0), (*scopes, *_names(rule, "endCaptures"))))
                stack.pop()
            else:
                hit = rules[index - (rule is not None)]
                inner = (*scopes, hit["name"]) if "name" in hit else scopes
                caps = "captures" if "match" in hit else "beginCaptures"
                tokens.append((number, m.group(0), (*inner, *_names(hit, caps))))
                if "begin" in hit:
                    stack.append((hit, inner))
            pos = max(m.end(), pos + 1) if m.end() == m.start() else m.end()
    return tokens, len(stack) - 1


def _names(rule: dict, key: str) -> tuple[str, ...]:
    return tuple(c["name"] for c in rule.get(key, {}).values() if "name" in c)


def _illegal(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if any(s.startswith("invalid.") for s in t[2])]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to("rulesets")))
def test_every_bundled_ruleset_tokenizes_without_error(path: Path) -> None:
    tokens, open_frames = tokenize(path.read_text(encoding="utf-8"))
    assert _illegal(tokens) == []
    assert open_frames == 0
    assert len(tokens) > 20  # a campaign file holds a header and a rule or two; a programme far more


def test_tokens_get_the_scopes_an_editor_colours() -> None:
    folder = sorted(Path("rulesets/health").glob("*.rules"))  # the programme file and its campaigns
    tokens, _ = tokenize("\n".join(path.read_text(encoding="utf-8") for path in folder))
    scopes = {text: s[-1] for _, text, s in tokens}
    assert scopes["9.5折"] == "constant.numeric.rate.promo-rules"
    assert scopes["item.category"] == "variable.other.field.promo-rules"
    assert scopes["x1.5"] == "constant.numeric.factor.promo-rules"
    assert scopes["2026-01-01"] == "constant.numeric.date.promo-rules"
    assert scopes["when"] == "keyword.control.promo-rules"
    assert any(s[-1].startswith("comment.") for _, text, s in tokens if text.startswith("# 如意健康"))
    rule_line = next(t for t in tokens if t[1] == "rule a_class")
    assert "entity.name.function.promo-rules" in rule_line[2]


def test_a_stray_character_and_an_open_block_are_errors() -> None:
    tokens, open_frames = tokenize('rule x "y" {\n  when item.price > 1 @\n')
    assert [t[1] for t in _illegal(tokens)] == ["@"]
    assert open_frames == 1
