"""A compiled ruleset you can run: the compiler's :class:`Program` bound to the evaluator.

:mod:`engine.compile` decides everything that does not depend on the basket and knows
nothing of how it is run; :mod:`engine.evaluate` runs a program and knows nothing of how
it was built. This module is the one place that holds both, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import replace

from engine import rules as ir
from engine.compile.compiler import Program, ruleset_digest
from engine.evaluate import evaluate, validate_request
from engine.model import Evaluation, Request

__all__ = ["CompiledRuleset", "compile_ruleset", "ruleset_digest"]


class CompiledRuleset(Program):
    """An immutable, evaluable ruleset. ``version`` names it in every answer.

    A programme with draft campaigns compiles twice (:func:`compile_ruleset`): this program
    leaves the drafts out (every real sale), ``with_drafts`` applies them too (a dry run that
    asks for drafts). Both have the same version: drafts are part of the version's text.
    """

    applies_drafts = False
    _drafts: CompiledRuleset | None = None

    @property
    def with_drafts(self) -> CompiledRuleset:
        """The program that also applies draft campaigns (``self`` when there are none)."""
        return self._drafts or self

    def evaluate(self, request: Request) -> Evaluation:
        """Validate ``request`` and price it; raises :class:`~engine.errors.InvalidRequest`."""
        amounts = validate_request(self.ruleset, request, self.tier_ranks)
        usage = request.usage
        if usage is not None and usage.blocked:
            return evaluate(self.restricted(usage.blocked), request, amounts)
        return evaluate(self, request, amounts)


def compile_ruleset(ruleset: ir.Ruleset) -> CompiledRuleset:
    """Compile a ruleset that passed :func:`engine.check.check_ruleset`.

    With draft campaigns: the live program keeps the live examples, the draft program
    (``with_drafts``) keeps the drafts' examples, so each example runs where it belongs.
    """
    drafts = frozenset(c.id for c in ruleset.campaigns if c.draft)
    if not drafts:
        return CompiledRuleset(ruleset)
    live = CompiledRuleset(
        replace(
            ruleset,
            rules=tuple(r for r in ruleset.rules if r.campaign not in drafts),
            coupons=tuple(c for c in ruleset.coupons if c.campaign not in drafts),
            no_points=tuple(n for n in ruleset.no_points if n.campaign not in drafts),
            examples=tuple(e for e in ruleset.examples if e.campaign not in drafts),
        )
    )
    full = CompiledRuleset(
        replace(ruleset, examples=tuple(e for e in ruleset.examples if e.campaign in drafts))
    )
    full.applies_drafts = True
    live._drafts = full
    return live
