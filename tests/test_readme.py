"""The README works as written: its tour ruleset checks clean and its commands name real files."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import dsl
from engine.check.run_examples import run_examples
from engine.compiled import compile_ruleset
from server.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


class TestReadme:
    def test_the_tour_ruleset_checks_and_its_example_passes(self) -> None:
        """The language tour is a whole ruleset whose worked example holds."""
        (block,) = re.findall(r"```\n(ruleset .*?)```", README, re.S)
        compiled = compile_ruleset(dsl.load(block, "README.md"))
        assert compiled.ruleset.examples
        assert run_examples(compiled) == []

    def test_every_promo_command_parses_and_names_existing_files(self) -> None:
        """Each `promo ...` line in a shell block is a valid command line whose file arguments exist."""
        commands = [
            line.split("#")[0].strip()
            for block in re.findall(r"```sh\n(.*?)```", README, re.S)
            for line in block.splitlines()
        ]
        promo = [c[c.index("promo ") :] for c in commands if "promo " in c]
        assert len(promo) >= 5
        parser = build_parser()
        for command in promo:
            argv = shlex.split(command)[1:]
            parser.parse_args(argv)  # exits (fails the test) on a bad command line
            for arg in argv:
                if "/" in arg and "://" not in arg:  # a path, not a database URL
                    assert (ROOT / arg).exists(), f"{command}: {arg} does not exist"
