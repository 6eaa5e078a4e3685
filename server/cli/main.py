"""The ``promo`` command line: check, fmt, eval, invoice, serve and client.

Each subcommand lives in a ``server.cli_*`` module as one function registered with
:func:`server.cli.base.command`; this module only builds the parser and turns every
outcome into an exit code. Nobody at a terminal should see a Python traceback: an
unexpected exception prints ``internal error: ...`` and exits 70, unless
``PROMO_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from server.cli.base import COMMANDS, EXIT_FAILED, EXIT_INTERNAL, EXIT_USAGE, Failure, UsageError

__all__ = ["build_parser", "main"]

# Importing a command module registers its subcommands, in this order in --help.
COMMAND_MODULES = (
    "server.cli.rules",
    "server.cli.analyze",
    "server.cli.backtest",
    "server.cli.basket",
    "server.cli.serve",
    "server.cli.client",
    "server.cli.db",
    "server.cli.ledger",
    "server.cli.segments",
    "server.cli.report",
    "server.cli.tokens",
    "server.cli.campaign",
    "server.cli.publish",
)


def _load_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name)


def build_parser() -> argparse.ArgumentParser:
    """The parser with one subparser per registered command."""
    _load_commands()
    parser = argparse.ArgumentParser(
        prog="promo", description="Promotion and loyalty-points rulesets: check, format, try and invoice."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        for a in cmd.args:
            p.add_argument(*a.flags, **a.options)
        p.set_defaults(run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``promo`` with ``argv`` (default: the process arguments) and return the exit code."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse already printed usage or help
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        return args.run(args)
    except UsageError as exc:
        print(f"promo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Failure as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `promo eval ... | head`: the reader left, which is not our error
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if os.environ.get("PROMO_DEBUG") == "1":
            raise
        print(f"promo: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("promo: run again with PROMO_DEBUG=1 to see the traceback", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
