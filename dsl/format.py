"""The canonical layout of a ruleset file (``promo fmt``).

Printed from the parse tree, token by token, so every word stays as the
merchandiser wrote it (9.5折 stays 9.5折, 周六 stays 周六) while the layout is
normalised: two-space indentation, one statement per line, single spaces, money
with two decimals, table columns aligned. Comments are not in the tree: the
parser collects them, and each is re-attached to the statement on its line
(trailing) or the statement after it (leading), because merchandisers keep their
hand arithmetic there. At most one blank line is kept where the author had one;
block declarations are always separated by one.

Properties (tests/dsl/test_format.py): idempotent, the result loads to an equal
Ruleset, every comment survives.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

from lark import Token, Tree

from dsl.literals import LiteralError, to_fen
from dsl.parser import Parsed
from engine.money import format_fen
from engine.rules import FIELD_TYPES
from engine.spans import Source

__all__ = ["format_parsed"]

_INDENT = "  "
_NO_SPACE_AFTER = frozenset({"LPAR", "LSQB"})
_NO_SPACE_BEFORE = frozenset({"RPAR", "RSQB", "COMMA"})
_AGGREGATES = frozenset({"SUBTOTAL", "COUNT", "QUANTITY", "GROSS"})


@dataclass(slots=True)
class _Line:
    """One output line of code, with the source lines it came from (for comments)."""

    indent: int
    text: str
    first: int
    last: int
    kind: str  # "open" (ends with '{'), "close" ('}'), "stmt", "decl" (a one-line declaration)
    top: bool = False  # the first line of a top-level declaration
    block: bool = False  # ... of a declaration with a { } block
    pad: int = 0  # table rows: pad to this width before a trailing comment
    leading: list[tuple[int, str]] = field(default_factory=list)  # (source line, comment)
    trailing: list[str] = field(default_factory=list)


def format_parsed(parsed: Parsed, source: Source) -> str:
    """Lay out a parsed ruleset; ``source`` gives the blank lines and comment positions."""
    lines = list(_declarations(parsed.tree))
    tail = _attach_comments(lines, parsed.comments, source)
    return _render(lines, tail, source)


# ---------------------------------------------------------------------------- code lines


def _declarations(tree: Tree) -> Iterator[_Line]:
    decls = [c for c in tree.children if isinstance(c, Tree)]  # (tokens here are statement-ending newlines)
    tier_widths = _tier_widths(decls)
    for decl in decls:
        brace = next((c for c in decl.children if isinstance(c, Token) and c.type == "LBRACE"), None)
        if decl.data == "tier":
            yield _Line(0, _tier(decl, tier_widths[id(decl)]), *_extent(decl), "decl", top=True)
            continue
        if brace is None:
            yield _Line(0, _join(_leaves(decl)), *_extent(decl), "decl", top=True)
            continue
        at = decl.children.index(brace)
        head = [t for c in decl.children[:at] if c is not None for t in _leaves(c)]
        yield _Line(0, _join(head) + " {", _extent(decl)[0], brace.line, "open", top=True, block=True)
        statements = [c for c in decl.children[at + 1 :] if isinstance(c, Tree)]
        if decl.data == "table":
            yield from _table(statements)
        else:
            for stmt in statements:
                yield _Line(1, _join(_leaves(stmt), 1), *_extent(stmt), "stmt")
        close = decl.children[-1]
        yield _Line(0, "}", close.line, close.line, "close")


def _tier_parts(decl: Tree) -> list[str]:
    """A tier line in columns: `tier`, id, label, `points xN`, upgrade."""
    parts = ["tier", "", "", "", ""]
    for child in decl.children:
        if isinstance(child, Tree):
            parts[4] = _join(_leaves(child))
        elif child is not None and child.type in ("NAME", "STRING", "FACTOR"):
            parts[{"NAME": 1, "STRING": 2, "FACTOR": 3}[child.type]] = str(child.value)
    if parts[3]:
        parts[3] = "points " + parts[3]
    return parts


def _tier_widths(decls: list[Tree]) -> dict[int, list[int]]:
    """Column widths shared by each run of consecutive tier declarations (the tiers read as a table)."""
    widths: dict[int, list[int]] = {}
    run: list[Tree] = []
    for decl in [*decls, None]:
        if decl is not None and decl.data == "tier":
            run.append(decl)
            continue
        rows = [_tier_parts(t) for t in run]
        shared = [max((_width(r[i]) for r in rows), default=0) for i in range(5)]
        widths.update({id(t): shared for t in run})
        run = []
    return widths


def _tier(decl: Tree, widths: list[int]) -> str:
    parts = _tier_parts(decl)
    cells = [_ljust(part, widths[i]) for i, part in enumerate(parts[:4]) if widths[i]]
    return (" ".join(cells) + "  " + parts[4]).rstrip()


def _extent(tree: Tree) -> tuple[int, int]:
    """First and last source line of a node's tokens."""
    lines = [tok.line for tok, _ in _leaves(tree)]
    return lines[0], max(lines)


def _table(statements: list[Tree]) -> Iterator[_Line]:
    """Table statements; the `columns` line and the rows are aligned as a grid."""
    grid = [s for s in statements if s.data in ("columns", "row")]
    cells = {id(s): [_leaf_text(t) for t in _leaves(s)] for s in grid}
    widths: list[int] = []
    for row in cells.values():
        for i, cell in enumerate(row):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], _width(cell))
    full = sum(widths) + 2 * (len(widths) - 1)
    for stmt in statements:
        if id(stmt) in cells:
            row = cells[id(stmt)]
            text = "  ".join(_ljust(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
            yield _Line(1, text, *_extent(stmt), "stmt", pad=full)
        else:
            yield _Line(1, _join(_leaves(stmt), 1), *_extent(stmt), "stmt")


def _leaves(node: Tree | Token, money: bool = False) -> Iterator[tuple[Token, bool]]:
    """Tokens in order, each with "this number is money" (from the grammar, or the other side)."""
    if isinstance(node, Token):
        if node.type != "_NL":
            yield node, money
        return
    sides_money = node.data in ("compare", "is_in", "not_in") and any(_money_side(c) for c in node.children)
    for child in node.children:
        if child is None:
            continue
        child_money = (
            node.data == "money"
            or (money and node.data in ("list", "number"))
            or (sides_money and isinstance(child, Tree) and child.data in ("number", "list"))
        )
        yield from _leaves(child, child_money)


def _money_side(node: object) -> bool:
    """A subtotal(...) or a money field: the number on the other side is money."""
    if not isinstance(node, Tree):
        return False
    if node.data == "aggregate":
        return node.children[0].type == "SUBTOTAL"
    if node.data == "gross":
        return True
    if node.data == "field":
        name = "".join(str(t) for t in node.children if isinstance(t, Token))
        return FIELD_TYPES.get(name) == "money"
    return False


def _leaf_text(leaf: tuple[Token, bool]) -> str:
    tok, money = leaf
    if money and tok.type == "DECIMAL":
        try:
            return format_fen(to_fen(tok.value))
        except LiteralError:
            return str(tok.value)  # wrong, but fmt is no checker: keep it for `promo check` to report
    return str(tok.value)


def _join(leaves: Iterator[tuple[Token, bool]] | list[tuple[Token, bool]], indent: int = 0) -> str:
    """Tokens with single spaces; where the author continued the statement on a new line, so do we."""
    out: list[str] = []
    prev: Token | None = None
    for leaf in leaves:
        tok = leaf[0]
        if prev is not None:
            if tok.line > (prev.end_line or prev.line):
                out.append("\n" + _INDENT * (indent + 1))
            elif not _tight(prev, tok):
                out.append(" ")
        out.append(_leaf_text(leaf))
        prev = tok
    return "".join(out)


def _tight(prev: Token, tok: Token) -> bool:
    """No space between these two tokens: `(x`, `x)`, `a,`, `subtotal(`, `-5`."""
    return (
        prev.type in _NO_SPACE_AFTER
        or tok.type in _NO_SPACE_BEFORE
        or (tok.type == "LPAR" and prev.type in _AGGREGATES)
        or (prev.type == "DASH" and tok.type == "DECIMAL")
    )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


# ---------------------------------------------------------------------------- comments


def _attach_comments(
    lines: list[_Line], comments: tuple[Token, ...], source: Source
) -> list[tuple[int, str]]:
    """Give each comment to a code line; return the ones after the last line."""
    covering: dict[int, list[_Line]] = {}
    for line in lines:
        for number in range(line.first, line.last + 1):
            covering.setdefault(number, []).append(line)
    starts = [line.first for line in lines]  # in order: lines come out in source order
    tail: list[tuple[int, str]] = []
    for comment in comments:
        number, text = comment.line, str(comment.value).rstrip()
        own_line = not source.line(number)[: comment.column - 1].strip()
        holders = covering.get(number, [])
        if holders and not own_line:
            ends_here = [ln for ln in holders if ln.last == number]
            if ends_here:
                ends_here[-1].trailing.append(text)
                continue
        # A comment inside a statement that spans lines goes above it (the statement becomes one line).
        if holders:
            target: _Line | None = holders[0]
        else:
            at = bisect_right(starts, number)
            target = lines[at] if at < len(lines) else None
        (tail if target is None else target.leading).append((number, text))
    return tail


# ---------------------------------------------------------------------------- output


class _Writer:
    """Collects output lines; keeps one blank line where the source had one (never after '{')."""

    def __init__(self, source: Source) -> None:
        self.source_lines = source.text.split(
            "\n"
        )  # lark counts lines by \n only; splitlines() also splits U+2028
        self.out: list[str] = []
        self.after_open = False

    def blank(self) -> None:
        if self.out and self.out[-1] and not self.after_open:
            self.out.append("")

    def write(self, text: str, source_line: int | None, *, opens: bool = False) -> None:
        if source_line is not None and _blank(self.source_lines, source_line - 1):
            self.blank()
        self.out.extend(part.rstrip() for part in text.split("\n"))
        self.after_open = opens


def _render(lines: list[_Line], tail: list[tuple[int, str]], source: Source) -> str:
    writer = _Writer(source)
    last_top_block = False
    for line in lines:
        if line.top:
            if line.block or last_top_block:
                writer.blank()
            last_top_block = line.block
        inner = _INDENT * (line.indent + (1 if line.kind == "close" else 0))
        for number, comment in line.leading:
            writer.write(inner + comment, number)
        text = _INDENT * line.indent + line.text
        if line.trailing:
            if line.pad:
                text = _INDENT * line.indent + _ljust(line.text, line.pad)
            text += "  " + " ".join(line.trailing)
        code_line = None if line.kind == "close" else line.first
        writer.write(text, code_line, opens=line.kind == "open")
    if tail:
        writer.blank()
        for _number, comment in tail:
            writer.out.append(comment)
    return "\n".join(writer.out) + "\n"


def _blank(lines: list[str], number: int) -> bool:
    """Source line ``number`` exists and is empty (or only spaces)."""
    return 1 <= number <= len(lines) and not lines[number - 1].strip()
