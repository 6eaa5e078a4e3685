"""Pricing one basket as a reply needs it: the evaluation and its checked invoice.

Evaluate (``server.rpc``), Commit (``server.sales.desk``) and ``promo eval`` all price through
here, so a quote and the sale it becomes are priced by one function.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.compiled import CompiledRuleset
from engine.invoice.build import Invoice
from engine.model import Evaluation, Request
from server.sales.invoicing import invoices_or_refusal

__all__ = ["Evaluator", "default_evaluate", "price"]

Evaluator = Callable[[CompiledRuleset, Request], Evaluation]
"""How a compiled ruleset prices a request; the seam where tests inject faults and slowness."""


def default_evaluate(compiled: CompiledRuleset, request: Request) -> Evaluation:
    return compiled.evaluate(request)


def price(
    compiled: CompiledRuleset,
    request: Request,
    evaluate: Evaluator = default_evaluate,
    *,
    with_invoice: bool = True,
) -> tuple[CompiledRuleset, Evaluation, tuple[Invoice, ...] | None]:
    """Evaluate one basket and, ``with_invoice``, its invoices, checked against every invariant first.

    A basket that prices but cannot be invoiced (a line without a tax code) still gets its
    prices, with an invoice that has no lines and says why: a till scanning goods does not
    need invoice data yet. A scan (an Evaluate that is not the final quote) builds no invoice
    at all: None. Commit always builds it.
    """
    evaluation = evaluate(compiled, request)
    invoices = invoices_or_refusal(request, evaluation) if with_invoice else None
    return compiled, evaluation, invoices
