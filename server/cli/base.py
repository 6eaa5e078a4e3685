"""What every ``promo`` subcommand shares: the command registry, exit codes and file loading.

A subcommand is one decorated function (see :func:`command`), so ``promo serve`` and
``promo client`` can be added later without touching the dispatcher. Commands report
failures by raising :class:`Failure` or :class:`UsageError`; the dispatcher in
:mod:`server.cli.main` turns them into a message and an exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from engine.errors import RuleError, RuleErrors

__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "Command",
    "Failure",
    "UsageError",
    "arg",
    "command",
    "compile_path",
    "expand_programme_paths",
    "expand_rules_paths",
    "parse_day",
    "read_ruleset",
    "read_text",
    "render_errors",
]

EXIT_OK = 0
EXIT_FAILED = 1  # the input is wrong: a bad ruleset, a bad request, a failed example, an unformatted file
EXIT_USAGE = 2  # the command line is wrong: unknown option, unreadable path
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug of ours


class UsageError(Exception):
    """The command line cannot be acted on (exit 2)."""


class Failure(Exception):
    """The input was read but is wrong (exit 1); ``str`` is the whole report to print on stderr."""


@dataclass(frozen=True, slots=True)
class Arg:
    """One ``add_argument`` call, kept as data so a command is declared in one place."""

    flags: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def arg(*flags: str, **options: Any) -> Arg:
    """Declare an argument exactly as ``ArgumentParser.add_argument`` takes it."""
    return Arg(flags, options)


Runner = Callable[[argparse.Namespace], int]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    args: tuple[Arg, ...]
    run: Runner


COMMANDS: dict[str, Command] = {}
"""Every registered subcommand by name, in registration order (the order ``--help`` lists them)."""


def command(name: str, help: str, *args: Arg) -> Callable[[Runner], Runner]:
    """Register ``run(args) -> exit code`` as ``promo NAME`` with the given arguments."""

    def register(run: Runner) -> Runner:
        if name in COMMANDS:
            raise ValueError(f"promo {name} is registered twice")
        COMMANDS[name] = Command(name, help, tuple(args), run)
        return run

    return register


# --------------------------------------------------------------------------- files


def parse_day(text: str, flag: str) -> date:
    """The date a ``--from``/``--to``/``--as-of`` option names; anything else is a :class:`UsageError`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} must be a date YYYY-MM-DD (got {text!r})") from None


def read_text(path: str, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (``-`` is stdin); an unreadable path is a :class:`UsageError`."""
    if path == "-":
        return sys.stdin.read()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Failure(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def expand_rules_paths(paths: Iterable[str]) -> list[str]:
    """Files as given, directories expanded to their ``*.rules`` files (recursively, sorted).

    Every path is checked before any work starts, so a typo fails fast with exit 2.
    """
    out: list[str] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.rules") if p.is_file())
            if not found:
                problems.append(f"{raw}: no *.rules files in this directory")
            out.extend(str(p) for p in found)
        elif path.is_file():
            out.append(raw)
        else:
            problems.append(f"{raw}: no such file or directory")
    if problems:
        raise UsageError("\n".join(problems))
    return out


def expand_programme_paths(paths: Iterable[str]) -> list[str]:
    """What ``promo check`` checks: programme folders (a folder with programme.rules) as one
    unit each, and every other ``*.rules`` file on its own (recursively, sorted).

    A campaign file given on its own is checked with its programme folder instead.
    """
    from dsl.programme import is_programme_folder

    out: list[str] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if is_programme_folder(path):
            out.append(raw)
        elif path.is_dir():
            folders = sorted(p.parent for p in path.rglob("programme.rules") if p.is_file())
            files = sorted(
                p
                for p in path.rglob("*.rules")
                if p.is_file() and not any(f == p.parent or f in p.parents for f in folders)
            )
            found = sorted([*map(str, folders), *map(str, files)])
            if not found:
                problems.append(f"{raw}: no *.rules files in this directory (and no programme folder)")
            out.extend(found)
        elif path.is_file():
            out.append(str(path.parent) if is_programme_folder(path.parent) else raw)
        else:
            problems.append(f"{raw}: no such file or directory")
    if problems:
        raise UsageError("\n".join(problems))
    return list(dict.fromkeys(out))


def render_errors(errors: Iterable[RuleError]) -> str:
    """Errors exactly as ``str(RuleError)`` renders them, a blank line between two."""
    return "\n\n".join(str(e) for e in errors)


def compile_path(path: str) -> Any:
    """Load, check and compile one ruleset file; :class:`Failure` carries every rendered error."""
    from engine.compiled import compile_ruleset

    ruleset, errors = load_and_check(path, read_ruleset(path))
    if errors:
        raise Failure(render_errors(errors))
    try:
        return compile_ruleset(ruleset)
    except RuleErrors as exc:
        raise Failure(render_errors(exc.errors)) from None
    except RuleError as exc:
        raise Failure(str(exc)) from None


def read_ruleset(path: str) -> str:
    """The text of a ruleset file, or the bundle of a programme folder (dsl.programme)."""
    from dsl.programme import bundle_text, read_folder

    if Path(path).is_dir():
        try:
            return bundle_text(read_folder(path))
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"cannot read programme {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise Failure(f"{path}: a file is not UTF-8 text (offset {exc.start})") from None
    return read_text(path, "ruleset")


def load_and_check(name: str, text: str) -> tuple[Any, list[RuleError]]:
    """Parse and check a ruleset text: (ruleset, []) when it is sound, (None, errors) otherwise.

    ``dsl.load`` runs the semantic checks (engine.check.ruleset) itself and refuses the whole file.
    """
    import dsl

    try:
        return dsl.load(text, name), []
    except RuleErrors as exc:
        return None, list(exc.errors)
    except RuleError as exc:
        return None, [exc]
