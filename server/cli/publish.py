"""``promo publish FOLDER --db URL``: check a programme and store it for every server at once.

What ``promo check`` does (parse, semantic checks, compile, every example, the worst case
against ``max_discount``), and stricter in one way: a programme with no worked example is refused
here, where ``check`` only warns. Then the version's text goes into the ledger's
``published_versions`` (and ``ruleset_sources``, so ``promo audit verify`` has it); servers
started with ``--rulesets-from-db`` switch to it within a poll. A programme that fails any check is
not stored: exit 1 and the errors.
"""

from __future__ import annotations

import argparse
import getpass

from server.cli.base import EXIT_FAILED, EXIT_OK, arg, command, render_errors
from server.cli.serve import DEFAULT_DB

__all__ = ["run_publish"]


@command(
    "publish",
    "check a programme folder (or ruleset file) and publish it to every server on the database",
    arg(
        "path", metavar="PATH", help="a programme folder (programme.rules + campaign files) or a *.rules file"
    ),
    arg("--db", metavar="URL", default=DEFAULT_DB, help=f"ledger database URL (default: {DEFAULT_DB})"),
    arg("--by", metavar="WHO", help="who publishes, kept with the version (default: the login name)"),
)
def run_publish(args: argparse.Namespace) -> int:
    from engine.check.run_examples import run_examples
    from engine.compiled import compile_ruleset
    from engine.errors import RuleError, RuleErrors
    from server.cli.base import load_and_check, read_ruleset
    from server.cli.ledger import _open
    from server.cli.rules import analysis_errors
    from server.rulesets.published import publish
    from server.rulesets.sources import SourceBook

    ruleset, errors = load_and_check(args.path, read_ruleset(args.path))  # what is checked is stored
    compiled = None
    if not errors:
        try:
            compiled = compile_ruleset(ruleset)
            errors = run_examples(compiled) or analysis_errors(compiled)[0]
            if not errors and not compiled.ruleset.examples:
                errors = [
                    RuleError(f"{args.path}: no worked example; publish needs at least one (check warns)")
                ]
        except RuleErrors as exc:
            errors = list(exc.errors)
        except RuleError as exc:
            errors = [exc]
    if errors or compiled is None:
        print(render_errors(errors), end="\n\n")
        print(f"{args.path}: {len(errors)} error(s); not published")
        return EXIT_FAILED
    summary = f"ok, {len(compiled.ruleset.examples)} examples passed"
    ledger = _open(args.db)
    try:
        SourceBook(ledger).remember(compiled)
        stored = publish(ledger, compiled, args.by or getpass.getuser())
    finally:
        ledger.engine.dispose()
    what = "published" if stored else "already the newest published version:"
    print(f"{args.path}: {summary}; {what} {compiled.name} {compiled.version}")
    return EXIT_OK
