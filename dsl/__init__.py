"""The ruleset language front end: text in, a checked ``engine.rules.Ruleset`` out.

``load`` (one file or a stored bundle) and ``load_files`` (a programme folder: the
programme file and its campaign files, dsl.programme) are the only ways a ruleset enters
the engine from text: parse, build, check,
and refuse the whole file (RuleErrors, every error sorted by place) if anything is
wrong, so a half-understood ruleset can never be served.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import RuleError, RuleErrors
from engine.rules import Ruleset
from engine.spans import Source, Span

__all__ = ["format_text", "load", "load_files", "load_path"]


def load(text: str, name: str) -> Ruleset:
    """Parse, build and check a ruleset; raise RuleErrors with every error found.

    ``text`` may be a programme bundle (dsl.programme.bundle_text, as the ledger stores a
    multi-file version): then ``name`` is the folder its files' errors are named under.
    """
    from dsl.programme import is_bundle, unbundle

    if is_bundle(text):
        try:
            files = unbundle(text)
        except ValueError:
            pass  # not ours after all: parse it as a file and let the parser say what is wrong
        else:
            return load_files(files, name)
    return _load_one(text, name)


def load_files(files: dict[str, str], folder: str) -> Ruleset:
    """A programme folder's files (name -> text) as one checked ruleset; errors name FOLDER/FILE."""
    from dsl.parser import parse
    from dsl.programme import PROGRAMME_FILE, bundle_text, file_source, merge_programme
    from dsl.transform import build_ruleset
    from engine.check.ruleset import check_ruleset

    if PROGRAMME_FILE not in files:
        raise RuleErrors([RuleError(f"{folder}: a programme folder needs a {PROGRAMME_FILE}", None)])
    errors: list[RuleError] = []
    built: dict[str, object] = {}
    for file_name in sorted(files):
        source = file_source(folder, file_name, files[file_name])
        try:
            parsed = parse(files[file_name], source)
        except RuleErrors as exc:
            errors.extend(exc.errors)
            continue
        value, found = build_ruleset(parsed.tree, source)
        errors.extend(found)
        is_campaign = value is not None and not isinstance(value, Ruleset)
        if file_name == PROGRAMME_FILE and is_campaign:
            errors.append(
                RuleError(
                    f"{PROGRAMME_FILE} is the programme file: it starts with a ruleset header",
                    Span(source, 1, 1),
                    'write ruleset "name" { ... }; campaigns go in their own files',
                )
            )
        elif file_name != PROGRAMME_FILE and value is not None and not is_campaign:
            errors.append(
                RuleError(
                    "a file beside programme.rules is a campaign: it starts with a campaign header",
                    Span(source, 1, 1),
                    'write campaign "id" { owner "...", label "...", status live }',
                )
            )
        elif value is not None:
            built[file_name] = value
    programme = built.pop(PROGRAMME_FILE, None)
    if programme is None:
        raise RuleErrors(_unique(errors) or [RuleError(f"{folder}: the programme could not be read", None)])
    assert isinstance(programme, Ruleset)
    ruleset, merge_errors = merge_programme(programme, list(built.items()), bundle_text(files))
    errors += merge_errors
    errors = errors + [e for e in _check(check_ruleset, ruleset) if not _repeats(e, errors)]
    if errors:
        raise RuleErrors(_unique(errors))
    return ruleset


def _load_one(text: str, name: str) -> Ruleset:
    from dsl.parser import parse
    from dsl.transform import build_ruleset
    from engine.check.ruleset import check_ruleset

    source = Source(name, text)
    parsed = parse(text, source)
    ruleset, errors = build_ruleset(parsed.tree, source)
    if ruleset is not None and not isinstance(ruleset, Ruleset):
        errors.append(
            RuleError(
                "this is a campaign file: it is checked with its programme",
                Span(source, 1, 1),
                "check the programme folder that holds it (promo check FOLDER)",
            )
        )
        ruleset = None
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
    """Load a ruleset file or a programme folder; errors name the files as the path was given."""
    from dsl.programme import read_folder

    if Path(path).is_dir():
        return load_files(read_folder(path), str(path))
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
