"""The invoice invariants of VAT-DISCOUNT-LINES.md §11, checked on every invoice before it leaves us.

An invoice the tax system refuses, or one that does not reconcile with what the
customer paid, is worse than none: finance finds out weeks later. So the service
runs :func:`check_invoice` on each invoice it hands out, and the tests run it on
thousands of generated baskets. It is written independently of
:mod:`engine.invoice.build` (it recomputes what it checks), and every message names the
invariant and the invoice line: ``INV-10 line 4 (折扣行 of 'b2' 大豆油5L): ...``.

Covered for one blue (sale) invoice: INV-01..INV-23, INV-25, INV-27 and INV-30 in
full. What an evaluation alone cannot show (the eligible lines and the value of a
满减 rule) limits the rest: INV-24 is checked for coupons and points, and INV-26
(largest remainder) as a bound: no coupon or points share exceeds its rounded-up
pro-rata part among the lines that received it. INV-28 (returns) does not apply to
a sale. A sale on several invoices (:mod:`engine.invoice.split`) is checked by
:func:`check_invoices`: the sale's books once, each invoice as the sale of its own
basket lines (``part``), and INV-29: every basket line on exactly one invoice, in
receipt order, its goods and discount lines together, the totals adding up to the sale.

Almost every invoice is sound, so the check comes in two parts:

* :mod:`engine.invoice.check_fast` tests every invariant with as few operations as
  it can (identity where the report compares values, integer arithmetic, one pass
  per basket line) and answers only "sound" or "look closer";
* the full report, :func:`full_report`, tests each invariant on its own and words
  every violation: the lines in :mod:`engine.invoice.check_lines`, the sale's
  books and the totals in :mod:`engine.invoice.check_sale`.

The fast test only vouches for an invoice on which the report finds nothing
(tests/engine/test_invoice_check_fast.py holds it to that), so the answer is the
report's either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from engine.invoice.build import Invoice
from engine.invoice.check_fast import invoice_holds
from engine.invoice.check_lines import check_lines
from engine.invoice.check_sale import check_evaluation, check_totals
from engine.invoice.split import MAX_LINES
from engine.model import Evaluation, Request
from engine.money import format_fen

__all__ = [
    "MAX_LINES",
    "InvoiceInvariantError",
    "check_invoice",
    "check_invoices",
    "ensure_invoice",
    "ensure_invoices",
    "full_report",
    "part_of",
]


class InvoiceInvariantError(AssertionError):
    """An invoice broke §11; ``violations`` lists every broken invariant with its line."""

    def __init__(self, violations: Sequence[str]) -> None:
        self.violations = list(violations)
        super().__init__("invoice breaks its invariants:\n" + "\n".join(f"  {v}" for v in self.violations))


def ensure_invoice(invoice: Invoice, request: Request, evaluation: Evaluation) -> Invoice:
    """Return ``invoice`` when it holds every invariant, else raise :class:`InvoiceInvariantError`."""
    violations = check_invoice(invoice, request, evaluation)
    if violations:
        raise InvoiceInvariantError(violations)
    return invoice


def ensure_invoices(
    invoices: Sequence[Invoice], request: Request, evaluation: Evaluation, *, max_lines: int = MAX_LINES
) -> tuple[Invoice, ...]:
    """Return the sale's ``invoices`` when together they hold every invariant, else raise."""
    violations = check_invoices(invoices, request, evaluation, max_lines=max_lines)
    if violations:
        raise InvoiceInvariantError(violations)
    return tuple(invoices)


def check_invoices(
    invoices: Sequence[Invoice], request: Request, evaluation: Evaluation, *, max_lines: int = MAX_LINES
) -> list[str]:
    """Every violated invariant of a sale's invoices; one invoice is :func:`check_invoice` itself.

    Several: the sale's books (INV-22..INV-26) once, then each invoice against the basket
    lines it carries (:func:`part_of`), each sentence prefixed ``invoice k/n:``, then INV-29.
    """
    if len(invoices) == 1:
        return check_invoice(invoices[0], request, evaluation, max_lines=max_lines)
    if not invoices:
        return ["INV-22 sale: no invoice at all; a sale with nothing to invoice gets a refused one"]
    requested = {line.id: line for line in request.lines}
    out = check_evaluation(requested, evaluation)
    carried: list[str] = []
    gross = 0
    for k, invoice in enumerate(invoices, 1):
        if invoice.refused:
            out.append(f"INV-29 invoice {k}/{len(invoices)}: refused ({invoice.refused}) within a split sale")
            continue
        part_request, part_evaluation = part_of(invoice, request, evaluation)
        found = check_invoice(invoice, part_request, part_evaluation, max_lines=max_lines, part=True)
        out += [f"invoice {k}/{len(invoices)}: {v}" for v in found]
        carried += [line.line_id for line in invoice.lines if line.kind != 1]
        gross += invoice.totals.gross
    if carried != [line.id for line in request.lines]:
        out.append(
            "INV-29 sale: the invoices do not carry every basket line exactly once, in receipt order "
            f"({len(carried)} goods line(s) for {len(request.lines)} basket line(s))"
        )
    if gross != evaluation.payable:
        out.append(
            f"INV-29 sale: the invoices total {format_fen(gross)}, not what the customer pays, "
            f"{format_fen(evaluation.payable)}"
        )
    return out


def part_of(invoice: Invoice, request: Request, evaluation: Evaluation) -> tuple[Request, Evaluation]:
    """The basket lines one invoice of a split sale carries, as a request and evaluation of their own.

    Taken from the request and evaluation (in their order) by the ids on the invoice's
    lines; the payable, subtotal and discount are those lines' sums, so INV-22 holds the
    invoice to what the customer pays for them.
    """
    ids = {line.line_id for line in invoice.lines}
    items = tuple(line for line in request.lines if line.id in ids)
    outcomes = tuple(o for o in evaluation.lines if o.line_id in ids)
    part_request = dataclasses.replace(request, lines=items)
    part_evaluation = evaluation._replace(
        lines=outcomes,
        subtotal=sum(o.amount for o in outcomes),
        discount=sum(o.discount for o in outcomes),
        payable=sum(o.net for o in outcomes),
    )
    return part_request, part_evaluation


def check_invoice(
    invoice: Invoice,
    request: Request,
    evaluation: Evaluation,
    *,
    max_lines: int = MAX_LINES,
    part: bool = False,
) -> list[str]:
    """Every violated invariant of ``invoice`` for this sale, one sentence each; [] when it is sound.

    ``part``: the invoice is one of a split sale's, ``request`` and ``evaluation`` its share
    (:func:`part_of`); the coupon and points apportionment is then left to the whole sale.
    """
    try:
        sound = invoice_holds(invoice, request, evaluation, max_lines, part)
    except Exception:  # malformed input: the report raises the same error, or words what is wrong
        sound = False
    if sound:
        return []
    return full_report(invoice, request, evaluation, max_lines=max_lines, part=part)


def full_report(
    invoice: Invoice,
    request: Request,
    evaluation: Evaluation,
    *,
    max_lines: int = MAX_LINES,
    part: bool = False,
) -> list[str]:
    """:func:`check_invoice` without its fast path: every invariant tested and worded on its own."""
    requested = {line.id: line for line in request.lines}
    out = check_evaluation(requested, evaluation, part=part)
    if invoice.refused:
        if invoice.lines:
            out.append(f"INV-13 invoice: refused ({invoice.refused}) but it has {len(invoice.lines)} line(s)")
        if evaluation.payable > 0:
            out.append(
                f"INV-22 invoice: refused ({invoice.refused}) but the customer pays "
                f"{format_fen(evaluation.payable)}"
            )
        return out
    lines = invoice.lines
    if not lines:
        return [*out, "INV-13 invoice: issued with no lines; refuse it with a reason instead"]
    checked = check_lines(lines, request, requested, evaluation)
    if isinstance(checked, list):
        return out + checked  # INV-19: the arithmetic needs exact ints, Fractions and Decimals
    if len(lines) > max_lines:
        out.append(f"INV-30 invoice: {len(lines)} lines, more than the channel's {max_lines}")
    out += checked.structure
    out += checked.per_line
    out += checked.pairs
    out += checked.items
    out += check_totals(invoice, evaluation, checked)
    return out
