"""The grammar and the statement-per-line lexing: what parses, and into which declarations."""

from __future__ import annotations

import pytest
from dsl_samples import HEADER, RICH, ruleset

import dsl
from dsl.parser import Parsed, _parser, parse
from engine.errors import RuleErrors
from engine.spans import Source


def _parse(text: str) -> Parsed:
    return parse(text, Source("t.rules", text))


def _kinds(text: str) -> list[str]:
    return [child.data for child in _parse(text).tree.children if hasattr(child, "data")]


class TestGrammar:
    def test_every_declaration_kind_parses(self) -> None:
        """The rich sample yields header, tiers, rules, table, no_points, coupons and examples in order."""
        kinds = _kinds(RICH)
        assert kinds[0] == "header"
        assert kinds.count("tier") == 3
        assert kinds.count("rule") == 10
        assert kinds.count("table") == 1
        assert kinds.count("no_points") == 1
        assert kinds.count("coupon") == 3
        assert kinds[-2:] == ["example", "example"]

    def test_parser_is_built_once(self) -> None:
        """The Lark instance is cached for the process."""
        assert _parser() is _parser()

    def test_comments_are_collected_not_parsed(self) -> None:
        """Comments come back in order with their lines, and do not disturb the statements."""
        parsed = _parse(HEADER + '# one\nno_points when item.sku = "x"  # two\n')
        assert [(c.line, str(c)) for c in parsed.comments] == [(3, "# one"), (4, "# two")]

    def test_a_hash_inside_a_string_is_text(self) -> None:
        """`#` in a label is not a comment."""
        parsed = _parse(ruleset('rule a "满100#减20" {\n  then points x2\n}\n'))
        assert parsed.comments == ()
        assert (
            dsl.load(ruleset('rule a "满100#减20" {\n  then points x2\n}\n'), "t").rules[0].label
            == "满100#减20"
        )

    def test_keywords_are_not_reserved_where_a_name_stands(self) -> None:
        """A rule may be called `points` and a coupon `value`: keywords count only where one may stand."""
        text = ruleset('rule points "x" {\n  then points x2\n}\ncoupon value "y" {\n  value 1.00\n}\n')
        loaded = dsl.load(text, "t")
        assert loaded.rules[0].id == "points"
        assert loaded.coupons[0].id == "value"

    def test_chinese_identifiers(self) -> None:
        """Identifiers may be Chinese: a tier id, a rule id, a weekday."""
        text = (
            HEADER
            + 'tier 金卡 "金卡" points x1.5\n'
            + "rule 会员日 {\n  valid on 周四\n  when member.tier >= 金卡\n  then points x2\n}\n"
        )
        loaded = dsl.load(text, "t")
        assert loaded.rules[0].id == "会员日"
        assert loaded.rules[0].validity.weekdays == frozenset({3})

    def test_byte_order_mark_and_crlf(self) -> None:
        """A file saved by a Windows editor (BOM, CRLF) reads the same."""
        text = ruleset('rule a "x" {\n  then points x2\n}\n')
        assert dsl.load("\ufeff" + text.replace("\n", "\r\n"), "t") == dsl.load(text, "t")

    def test_full_width_space_is_whitespace(self) -> None:
        """The ideographic space a Chinese input method types separates tokens like a space."""
        text = ruleset('rule a "x" {\n\u3000then\u3000points x2\n}\n')
        assert dsl.load(text, "t").rules[0].effect.factor == 2

    def test_empty_block_and_one_line_block(self) -> None:
        """`{ }` and `{ then points x2 }` are blocks too."""
        text = 'ruleset "t" { }\nrule a "x" { then points x2 }\n'
        assert _kinds(text) == ["header", "rule"]


class TestStatementLines:
    @pytest.mark.parametrize(
        "when",
        [
            'item.category = "A" and\n    member.tier >= gold',
            'item.category = "A" or\n    member.tier >= gold',
            'item.category in [\n    "A",\n    "B"\n  ]',
            'subtotal(\n    item.category = "A"\n  ) >= 10',
            'item.category =\n    "A"',
            'not\n    item.category = "A"',
        ],
    )
    def test_a_statement_continues_after_and_or_operators_and_brackets(self, when: str) -> None:
        """A newline after `and`, `or`, `not`, an operator or inside brackets does not end the statement."""
        text = ruleset(f'rule a "x" {{\n  when {when}\n  then item discount 5%\n}}\n')
        assert dsl.load(text, "t").rules[0].condition is not None

    def test_a_statement_continues_after_a_comma(self) -> None:
        """A coupon's terms may be split over lines after commas."""
        text = ruleset('coupon C "x" {\n  value 20.00,\n  min_spend 100.00\n}\n')
        assert dsl.load(text, "t").coupons[0].min_spend == 10000

    def test_two_statements_on_one_line_are_refused(self) -> None:
        """`when ... then ...` on one line is a syntax error that says to start `then` on a new line."""
        with pytest.raises(RuleErrors) as caught:
            _parse(ruleset('rule a "x" {\n  when day_of_month = 1 then points x2\n}\n'))
        assert caught.value.errors[0].hint == "one statement per line: start 'then' on a new line"

    def test_blank_lines_and_comment_lines_between_statements(self) -> None:
        """Blank lines and comment lines anywhere between statements are ignored."""
        text = ruleset(
            '\n\n# c\nrule a "x" {\n\n  # c\n\n  when day_of_month = 1\n\n'
            "  # c\n  then points x2\n\n}\n\n# end"
        )
        assert len(dsl.load(text, "t").rules) == 1

    def test_file_without_final_newline(self) -> None:
        """The last declaration needs no newline after it."""
        assert _kinds(HEADER + 'rule a "x" {\n  then points x2\n}') == ["header", "rule"]


class TestThreads:
    def test_parallel_parses_keep_their_own_comments(self) -> None:
        """The shared parser keeps per-parse state per thread: concurrent fmt calls do not mix comments."""
        from concurrent.futures import ThreadPoolExecutor

        texts = [RICH.replace("# a department store", f"# thread {n}") for n in range(8)]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda t: dsl.format_text(t, "t"), texts))
        assert results == [dsl.format_text(t, "t") for t in texts]
        assert all(f"# thread {n}" in result for n, result in enumerate(results))
