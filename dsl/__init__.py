"""The ruleset language front end: text in, a checked ``engine.rules.Ruleset`` out.

``load`` is the only way a ruleset enters the engine from text: parse, build, check,
and refuse the whole file (RuleErrors, every error sorted by place) if anything is
wrong, so a half-understood ruleset can never be served.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import RuleError, RuleErrors
from engine.rules import Ruleset
from engine.spans import Source

__all__ = ["format_text", "load", "load_path"]


def load(text: str, name: str) -> Ruleset:
    """Parse, build and check a ruleset; raise RuleErrors with every error found."""
    from dsl.parser import parse
    from dsl.transform import build_ruleset
    from engine.check.ruleset import check_ruleset

    source = Source(name, text)
    parsed = parse(text, source)
    ruleset, errors = build_ruleset(parsed.tree, source)
    if ruleset is not None:
        # A bad literal was replaced by a stand-in; the checker's complaint about that stand-in
        # (a 0.00 discount...) would only repeat it, so drop check errors around a build error.
        errors = errors + [e for e in _check(check_ruleset, ruleset) if not _repeats(e, errors)]
    if errors or ruleset is None:
        raise RuleErrors(_unique(errors) or [RuleError("this ruleset could not be read", None)])
    return ruleset


def _check(check_ruleset, ruleset: Ruleset) -> list[RuleError]:  # type: ignore[no-untyped-def]
    """The checker runs on a ruleset built from a file with earlier errors too: never let it crash."""
    try:
        return check_ruleset(ruleset)
    except Exception as exc:  # a checker bug must still come out as a RuleError
        return [RuleError(f"internal error while checking this ruleset: {exc!r}", ruleset.span)]


def _repeats(error: RuleError, earlier: list[RuleError]) -> bool:
    """``error``'s span contains the span of one of ``earlier``."""
    outer = error.span
    if outer is None:
        return False
    end = (outer.end_line or outer.line, outer.end_column or outer.column)
    for other in earlier:
        inner = other.span
        if inner is None:
            continue
        if (outer.line, outer.column) <= (inner.line, inner.column) and (
            inner.end_line or inner.line,
            inner.end_column or inner.column,
        ) <= end:
            return True
    return False


def _unique(errors: list[RuleError]) -> list[RuleError]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for error in errors:
        key = (error.sort_key(), error.message)
        if key not in seen:
            seen.add(key)
            out.append(error)
    return out


def load_path(path: str | Path) -> Ruleset:
    """Load a ruleset file; errors name the file as the path was given."""
    text = Path(path).read_text(encoding="utf-8")
    return load(text, str(path))


def format_text(text: str, name: str) -> str:
    """The canonical layout of a ruleset (``promo fmt``), keeping every comment.

    Raises RuleErrors on syntax errors only: formatting does not need a sound ruleset.
    """
    from dsl.format import format_parsed
    from dsl.parser import parse

    source = Source(name, text)
    return format_parsed(parse(text, source), source)
