"""Static analysis of a ruleset before it goes live (``promo analyze``, warnings in ``promo check``).

Pure: a ruleset (and, when known, the item values past sales carried) in, findings out.
:mod:`~engine.analysis.logic` decides conditions, :mod:`~engine.analysis.reach` finds rules
and coupons that can never act, :mod:`~engine.analysis.worst` bounds the worst case and finds
a witness basket. Findings are keyed by rule or coupon id; when a ruleset becomes a programme
with campaign files, a finding's subject gains its campaign and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from engine.analysis.findings import KINDS, Finding
from engine.analysis.reach import Known, reach_findings
from engine.analysis.witness import build_witness
from engine.analysis.worst import Bound, Witness, bound, example_block, percent
from engine.compiled import CompiledRuleset
from engine.errors import RuleError
from engine.spans import Span

__all__ = [
    "KINDS",
    "Analysis",
    "Bound",
    "Finding",
    "Witness",
    "analyze",
    "ceiling_error",
    "ceiling_refusal",
    "describe_bound",
    "example_block",
    "reach_text",
]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything ``promo analyze`` prints about one ruleset."""

    findings: tuple[Finding, ...]
    bound: Bound
    witness: Witness | None
    ceiling: Fraction | None  # the ruleset's max_discount
    ceiling_span: Span | None

    @property
    def reached(self) -> bool:
        """The witness, priced by the engine, loses exactly the bound (exact rationals)."""
        return self.witness is not None and self.witness.share == self.bound.share

    @property
    def over_ceiling(self) -> bool:
        """The bound exceeds the ruleset's own ``max_discount``."""
        return self.ceiling is not None and self.bound.share > self.ceiling


def analyze(
    compiled: CompiledRuleset,
    as_of: date | None = None,
    seen: dict[str, Iterable[str]] | None = None,
    *,
    with_witness: bool = True,
) -> Analysis:
    """Findings, worst-case bound and witness of a compiled ruleset.

    ``as_of`` is today for "window in the past"; ``seen`` adds item values past sales carried
    (``item.sku`` -> SKUs...) to those the examples show. ``with_witness=False`` skips building
    and pricing the witness basket, for callers that only need the bound and the findings.
    """
    ruleset = compiled.ruleset
    findings = reach_findings(ruleset, as_of, Known.of(ruleset, seen))
    if not ruleset.examples:
        findings.append(
            Finding(
                "no_examples",
                ruleset.name,
                f"ruleset {ruleset.name!r} has no examples: nothing shows what it does to a basket",
                ruleset.span,
                "add an `example` block with a basket and the answer worked out by hand",
            )
        )
    dead = {f.subject for f in findings if f.kind in ("never_applies", "shadowed")}
    worst = bound(ruleset, dead)
    return Analysis(
        tuple(sorted(findings, key=Finding.sort_key)),
        worst,
        build_witness(compiled, worst) if with_witness else None,
        ruleset.settings.max_discount,
        ruleset.settings.max_discount_span or ruleset.settings.span,
    )


def describe_bound(b: Bound) -> str:
    """``clearance 40.00% -> coupon:HY20 10.00% -> points 50.00%``: what compounds into the bound."""
    return " -> ".join(f"{source} {percent(share)}" for source, share in b.steps if share) or "no discount"


def reach_text(result: Analysis) -> str:
    """Whether the witness reaches the bound, said so that it can never be misread."""
    w = result.witness
    if w is None:
        return "no witness: no basket could be built or priced"
    if result.reached:
        return f"witness reaches the bound: line {w.line} loses {percent(w.share)} ({w.share} exactly)"
    return (
        f"bound not reached by witness: bound {percent(result.bound.share)}, witness {percent(w.share)} "
        f"(line {w.line}, {w.share} exactly); the worst case lies between them"
    )


def ceiling_refusal(compiled: CompiledRuleset, as_of: date | None = None) -> RuleError | None:
    """Why a ruleset whose worst case exceeds its ``max_discount`` must not serve, or None.

    What ``promo check`` and ``promo publish`` refuse, without pricing a witness: the registry
    calls it on every reload.
    """
    if compiled.ruleset.settings.max_discount is None:
        return None
    result = analyze(compiled, as_of=as_of, with_witness=False)
    return ceiling_error(result) if result.over_ceiling else None


def ceiling_error(result: Analysis) -> RuleError:
    """The error ``promo check`` gives a ruleset whose worst case exceeds its ``max_discount``."""
    ceiling = result.ceiling
    assert ceiling is not None
    w = result.witness
    closest = f"; the witness basket loses {percent(w.share)}" if w else ""
    return RuleError(
        f"the worst case takes {percent(result.bound.share)} of a line's amount, above max_discount "
        f"{percent(ceiling)}",
        result.ceiling_span,
        f"it compounds {describe_bound(result.bound)}{closest}; run `promo analyze` for the witness",
    )
