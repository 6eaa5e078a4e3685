"""`promo fmt`: canonical layout that keeps every comment and every meaning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dsl_samples import HEADER, RICH, ruleset
from hypothesis import given, settings
from hypothesis import strategies as st

import dsl
from dsl.parser import parse
from engine.errors import RuleErrors
from engine.spans import Source

RULESETS = sorted((Path(__file__).parents[2] / "rulesets").rglob("*.rules"))  # programme and campaign files

SMALL = [
    RICH,
    HEADER,
    ruleset('rule a "x" { then points x2 }  # one-liner\n'),
    '# only a header\nruleset "t" {  # trailing on the header\n  # inside, before the brace\n}\n# after',
]


def fmt(text: str) -> str:
    return dsl.format_text(text, "t.rules")


RICH_FORMATTED = fmt(RICH)


def comments(text: str) -> list[str]:
    return sorted(str(c).rstrip() for c in parse(text, Source("t", text)).comments)


class TestProperties:
    @pytest.mark.parametrize("text", SMALL + [p.read_text(encoding="utf-8") for p in RULESETS])
    def test_idempotent_same_meaning_every_comment(self, text: str) -> None:
        """fmt(fmt(x)) == fmt(x); fmt(x) loads to an equal Ruleset; every comment survives."""
        once = fmt(text)
        assert fmt(once) == once
        assert comments(once) == comments(text)
        try:
            original = dsl.load(text, "t")
        except RuleErrors:
            return  # some samples are only fragments; their layout is still checked above
        assert dsl.load(once, "t") == original

    @pytest.mark.parametrize("path", RULESETS, ids=lambda p: f"{p.parent.name}/{p.name}")
    def test_bundled_rulesets_are_canonical(self, path: Path) -> None:
        """The shipped files are what `promo fmt` writes, so `promo fmt --check rulesets/` passes."""
        text = path.read_text(encoding="utf-8")
        assert fmt(text) == text, f"run `promo fmt {path.relative_to(path.parents[2])}`"

    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def test_spacing_does_not_matter(self, data: st.DataObject) -> None:
        """Any spacing and indentation of the same tokens formats to the same text."""
        lines = []
        for line in RICH.splitlines():
            code, hash_, comment = _split_comment(line)
            parts = re.split(r'("(?:[^"\\]|\\.)*")', code)  # keep strings as they are
            for i in range(0, len(parts), 2):
                parts[i] = re.sub(r" +", lambda _m: " " * data.draw(st.integers(1, 3)), parts[i])
                parts[i] = re.sub(
                    r"([\[\](),])", lambda m: data.draw(st.sampled_from(["", " "])) + m.group(1), parts[i]
                )
            indent = " " * data.draw(st.integers(0, 6))
            lines.append(indent + "".join(parts).lstrip() + hash_ + comment)
        assert fmt("\n".join(lines)) == RICH_FORMATTED


def _split_comment(line: str) -> tuple[str, str, str]:
    """(code, '#', comment) outside strings."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i], "#", line[i + 1 :]
    return line, "", ""


class TestLayout:
    def test_spacing_indentation_and_money(self) -> None:
        """Single spaces, two-space indents, money with two decimals; counts and quantities as written."""
        text = (
            'ruleset "t" {\n}\nrule   a   "x" {\n'
            '      when  item.category="A"and subtotal( )>=100 and day_of_month=15 and\n'
            "  item.price in [ 1 ,2.5 ]\n"
            "then basket discount steps 100->20,200 ->50\n"
            "}\n"
            'example "e" {\n at 2026-01-01 10:00\n    line "x" price 3 qty 1.250\n'
            " expect payable 3.75, points 3\n}\n"
        )
        assert fmt(text) == (
            'ruleset "t" {\n}\n\nrule a "x" {\n'
            '  when item.category = "A" and subtotal() >= 100.00 and day_of_month = 15 and\n'
            "    item.price in [1.00, 2.50]\n"
            "  then basket discount steps 100.00 -> 20.00, 200.00 -> 50.00\n"
            "}\n\n"
            'example "e" {\n  at 2026-01-01 10:00\n  line "x" price 3.00 qty 1.250\n'
            "  expect payable 3.75, points 3\n}\n"
        )

    def test_line_expectations(self) -> None:
        """`line N` terms: single spaces, money with two decimals, points and line numbers as written,
        fields in the author's order; formatting again changes nothing and the meaning is the same."""
        text = (
            'ruleset "t" {\n}\ntier normal "n" points x1\nexample "e" {\n at 2026-01-01 10:00\n'
            '  line "x" price 3\n  line "y" price 1\n'
            " expect points 4 ,line   1 net 3   discount 0 points 3,line 2 points 1  net 1.0  # per line\n}\n"
        )
        once = fmt(text)
        assert once.splitlines()[-2] == (
            "  expect points 4, line 1 net 3.00 discount 0.00 points 3, line 2 points 1 net 1.00  # per line"
        )
        assert fmt(once) == once
        assert dsl.load(once, "t").examples == dsl.load(text, "t").examples
        assert dsl.load(once, "t").examples[0].expect.lines[1].net == 100

    def test_one_line_block_is_opened_up(self) -> None:
        """`{ then points x2 }` becomes one statement per line; a trailing comment stays on the brace line."""
        assert fmt(HEADER + 'rule a "x" { then points x2 }  # c\n') == (
            HEADER + '\nrule a "x" {\n  then points x2\n}  # c\n'
        )

    def test_tables_are_aligned(self) -> None:
        """Table columns line up (a Chinese character is two columns wide); '-' stays '-'."""
        text = HEADER + (
            'table t "x" {\n by member.tier,item.category\n columns normal gold\n'
            ' "化妆品" 9.8折 9.5折  # cosmetics\n "a" - 9折\n}\n'
        )
        assert fmt(text) == HEADER + (
            '\ntable t "x" {\n  by member.tier, item.category\n'
            "  columns   normal  gold\n"
            '  "化妆品"  9.8折   9.5折  # cosmetics\n'
            '  "a"       -       9折\n'
            "}\n"
        )

    def test_tiers_are_aligned(self) -> None:
        """Consecutive tier lines read as a table."""
        text = (
            HEADER
            + 'tier normal "普通" points x1\n'
            + 'tier diamond "钻石卡" points x3 upgrade when lifetime_spend >= 100\n'
        )
        assert fmt(text) == HEADER + (
            '\ntier normal  "普通"   points x1\n'
            'tier diamond "钻石卡" points x3  upgrade when lifetime_spend >= 100.00\n'
        )

    def test_continued_statements_keep_their_breaks(self) -> None:
        """A statement the author wrapped stays wrapped, continued one level deeper."""
        text = HEADER + 'rule a "x" {\n  when item.sku = "a" or\n item.sku = "b"\n  then points x2\n}\n'
        assert (
            fmt(text)
            == HEADER + '\nrule a "x" {\n  when item.sku = "a" or\n    item.sku = "b"\n  then points x2\n}\n'
        )

    def test_blank_lines(self) -> None:
        """Runs of blank lines become one, none after '{' or before '}', one between blocks."""
        text = (
            HEADER
            + 'rule a "x" {\n\n\n  priority 1\n\n\n\n  then points x2\n\n}\n'
            + 'rule b "y" {\n  then points x2\n}\n'
        )
        assert fmt(text) == HEADER + (
            '\nrule a "x" {\n  priority 1\n\n  then points x2\n}\n\nrule b "y" {\n  then points x2\n}\n'
        )


class TestComments:
    def test_comment_positions(self) -> None:
        """Leading comments stay above, trailing ones after two spaces, inner ones before '}' stay inside."""
        text = (
            "# file header\n\n"
            'ruleset "t" {   # trailing\n'
            "      # leading, badly indented\n"
            "  currency CNY     # 100 x 95% = 95\n"
            "# before the brace\n"
            "}\n"
            "# end\n"
        )
        assert fmt(text) == (
            "# file header\n\n"
            'ruleset "t" {  # trailing\n'
            "  # leading, badly indented\n"
            "  currency CNY  # 100 x 95% = 95\n"
            "  # before the brace\n"
            "}\n\n"
            "# end\n"
        )

    def test_comment_inside_a_wrapped_statement_moves_above_it(self) -> None:
        """A comment between the lines of one statement goes above the statement, and stays there."""
        text = (
            HEADER
            + 'rule a "x" {\n  when item.sku = "a" or  # why a\n    item.sku = "b"\n  then points x2\n}\n'
        )
        once = fmt(text)
        assert once == HEADER + (
            '\nrule a "x" {\n  # why a\n  when item.sku = "a" or\n    item.sku = "b"\n  then points x2\n}\n'
        )
        assert fmt(once) == once

    def test_every_comment_of_the_rich_sample_survives(self) -> None:
        """Hand arithmetic in comments is never lost."""
        once = fmt(RICH)
        for line in RICH.splitlines():
            if "#" in line:
                assert line[line.index("#") :].rstrip() in once


class TestErrors:
    def test_syntax_errors_are_reported_not_formatted(self) -> None:
        """fmt refuses text that does not parse, with the usual errors."""
        with pytest.raises(RuleErrors) as caught:
            fmt(HEADER + 'rule a "x" {\n  then points 2\n}\n')
        assert "expected a factor like x1.5 after 'points'" in str(caught.value)

    def test_semantic_errors_do_not_stop_fmt(self) -> None:
        """fmt only needs the text to parse: an unknown tier is kept as written."""
        assert "member.tier >= glod" in fmt(
            HEADER + 'rule a "x" {\n  when member.tier >= glod\n  then points x2\n}\n'
        )

    def test_bad_money_is_kept_as_written(self) -> None:
        """A money literal with three decimals is left for `promo check` to report."""
        assert "value 1.005" in fmt(HEADER + "coupon c {\n  value 1.005\n}\n")
