"""Ruleset text -> Lark parse tree, with line-aware lexing and readable syntax errors.

Three jobs, all about driving Lark so nothing else has to:

* build the LALR parser once per process (lazily; it takes tens of milliseconds);
* decide which newlines end a statement (:class:`_StatementLines`), so the grammar can
  say "one statement per line" while a long condition may still wrap after `and`;
* turn Lark's exceptions into :class:`~dsl.errors.DslSyntaxError` sentences, and keep
  going after the first one, one top-level declaration at a time, so a file with three
  typos reports three errors.

Comments are not in the tree; they are collected through a lexer callback for the
formatter. The per-parse state lives in a thread-local because the Lark instance is
shared by every thread of the server.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from dsl.errors import DslSyntaxError, expected_phrase, found_phrase, syntax_message
from engine.errors import RuleErrors
from engine.spans import Source, Span

__all__ = ["Parsed", "keyword_texts", "parse"]

_GRAMMAR = Path(__file__).with_name("grammar.lark")
_lock = threading.Lock()
_lark: Lark | None = None
_keywords: dict[str, str] = {}
_local = threading.local()

# A newline right after one of these cannot end a statement: the statement goes on.
_CONTINUES = frozenset({"COMMA", "AND", "OR", "NOT", "LBRACE", "ARROW", "IN", "HAS", "IS", "OP"})
_OPENS = frozenset({"LPAR", "LSQB"})
_CLOSES = frozenset({"RPAR", "RSQB"})

# Characters Chinese input methods type in place of ASCII punctuation.
_FULL_WIDTH = {
    "，": ",", "：": ":", "（": "(", "）": ")", "“": '"', "”": '"', "【": "[", "】": "]",
    "［": "[", "］": "]", "｛": "{", "｝": "}", "－": "-", "＝": "=", "％": "%", "＞": ">",
    "＜": "<", "；": ";", "。": ".", "．": ".", "！": "!", "＃": "#",
}  # fmt: skip

# A line that starts a top-level declaration (used to resynchronise after an error).
_DECLARATION_TYPES = frozenset(
    {"RULESET", "CAMPAIGN", "TIER", "RULE", "TABLE", "NO_POINTS", "COUPON", "EXAMPLE"}
)
_TOP_LINE = re.compile(r"(ruleset|campaign|tier|rule|table|no_points|coupon|example)\b")


@dataclass(slots=True)
class _Context:
    """What one parse has seen: comments (for the formatter), the last two tokens (for errors)."""

    comments: list[Token] = field(default_factory=list)
    previous: Token | None = None
    current: Token | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    tree: Tree
    comments: tuple[Token, ...]


class _StatementLines:
    """Post-lexer: keep only the newlines that end a statement.

    Dropped: newlines inside ( ) and [ ], after a token that cannot end a statement,
    repeats (blank and comment lines), and those before the first token. One newline
    is added at the end so the last declaration is terminated like the others.
    It looks only backwards: the contextual lexer picks the next token's vocabulary
    from the parser state, so a newline must be decided before the next token is read.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        ctx: _Context = _local.ctx
        depth = 0
        last: Token | None = None
        for tok in stream:
            kind = tok.type
            if kind == "_NL":
                if depth or last is None or last.type == "_NL" or last.type in _CONTINUES:
                    continue
            else:
                if kind in _OPENS:
                    depth += 1
                elif kind in _CLOSES and depth:
                    depth -= 1
                ctx.previous, ctx.current = ctx.current, tok
            last = tok
            yield tok
        if last is not None and last.type != "_NL":
            yield Token(
                "_NL",
                "",
                last.end_pos,
                last.end_line,
                last.end_column,
                last.end_line,
                last.end_column,
                last.end_pos,
            )


def _collect_comment(tok: Token) -> Token:
    _local.ctx.comments.append(tok)
    return tok


def _parser() -> Lark:
    """The shared LALR parser, built on first use."""
    global _lark
    if _lark is None:
        with _lock:
            if _lark is None:
                lark = Lark(
                    _GRAMMAR.read_text(encoding="utf-8"),
                    parser="lalr",
                    lexer="contextual",
                    # Spans come from the tokens (dsl/transform.py computes node extents while
                    # building): Lark's propagate_positions costs a third of the parse.
                    propagate_positions=False,
                    keep_all_tokens=True,  # the formatter re-prints every keyword; the transformer skips them
                    maybe_placeholders=True,
                    postlex=_StatementLines(),
                    lexer_callbacks={"COMMENT": _collect_comment},
                )
                _keywords.update(
                    {t.name: t.pattern.value for t in lark.terminals if isinstance(t.pattern, PatternStr)}
                )
                _lark = lark
    return _lark


def keyword_texts() -> dict[str, str]:
    """Keyword terminal name -> its text ('VALUE' -> 'value')."""
    _parser()
    return _keywords


def parse(text: str, source: Source) -> Parsed:
    """Parse ``text``; raise RuleErrors with every syntax error found (at most one per declaration)."""
    text = text.removeprefix("\ufeff")
    try:
        return _parse_once(text, source)
    except UnexpectedInput as exc:
        first = _to_error(exc, source, _local.ctx)
    line = first.span.line if first.span else 0
    # An unclosed block is reported at the next declaration (column 1): parse that one again.
    resume = line if first.span and first.span.column == 1 else line + 1
    errors = [first, *_later_errors(text, source, resume)]
    raise RuleErrors(errors)


def _parse_once(text: str, source: Source) -> Parsed:
    ctx = _local.ctx = _Context()
    tree = _parser().parse(text)
    return Parsed(tree, tuple(ctx.comments))


def _later_errors(text: str, source: Source, from_line: int) -> list[DslSyntaxError]:
    """Parse each declaration that starts at or after ``from_line`` on its own; one error per bad one."""
    errors: list[DslSyntaxError] = []
    lines = text.split("\n")
    starts = [n for n in _declaration_lines(lines) if n >= from_line]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(lines) + 1
        chunk = "\n" * (start - 1) + "\n".join(lines[start - 1 : end - 1])
        try:
            _parse_once(chunk, source)
        except UnexpectedInput as exc:
            if end <= len(lines) and _is_end(exc):
                # The declaration ran into the next one (an unclosed brace): say so there.
                nxt = lines[end - 1].split()[0]
                span = Span(source, end, 1, end, len(nxt) + 1)
                ctx = _local.ctx
                errors.append(_message(exc, span, "NAME", nxt, ctx, f"'{nxt}'"))
            else:
                errors.append(_to_error(exc, source, _local.ctx))
    return errors


def _declaration_lines(lines: list[str]) -> list[int]:
    """1-based numbers of lines that begin a declaration at the left margin, outside braces."""
    found, depth = [], 0
    for number, line in enumerate(lines, 1):
        match = _TOP_LINE.match(line)
        if match and (depth == 0 or match.group(1) != "coupon"):
            found.append(number)
            depth = 0
        code = re.sub(r'"([^"\\\n]|\\.)*"|#.*', "", line)
        depth = max(0, depth + code.count("{") - code.count("}"))
    return found


def _is_end(exc: UnexpectedInput) -> bool:
    return isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END")


def _to_error(exc: UnexpectedInput, source: Source, ctx: _Context) -> DslSyntaxError:
    """Lark's exception -> one sentence with a place, never Lark's own text."""
    if isinstance(exc, UnexpectedCharacters):
        span = Span(source, exc.line, exc.column, exc.line, exc.column + 1)
        char = exc.char
        if char == '"':
            return DslSyntaxError(
                "this text has no closing '\"' on its line",
                span,
                'texts are written on one line, like "食品"',
            )
        if char in _FULL_WIDTH:
            return DslSyntaxError(
                f"'{char}' is a full-width character", span, f"write '{_FULL_WIDTH[char]}' instead"
            )
        return _message(exc, span, "", char, ctx, f"'{char}'", expected=exc.allowed or ())
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        line = tok.line if isinstance(tok.line, int) else 1
        column = tok.column if isinstance(tok.column, int) else 1
        end = tok.end_column if tok.end_line == line and tok.end_column else column + 1
        span = Span(source, line, column, line, max(end, column + 1))
        return _message(exc, span, tok.type, str(tok.value), ctx, found_phrase(tok.type, str(tok.value)))
    # UnexpectedEOF: the LALR parser reports the end as a $END token, but be safe.
    last = source.text.rstrip().split("\n")  # \n only, as lark counts lines
    span = Span(source, len(last), len(last[-1]) + 1)
    return _message(exc, span, "$END", "", ctx, "the end of the file", expected=getattr(exc, "expected", ()))


def _message(
    exc: UnexpectedInput,
    span: Span,
    found_type: str,
    found_value: str,
    ctx: _Context,
    found: str,
    expected: object = None,
) -> DslSyntaxError:
    wanted = _acceptable(exc)
    if wanted is None:
        wanted = set(expected if expected is not None else getattr(exc, "expected", ()) or ())
    prev = _token_before(exc, ctx)
    keywords = keyword_texts()
    if span.column == 1 and found_type in _DECLARATION_TYPES and "RBRACE" in wanted:
        return DslSyntaxError(
            "the block above is not closed: expected '}' before this declaration",
            span,
            "end every block with '}' on its own line",
        )
    if found_type == "$END" and "RBRACE" in wanted:
        return DslSyntaxError(
            "the file ends inside a block: expected '}'", span, "end every block with '}' on its own line"
        )
    starts_line = prev is not None and prev.end_line is not None and prev.end_line < span.line
    if starts_line:
        wanted.discard("_NL")  # blank lines never matter at the start of a line
    after = None if prev is None or starts_line else str(prev.value)
    phrase = expected_phrase(wanted, keywords, _rules_for(exc, wanted), after)
    candidates = [keywords[name] for name in wanted if name in keywords]
    error = syntax_message(phrase, after, found, found_value, candidates, span)
    if starts_line:
        error.message = error.message.replace(" at the start of the file", " at the start of this line")
    if error.hint is None and found_type in keywords and "_NL" in wanted:
        if "COMMA" in wanted:
            error.hint = f"put a ',' before '{found_value}', or start it on a new line"
        else:
            error.hint = f"one statement per line: start '{found_value}' on a new line"
    if error.hint is None:
        error.hint = _hint_for(found_type, found_value, after, wanted)
    if error.hint is None and wanted == {"EACH"}:
        error.hint = "a rate is written 9.5折 or 5%; an amount off each unit is written 3.00 each"
    return error


# Habits from other languages, and what to write here instead.
_HABITS = {
    "&": "write 'and'",
    "&&": "write 'and'",
    "|": "write 'or'",
    "||": "write 'or'",
    "!": "write 'not', or != to compare",
}


def _hint_for(found_type: str, found_value: str, after: str | None, wanted: set[str]) -> str | None:
    if found_value in _HABITS:
        return _HABITS[found_value]
    if found_value == "=" and after == "=":
        return "compare with a single '='"
    if found_type == "DECIMAL" and wanted == {"FACTOR"}:
        return f"a factor is written with an x: x{found_value}"
    if found_type == "NAME" and "STRING" in wanted and "NAME" not in wanted:
        return f'texts are written in double quotes: "{found_value}"'
    return None


def _acceptable(exc: UnexpectedInput) -> set[str] | None:
    """The terminals the parser would truly accept here (LALR's own list is a merged superset).

    Tries each candidate on a throw-away copy of the parser state, like Lark's
    InteractiveParser.accepts(); None when the state is unavailable.
    """
    state = getattr(exc, "state", None)
    try:
        choices = state.parse_conf.parse_table.states[state.position]  # type: ignore[union-attr]
        quiet = copy(state.parse_conf)  # type: ignore[union-attr]
        quiet.callbacks = {}
    except (AttributeError, KeyError, TypeError):
        return None
    accepted = set()
    for name in choices:
        if not name.isupper() and name != "$END":
            continue
        trial = state.copy(deepcopy_values=False)  # type: ignore[union-attr]
        trial.parse_conf = quiet
        try:
            trial.feed_token(Token(name, ""), name == "$END")
        except UnexpectedInput:
            continue
        accepted.add(name)
    return accepted


def _token_before(exc: UnexpectedInput, ctx: _Context) -> Token | None:
    """The last good token before the fault (our own record: Lark's varies by error kind)."""
    tok = getattr(exc, "token", None)
    current = ctx.current
    if (
        tok is not None
        and current is not None
        and tok.type == current.type
        and tok.start_pos == current.start_pos
    ):
        return ctx.previous
    return current


def _rules_for(exc: UnexpectedInput, wanted: set[str]) -> dict[str, str]:
    """Which grammar rule a DECIMAL or NAME would have become here (money? a count? a weekday?).

    Read from the LALR table: shift the terminal, and the state reached reduces it to
    exactly one rule. Best effort: any surprise just means a plainer word.
    """
    found: dict[str, str] = {}
    state = getattr(exc, "state", None)
    try:
        states = state.parse_conf.parse_table.states  # type: ignore[union-attr]
        here = states[state.position]  # type: ignore[union-attr]
        for terminal in {"DECIMAL", "NAME"} & wanted:
            action, target = here[terminal]
            if action.name != "Shift":
                continue
            for act, rule in states[target].values():
                if act.name == "Reduce":
                    found[terminal] = rule.alias or rule.origin.name
                    break
    except (AttributeError, KeyError, TypeError):
        pass
    return found
