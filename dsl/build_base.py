"""What every part of the tree builder shares: statements, spans, literals, options.

dsl/transform.py assembles the builder from this base and the parts in
dsl/build_rules.py and dsl/build_examples.py; each method is named after the grammar
node it builds and takes ``(meta, children)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from lark import Token

from dsl.conditions import ConditionBuilder
from dsl.literals import (
    LiteralError,
    to_date,
    to_fen,
    to_percent,
    to_qty,
    to_text,
    to_time,
    to_weekday,
    to_whole,
    to_zhe,
)
from engine import rules as ir
from engine.errors import RuleError
from engine.spans import Source, Span

__all__ = ["BuildBase", "Meta", "Stmt", "args_of", "flatten"]

# Tokens that carry a value; every other token is a keyword or punctuation.
_VALUE_TOKENS = frozenset(
    {"NAME", "DOTTED", "STRING", "DECIMAL", "PERCENT", "ZHE", "FACTOR", "DATE", "TIME", "DASH", "OP"}
    | {"ORDINAL"}
)


@dataclass(frozen=True, slots=True)
class Stmt:
    """One statement of a block, before the block puts them together."""

    kind: str
    value: Any
    span: Span


@dataclass(frozen=True, slots=True)
class Meta:
    """Where a node is: its first token to the end of its last, as Lark's propagate_positions gives."""

    line: int
    column: int
    end_line: int
    end_column: int


class BuildBase:
    """Helpers and the statements shared by rules, tables and coupons (priority, group, valid...)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.errors: list[RuleError] = []
        self.cond = ConditionBuilder(self)

    # ------------------------------------------------------------------ helpers

    def span(self, meta: Any) -> Span:
        return Span(self.source, meta.line, meta.column, meta.end_line, meta.end_column)

    def token_span(self, tok: Token) -> Span:
        return Span(self.source, tok.line, tok.column, tok.end_line, tok.end_column)

    def fail(self, message: str, span: Span | None, hint: str | None = None) -> None:
        self.errors.append(RuleError(message, span, hint))

    def literal(self, convert: Any, tok: Token, fallback: Any) -> Any:
        """Convert a token's text; on a LiteralError record it at the token and use ``fallback``."""
        try:
            return convert(tok.value)
        except LiteralError as exc:
            self.fail(exc.message, self.token_span(tok), exc.hint)
            return fallback

    def head_span(self, children: list[Any]) -> Span:
        """From a declaration's first keyword to its '{' (or its last token): the line errors point at."""
        tokens = [c for c in children if isinstance(c, Token)]
        first = tokens[0]
        last = next((t for t in tokens if t.type == "LBRACE"), tokens[-1])
        return Span(self.source, first.line, first.column, last.end_line, last.end_column)

    # ------------------------------------------------------------------ literals

    def money(self, meta: Any, ch: list[Any]) -> int:
        return self.literal(to_fen, ch[0], 0)

    def whole(self, meta: Any, ch: list[Any]) -> int:
        return self.literal(to_whole, ch[0], 0)

    def qty(self, meta: Any, ch: list[Any]) -> int:
        return self.literal(to_qty, ch[0], 1000)

    def rate(self, meta: Any, ch: list[Any]) -> Fraction:
        tok = ch[0]
        return self.literal(to_zhe if tok.type == "ZHE" else to_percent, tok, Fraction(0))

    def weekday(self, meta: Any, ch: list[Any]) -> int:
        return self.literal(to_weekday, ch[0], 0)

    def _text(self, tok: Token) -> str:
        """A NAME as written, or a STRING unquoted."""
        return to_text(tok.value) if tok.type == "STRING" else str(tok.value)

    def _declared(self, args: list[Any]) -> tuple[str, str, list[Stmt]]:
        """(id, label, statements) of a `rule`/`table`/`coupon` declaration."""
        rule_id = str(args[0].value)
        rest = args[1:]
        label = ""
        if rest and isinstance(rest[0], Token) and rest[0].type == "STRING":
            label, rest = to_text(rest[0].value), rest[1:]
        return rule_id, label, list(flatten(rest))

    def _options(self, stmts: list[Stmt], what: str) -> dict[str, Any]:
        """priority, group, exclusive and the validity window of a rule, table or coupon."""
        options: dict[str, Any] = {}
        windows: dict[str, Stmt] = {}
        for stmt in stmts:
            if stmt.kind in ("priority", "group", "exclusive"):
                if stmt.kind in options:
                    self.fail(f"'{stmt.kind}' is written twice in this {what}", stmt.span)
                options[stmt.kind] = stmt.value
            elif stmt.kind in ("dates", "weekdays", "hours"):
                if stmt.kind in windows:
                    self.fail(f"this {what} already has a `valid` line of this kind", stmt.span)
                windows.setdefault(stmt.kind, stmt)
        if windows:
            options["validity"] = self._validity(windows)
        return options

    def _validity(self, windows: dict[str, Stmt]) -> ir.Validity:
        """One Validity from the `valid` lines; its span covers them all.

        Reversed windows are reported here, on their own line; engine/check.py repeats the
        test for hand-built rulesets and dsl.load drops its copy as contained in this one.
        """
        dates, hours = windows.get("dates"), windows.get("hours")
        if dates and dates.value[1] < dates.value[0]:
            self.fail("this window ends before it starts", dates.span, "swap the dates")
        if hours and hours.value and hours.value[1] <= hours.value[0]:
            self.fail(
                "these hours are empty: the end must be after the start",
                hours.span,
                "a window across midnight is two rules, or ends at 24:00",
            )
        spans = sorted((s.span for s in windows.values()), key=lambda sp: (sp.line, sp.column))
        first, last = spans[0], spans[-1]
        return ir.Validity(
            date_from=dates.value[0] if dates else None,
            date_to=dates.value[1] if dates else None,
            weekdays=windows["weekdays"].value if "weekdays" in windows else None,
            hours=hours.value if hours else None,
            span=Span(self.source, first.line, first.column, last.end_line, last.end_column),
        )

    def priority(self, meta: Any, ch: list[Any]) -> Stmt:
        args = args_of(ch)
        value = -args[-1] if len(args) == 2 else args[-1]
        return Stmt("priority", value, self.span(meta))

    def group(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("group", self._text(args_of(ch)[0]), self.span(meta))

    def exclusive(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("exclusive", True, self.span(meta))

    def valid_dates(self, meta: Any, ch: list[Any]) -> Stmt:
        start, end = (self.literal(to_date, t, date(2000, 1, 1)) for t in args_of(ch))
        return Stmt("dates", (start, end), self.span(meta))

    def valid_days(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("weekdays", frozenset(args_of(ch)), self.span(meta))

    def valid_hours(self, meta: Any, ch: list[Any]) -> Stmt:
        start, end = (self.literal(to_time, t, None) for t in args_of(ch))
        return Stmt("hours", (start, end) if start and end else None, self.span(meta))


def args_of(children: list[Any]) -> list[Any]:
    """Children that carry meaning: built values and value tokens (no keywords, no None placeholders)."""
    return [
        c for c in children if c is not None and not (isinstance(c, Token) and c.type not in _VALUE_TOKENS)
    ]


def flatten(items: list[Any]) -> list[Stmt]:
    """Statements, with comma-separated statement lists (`value 20.00, min_spend 100.00`) opened up."""
    out: list[Stmt] = []
    for item in items:
        if isinstance(item, list):
            out.extend(item)
        elif isinstance(item, Stmt):
            out.append(item)
    return out
