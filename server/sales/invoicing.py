"""The invoice a reply carries: built, checked against every invariant, or refused with a reason.

The service (``Evaluate``) and the CLI (``promo eval``) hand out the same invoices for the
same basket (:mod:`engine.invoice.split` cuts a sale that breaks a per-invoice limit), so
the rule lives here once. Pricing does not need invoice data, so a basket
that cannot be invoiced (a line without a tax code...) still gets its prices, with an
invoice that has no lines and names the field.
"""

from __future__ import annotations

from engine.errors import InvalidRequest
from engine.invoice.build import Invoice, Totals, build_invoice
from engine.invoice.check import ensure_invoices
from engine.invoice.split import split_invoice
from engine.model import Evaluation, Request
from server.wire.request import wire_error

__all__ = ["invoices_or_refusal"]


def invoices_or_refusal(request: Request, evaluation: Evaluation) -> tuple[Invoice, ...]:
    """The checked invoices (one, or several for a sale split by a per-invoice limit), or one
    invoice with no lines whose ``refused`` names the field (wire names).

    Every invoice :func:`~engine.invoice.build.build_invoice` returns (a refusal for a basket
    that nets to zero included) goes through the invariant checker: a violation raises
    :class:`~engine.invoice.check.InvoiceInvariantError` (an internal error), never a
    wrong invoice. The refusal made here for an uninvoiceable line has nothing to check.
    """
    try:
        invoice = build_invoice(request, evaluation)
    except InvalidRequest as exc:
        wire = wire_error(exc)
        reason = f"{wire.field}: {wire.message}"
        return (Invoice(evaluation.ruleset, evaluation.version, (), Totals(), (), reason),)
    return ensure_invoices(split_invoice(invoice), request, evaluation)
