"""A finding of the analysis: a warning printed like a checker's error, with its kind."""

from __future__ import annotations

from engine.errors import RuleError
from engine.spans import Span

__all__ = ["KINDS", "Finding"]

KINDS = (
    "never_applies",  # contradictory conditions, an empty or past window, a tier that does not exist
    "unseen_value",  # a SKU, category, brand or tag no example or past sale has
    "shadowed",  # an earlier exclusive rule locks every line this one could touch
    "never_wins",  # a best-of group member another member always beats
    "no_examples",  # the ruleset has no worked example
    "max_discount",  # the worst-case bound exceeds the ruleset's max_discount (an error in check)
)


class Finding(RuleError):
    """``file:line:col: warning: message``, the line, a caret and a hint.

    A :class:`RuleError` so every tool prints it the same way; ``kind`` is one of :data:`KINDS`
    and ``subject`` the rule or coupon id it is about (a campaign id can join it later).
    """

    def __init__(
        self, kind: str, subject: str, message: str, span: Span | None, hint: str | None = None
    ) -> None:
        super().__init__(message, span, hint)
        self.kind = kind
        self.subject = subject

    def __str__(self) -> str:
        text = super().__str__()
        prefix = f"{self.span.location}: " if self.span else ""
        return prefix + "warning: " + text[len(prefix) :]
