"""A compiled ruleset you can run: the compiler's :class:`Program` bound to the evaluator.

:mod:`engine.compile` decides everything that does not depend on the basket and knows
nothing of how it is run; :mod:`engine.evaluate` runs a program and knows nothing of how
it was built. This module is the one place that holds both, so neither imports the other.
"""

from __future__ import annotations

from engine import rules as ir
from engine.compile.compiler import Program, ruleset_digest
from engine.evaluate import evaluate, validate_request
from engine.model import Evaluation, Request

__all__ = ["CompiledRuleset", "compile_ruleset", "ruleset_digest"]


class CompiledRuleset(Program):
    """An immutable, evaluable ruleset. ``version`` names it in every answer."""

    def evaluate(self, request: Request) -> Evaluation:
        """Validate ``request`` and price it; raises :class:`~engine.errors.InvalidRequest`."""
        return evaluate(self, request, validate_request(self.ruleset, request, self.tier_ranks))


def compile_ruleset(ruleset: ir.Ruleset) -> CompiledRuleset:
    """Compile a ruleset that passed :func:`engine.check.check_ruleset`."""
    return CompiledRuleset(ruleset)
