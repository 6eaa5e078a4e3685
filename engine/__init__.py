"""The promotion and points engine: pure, exact, and free of I/O.

``engine`` imports only the standard library. ``dsl`` turns ruleset text into
the IR in :mod:`engine.rules`; :func:`compile_ruleset` turns that into closures;
``CompiledRuleset.evaluate`` prices a :class:`~engine.model.Request`.
"""

from __future__ import annotations

from engine.compiled import CompiledRuleset, compile_ruleset
from engine.errors import EvaluationError, InvalidRequest, RuleError, RuleErrors, RuleTypeError
from engine.model import Evaluation, Line, Member, Request, TaxRate

__all__ = [
    "CompiledRuleset",
    "Evaluation",
    "EvaluationError",
    "InvalidRequest",
    "Line",
    "Member",
    "Request",
    "RuleError",
    "RuleErrors",
    "RuleTypeError",
    "TaxRate",
    "compile_ruleset",
]
