"""One sale on several invoices when one would break a per-invoice limit (INV-21, INV-29, INV-30).

Every line's tax is rounded to the fen, so each line drifts up to about 0.57 fen from
``amount x rate``. The 税控 systems refuse an invoice whose total tax is more than
1.27 yuan from the unrounded sum (INV-21): 289 lines at 0.99 yuan (13%) all drift the
same way and cross it. The channels also cap the lines per invoice (INV-30). So a sale
the builder made as one invoice is cut into consecutive invoices here:

* the unit of cutting is a basket line: its goods line, with its discount line when it
  has one, so a (2, 1) pair is never separated (INV-29) and no item is split by
  quantity (one basket line drifts at most about 1.14 fen, so it always fits);
* invoices are filled greedily in receipt order; a new one starts only when the next
  basket line would break the line limit or the tax drift limit, and only once the
  current one totals more than 0.00 (INV-13: a 100%-discounted pair drifts exactly 0,
  so it rides along with its neighbours);
* each invoice is numbered from line 1 and carries its own totals and rate rows; the
  invoices' totals add up to the sale's (the lines are the builder's, only regrouped).

Red-letter lines of a return go through the same cut (:func:`red_invoices` in
:mod:`engine.ledger.returns`): their partial-return splits drift as much.

A sale that fits on one invoice comes back as the builder's invoice itself, after a
check that costs a few integer operations per tax rate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from math import lcm

from engine.invoice.build import Invoice, InvoiceError, InvoiceLine, LineKind, RateTotals, Totals
from engine.invoice.check_sale import CUMULATIVE_LIMIT as DRIFT_LIMIT
from engine.invoice.tax import rate_terms

__all__ = ["DRIFT_LIMIT", "MAX_LINES", "invoice_of_lines", "split_invoice", "tax_drift_ok"]

MAX_LINES = 2000
"""Lines per invoice, discount lines included (诺诺; the 数电 template warns above it): INV-30."""


def tax_drift_ok(invoice: Invoice, drift_limit: int = DRIFT_LIMIT) -> bool:
    """Whether the invoice's total tax is within ``min(drift_limit, lines)`` fen of sum(je x r).

    Worked from the rate rows (one term per rate), so it costs next to nothing per sale.
    """
    num, den = 0, 1  # sum(je x r) - HJSE = num / den fen
    for t in invoice.by_rate:
        r = t.rate.rate
        num, den = (
            num * r.denominator + (t.amount * r.numerator - t.tax * r.denominator) * den,
            (den * r.denominator),
        )
    return abs(num) <= min(drift_limit, len(invoice.lines)) * den


def split_invoice(
    invoice: Invoice, *, max_lines: int = MAX_LINES, drift_limit: int = DRIFT_LIMIT
) -> tuple[Invoice, ...]:
    """The sale's invoices: ``(invoice,)`` when it holds every per-invoice limit, else several.

    A refused invoice (nothing to invoice) is returned alone. Raises :class:`InvoiceError`
    only when ``max_lines`` is below 2, or when 100%-discounted lines alone would fill an
    invoice (neither happens at the channel limit, which is twice the basket's 1,000 lines).
    """
    if max_lines < 2:
        raise InvoiceError(f"an invoice holds a goods line and its discount line, not {max_lines} line(s)")
    lines = invoice.lines
    if invoice.refused or (len(lines) <= max_lines and tax_drift_ok(invoice, drift_limit)):
        return (invoice,)
    den = lcm(*(line.rate.rate.denominator for line in lines))
    parts: list[list[InvoiceLine]] = []
    current: list[InvoiceLine] = []
    drift = gross = 0  # of the current invoice; drift is sum(se - je x r) in 1/den fen
    for unit in _units(lines):
        unit_drift = sum(_drift(line, den) for line in unit)
        unit_gross = sum(line.gross for line in unit)
        n = len(current) + len(unit)
        too_big = n > max_lines or abs(drift + unit_drift) > min(drift_limit, n) * den
        if current and too_big and gross != 0:
            parts.append(current)
            current, drift, gross = [], 0, 0
        elif too_big and n > max_lines:
            raise InvoiceError(f"{n} lines of 100%-discounted goods cannot share an invoice of {max_lines}")
        current.extend(unit)
        drift += unit_drift
        gross += unit_gross
    if gross != 0 or not parts:
        parts.append(current)
    elif len(parts[-1]) + len(current) <= max_lines:  # only 100%-discounted lines left: they drift 0
        parts[-1].extend(current)
    else:
        raise InvoiceError(f"{len(current)} lines of 100%-discounted goods cannot share an invoice")
    return tuple(invoice_of_lines(invoice.ruleset, invoice.version, part) for part in parts)


def _units(lines: Sequence[InvoiceLine]) -> list[tuple[InvoiceLine, ...]]:
    """The lines grouped by basket line: a normal line alone, a discounted line with its discount line."""
    units: list[tuple[InvoiceLine, ...]] = []
    for line in lines:
        if line.kind is LineKind.DISCOUNT and units and units[-1][-1].kind is LineKind.DISCOUNTED:
            units[-1] = (*units[-1], line)
        else:
            units.append((line,))
    return units


def _drift(line: InvoiceLine, den: int) -> int:
    """``se - je x r`` of one line, in 1/den fen (exact)."""
    r = line.rate.rate
    return (line.tax * r.denominator - line.amount * r.numerator) * (den // r.denominator)


def invoice_of_lines(ruleset: str, version: str, lines: Sequence[InvoiceLine]) -> Invoice:
    """An invoice of these lines (some of a sale's, or red-letter lines): numbered from 1, with its
    own totals and rate rows."""
    numbered = tuple(
        line if line.no == no else dataclasses.replace(line, no=no) for no, line in enumerate(lines, 1)
    )
    groups: dict[tuple, list] = {}  # RateTerms.key -> [terms, amount, tax]
    amount = tax = 0
    for line in numbered:
        terms = rate_terms(line.rate)
        group = groups.get(terms.key)
        if group is None:
            group = groups[terms.key] = [terms, 0, 0]
        group[1] += line.amount
        group[2] += line.tax
        amount += line.amount
        tax += line.tax
    ordered = sorted(groups.values(), key=lambda g: g[0].order)
    by_rate = tuple(RateTotals(t.rate, a, x, a + x) for t, a, x in ordered)
    return Invoice(ruleset, version, numbered, Totals(amount, tax, amount + tax), by_rate)
