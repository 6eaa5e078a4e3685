"""``promo check`` and ``promo fmt``: the merchandiser's tools for ruleset files.

``check`` is what runs before a ruleset is published: parse, semantic checks, compile,
then every embedded example, with errors printed exactly as the engine renders them
(file:line:col, the line, a caret, a hint) and one summary line per file. The findings of
``promo analyze`` (engine.analysis) follow as warnings; they change the exit code only when
the ruleset declares ``max_discount`` and its worst case exceeds it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import RuleError, RuleErrors
from server.cli.base import (
    EXIT_FAILED,
    EXIT_OK,
    Failure,
    arg,
    command,
    expand_programme_paths,
    expand_rules_paths,
    load_and_check,
    read_ruleset,
    read_text,
    render_errors,
)

__all__ = ["check_file", "run_check", "run_fmt"]


@command(
    "check",
    "parse, check and compile ruleset files and run their examples",
    arg(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a programme folder (programme.rules + campaign files), a *.rules file, or a directory of them",
    ),
)
def run_check(args: argparse.Namespace) -> int:
    """Exit 0 only when every file is sound and every example passes."""
    status = EXIT_OK
    for path in expand_programme_paths(args.paths):
        errors, warnings, summary = check_file(path)
        if errors or warnings:
            print(render_errors([*errors, *warnings]), end="\n\n")
        if errors:
            status = EXIT_FAILED
        print(f"{path}: {summary}")
    return status


def check_file(path: str) -> tuple[list[RuleError], list[RuleError], str]:
    """The errors of one ruleset file or programme folder, its warnings (analysis findings) and its
    one-line summary."""
    from engine.check.run_examples import run_examples
    from engine.compiled import compile_ruleset

    try:
        text = read_ruleset(path)
    except Failure as exc:
        return [RuleError(str(exc))], [], "not readable as a ruleset"
    ruleset, errors = load_and_check(path, text)
    if errors:
        return errors, [], _count(len(errors), "error")
    try:
        compiled = compile_ruleset(ruleset)
    except RuleErrors as exc:
        return list(exc.errors), [], _count(len(exc.errors), "error")
    except RuleError as exc:
        return [exc], [], "1 error"
    total = len(compiled.ruleset.examples) + (
        len(compiled.with_drafts.ruleset.examples) if compiled.with_drafts is not compiled else 0
    )
    failures = run_examples(compiled)
    if failures:
        failed = len({_where(e) for e in failures})
        return failures, [], f"{failed} of {_count(total, 'example')} failed"
    errors, warnings = analysis_errors(compiled)
    said = "".join(f", {_count(len(w), k)}" for w, k in ((errors, "error"), (warnings, "warning")) if w)
    if total == 0:
        return errors, warnings, f"{'refused' if errors else 'ok'}, no examples{said}"
    return errors, warnings, f"{'refused' if errors else 'ok'}, {_count(total, 'example')} passed{said}"


def analysis_errors(compiled: object) -> tuple[list[RuleError], list[RuleError]]:
    """The analysis of a compiled ruleset as check reports it: (errors, warnings).

    Only a worst case above the ruleset's own ``max_discount`` is an error.
    """
    from datetime import date

    from engine.analysis import analyze, ceiling_error

    result = analyze(compiled, as_of=date.today(), with_witness=False)  # type: ignore[arg-type]
    errors: list[RuleError] = [ceiling_error(result)] if result.over_ceiling else []
    return errors, list(result.findings)


def _where(error: RuleError) -> object:
    span = error.span
    return (span.line, span.column) if span is not None else id(error)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@command(
    "fmt",
    "rewrite ruleset files in canonical form (comments are kept)",
    arg("paths", nargs="+", metavar="FILE", help="a *.rules file or a directory of them"),
    arg("--check", action="store_true", help="write nothing; exit 1 and list the files that would change"),
)
def run_fmt(args: argparse.Namespace) -> int:
    """Format in place, or with --check only report; a file that does not parse is an error."""
    import dsl

    status = EXIT_OK
    for path in expand_rules_paths(args.paths):
        try:
            text = read_text(path, "ruleset")
            formatted = dsl.format_text(text, path)
        except Failure as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_FAILED
            continue
        except RuleErrors as exc:
            print(render_errors(exc.errors), end="\n\n", file=sys.stderr)
            print(f"{path}: not formatted, it does not parse", file=sys.stderr)
            status = EXIT_FAILED
            continue
        if formatted == text:
            continue
        if args.check:
            print(f"would reformat {path}")
            status = EXIT_FAILED
        else:
            Path(path).write_text(formatted, encoding="utf-8")
            print(f"reformatted {path}")
    return status
