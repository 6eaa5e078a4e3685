"""One error hierarchy for the whole engine, rendered like a compiler's.

Every error is a sentence, a place and (when we can guess it) a hint::

    food.rules:3:17: unknown tier 'glod'
        when member.tier >= glod
                            ^^^^
    hint: did you mean 'gold'?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from engine.spans import Span

__all__ = [
    "EvaluationError",
    "InvalidRequest",
    "RuleError",
    "RuleErrors",
    "RuleTypeError",
    "did_you_mean",
]


class RuleError(Exception):
    """A fault in a ruleset, with where it is and what to write instead."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def __str__(self) -> str:
        head = f"{self.span.location}: {self.message}" if self.span else self.message
        parts = [head]
        if self.span is not None:
            excerpt = self.span.excerpt()
            if excerpt:
                parts.append(excerpt)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)

    def sort_key(self) -> tuple[str, int, int]:
        """Order errors by file, line and column for a stable report."""
        if self.span is None:
            return ("", 0, 0)
        return (self.span.source.name, self.span.line, self.span.column)


class RuleTypeError(RuleError):
    """A ruleset that parses but does not make sense (money compared with text, unknown tier...)."""


class RuleErrors(Exception):
    """All the errors found in one ruleset, reported together; nothing was compiled."""

    def __init__(self, errors: Iterable[RuleError]) -> None:
        self.errors: list[RuleError] = sorted(errors, key=RuleError.sort_key)
        super().__init__(f"{len(self.errors)} error(s)")

    def __str__(self) -> str:
        return "\n\n".join(str(e) for e in self.errors)


class InvalidRequest(ValueError):
    """A basket or request the engine refuses; ``field`` is the path of the bad field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EvaluationError(RuleError):
    """A rule failed while evaluating a valid request; a bug, reported with the rule's span."""


def did_you_mean(word: str, candidates: Sequence[str] | Iterable[str]) -> str | None:
    """A "did you mean 'x'?" hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
