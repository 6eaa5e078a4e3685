"""Where a piece of a ruleset came from, and how to show it to a person."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

__all__ = ["Source", "Span"]


@dataclass(frozen=True, slots=True)
class Source:
    """A named ruleset text; spans point into it so errors can quote the line."""

    name: str
    text: str = field(repr=False)

    def line(self, number: int) -> str:
        """The 1-based source line ``number`` without its newline ('' past the end)."""
        lines = _lines(self.text)
        return lines[number - 1].rstrip("\r") if 0 < number <= len(lines) else ""


@functools.lru_cache(maxsize=8)
def _lines(text: str) -> tuple[str, ...]:
    """The text's lines split at \n only, as the parser counts them (``splitlines`` also splits at
    U+2028 and friends); cached, so a file with thousands of errors is split once, not once each."""
    return tuple(text.split("\n"))


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based line/column range in a :class:`Source`.

    Nodes carry a span with ``compare=False`` so that two rulesets that mean the
    same thing compare equal wherever they were written.
    """

    source: Source = field(repr=False)
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    @property
    def location(self) -> str:
        """``file:line:col``, the prefix of every message about this span."""
        return f"{self.source.name}:{self.line}:{self.column}"

    def excerpt(self) -> str:
        """The source line and a caret (or carets) under the fault."""
        text = self.source.line(self.line)
        if not text:
            return ""
        width = 1
        if self.end_line == self.line and self.end_column and self.end_column > self.column:
            width = self.end_column - self.column
        # Keep East Asian text aligned: a wide character takes two terminal cells.
        pad = "".join("\t" if ch == "\t" else " " * _cells(ch) for ch in text[: self.column - 1])
        carets = "^" * max(1, sum(_cells(ch) for ch in text[self.column - 1 : self.column - 1 + width]))
        return f"    {text}\n    {pad}{carets}"


def _cells(ch: str) -> int:
    import unicodedata

    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
