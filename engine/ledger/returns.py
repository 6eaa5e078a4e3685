"""Returns: what a sold line keeps for later, and the shares each return claws back and refunds.

The database layer (``server.storage``) only persists what these functions decide, so every
rounding rule of a return is here, testable without a database:

* A return claws back points and refunds money **cumulatively**: after returning ``q``
  of ``n`` units in total, the points clawed back so far are ``floor(points x q / n)``
  and the money refunded so far is ``round-half-up(net x q / n)``; each return takes
  the difference from what earlier returns already took. Returning every unit, in any
  number of returns, therefore takes back exactly the line's points and net.
* Red-letter invoice lines (VAT-DISCOUNT-LINES.md INV-28) are normal lines with the
  negated net; their tax split is cumulative too, and the return that completes a
  line uses the sold line's own split, so the red lines of all returns negate the
  blue net exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Literal

from engine.apportion import split_by_remainder
from engine.invoice.build import Invoice, InvoiceLine, red_line
from engine.invoice.split import invoice_of_lines, split_invoice
from engine.invoice.tax import TaxFlags, split_inclusive, tax_flags
from engine.model import Evaluation, PointsOutcome, Request, TaxRate
from engine.money import round_half_up

__all__ = [
    "LineReturn",
    "ReturnPlan",
    "ReturnRefused",
    "Returned",
    "SoldLine",
    "flat_red_lines",
    "plan_return",
    "points_by_rule",
    "red_invoices",
    "sold_lines",
]


@dataclass(frozen=True, slots=True)
class SoldLine:
    """What a return needs to know about one sold line, kept with the sale.

    ``net_amount`` + ``net_tax`` == ``net``: the sold line's net split as its invoice
    printed it (goods line plus discount line), so a full return negates it exactly.
    """

    line_id: str
    name: str
    tax_code: str
    rate: TaxRate
    spec: str
    unit: str
    quantity: int  # thousandths
    amount: int  # gross fen before discounts
    discount: int
    net: int
    points: int
    net_amount: int
    net_tax: int
    invoice: int = 1  # which of the sale's invoices (1-based) printed it: its red lines offset that one
    discounts: tuple[tuple[str, str, int], ...] = ()  # (source, kind, fen): what each promotion took

    @property
    def flags(self) -> TaxFlags:
        return tax_flags(self.rate)


def sold_lines(
    request: Request, evaluation: Evaluation, invoices: Sequence[Invoice] | Invoice | None
) -> tuple[SoldLine, ...]:
    """The sold lines of a priced request, with each net split as its invoice printed it.

    ``invoices`` are the sale's (one, or several when it was split); each sold line
    remembers which one printed it. Without an issued invoice (a basket that netted to
    zero) the net is split the way the invoice would have split it.
    """
    if isinstance(invoices, Invoice):
        invoices = (invoices,)
    printed: dict[str, tuple[int, int, int]] = {}
    for number, invoice in enumerate(invoices or (), 1):
        if not invoice.issued:
            continue
        for inv in invoice.lines:
            amount, tax, _ = printed.get(inv.line_id, (0, 0, number))
            printed[inv.line_id] = (amount + inv.amount, tax + inv.tax, number)
    out = []
    for line, outcome in zip(request.lines, evaluation.lines, strict=True):
        found = printed.get(line.id)
        net_amount, net_tax, number = found or (*split_inclusive(outcome.net, line.tax.rate), 1)
        out.append(
            SoldLine(
                line_id=line.id,
                name=line.name,
                tax_code=line.tax_code,
                rate=line.tax,
                spec=line.spec,
                unit=line.unit,
                quantity=line.quantity,
                amount=outcome.amount,
                discount=outcome.discount,
                net=outcome.net,
                points=outcome.points,
                net_amount=net_amount,
                net_tax=net_tax,
                invoice=number,
                discounts=tuple((d.source, d.kind, d.fen) for d in outcome.discounts),
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- returns


@dataclass(frozen=True, slots=True)
class Returned:
    """What the returns of one line took so far (or take now): units, points, money."""

    quantity: int = 0
    points: int = 0
    refund: int = 0  # net fen given back
    discount: int = 0  # the discount reversed with those units
    amount: int = 0  # refund excluding tax, as the red lines print it
    tax: int = 0

    def __add__(self, other: Returned) -> Returned:
        return Returned(
            self.quantity + other.quantity,
            self.points + other.points,
            self.refund + other.refund,
            self.discount + other.discount,
            self.amount + other.amount,
            self.tax + other.tax,
        )

    def __sub__(self, other: Returned) -> Returned:
        return Returned(
            self.quantity - other.quantity,
            self.points - other.points,
            self.refund - other.refund,
            self.discount - other.discount,
            self.amount - other.amount,
            self.tax - other.tax,
        )


@dataclass(frozen=True, slots=True)
class LineReturn:
    """One line of a return: what this return takes back."""

    line_id: str
    took: Returned


@dataclass(frozen=True, slots=True)
class ReturnPlan:
    """A whole return: its lines, the red-letter invoices and the totals.

    ``red_invoices`` are the red-letter lines grouped by the sale invoice they offset, and
    cut again where one red invoice would break a per-invoice limit (INV-21, INV-30).
    """

    lines: tuple[LineReturn, ...]
    red_invoices: tuple[Invoice, ...]
    points: int  # clawed back
    refund: int  # fen
    discount: int  # fen of discounts reversed
    completes_sale: bool  # every unit of every line has now been returned

    @property
    def red_lines(self) -> tuple[InvoiceLine, ...]:
        """Every red-letter line, numbered through (the single list replies carried before splitting)."""
        return flat_red_lines(self.red_invoices)


class ReturnRefused(ValueError):
    """A return asks for a line the sale does not have, or more units than are left of it."""

    def __init__(
        self, line_id: str, reason: Literal["unknown_line", "exceeds_sold", "not_positive"], msg: str
    ):
        super().__init__(msg)
        self.line_id = line_id
        self.reason = reason


def _cumulative(line: SoldLine, quantity: int) -> Returned:
    """Everything returns of ``quantity`` units of ``line`` take in total (the telescoping rule)."""
    if quantity == line.quantity:
        return Returned(quantity, line.points, line.net, line.discount, line.net_amount, line.net_tax)
    points = line.points * quantity // line.quantity
    refund = round_half_up(line.net * quantity, line.quantity)
    gross = round_half_up(line.amount * quantity, line.quantity)
    amount, tax = split_inclusive(refund, line.rate.rate)
    return Returned(quantity, points, refund, gross - refund, amount, tax)


def plan_return(
    sold: Sequence[SoldLine],
    before: Mapping[str, Returned],
    asked: Mapping[str, int],
    *,
    invoiced: bool = True,
) -> ReturnPlan:
    """Plan returning ``asked`` (line id -> thousandths) given what earlier returns took.

    Raises :class:`ReturnRefused` for an unknown line, a quantity that is not
    positive, or more units than the sale has left of a line (over all returns).
    Red-letter lines are produced only when the sale was ``invoiced``.
    """
    by_id = {line.line_id: line for line in sold}
    lines: list[LineReturn] = []
    red: list[tuple[int, InvoiceLine]] = []  # (the sale invoice it offsets, the red line)
    for line_id, quantity in asked.items():
        line = by_id.get(line_id)
        if line is None:
            known = ", ".join(sorted(by_id))
            raise ReturnRefused(
                line_id, "unknown_line", f"line {line_id!r} is not in the sale (its lines: {known})"
            )
        if quantity <= 0:
            raise ReturnRefused(
                line_id,
                "not_positive",
                f"line {line_id!r}: a returned quantity must be positive (got {quantity})",
            )
        prior = before.get(line_id, Returned())
        left = line.quantity - prior.quantity
        if quantity > left:
            raise ReturnRefused(
                line_id,
                "exceeds_sold",
                f"line {line_id!r}: cannot return {quantity} thousandths, "
                f"only {left} of the {line.quantity} sold are left",
            )
        took = _cumulative(line, prior.quantity + quantity) - _cumulative(line, prior.quantity)
        lines.append(LineReturn(line_id, took))
        if invoiced and took.refund != 0:
            red.append((line.invoice, red_line(len(red) + 1, line, took.quantity, took.amount, took.tax)))
    done = {lr.line_id: lr.took.quantity for lr in lines}
    completes = all(
        before.get(s.line_id, Returned()).quantity + done.get(s.line_id, 0) == s.quantity for s in sold
    )
    return ReturnPlan(
        lines=tuple(lines),
        red_invoices=red_invoices(red),
        points=sum(lr.took.points for lr in lines),
        refund=sum(lr.took.refund for lr in lines),
        discount=sum(lr.took.discount for lr in lines),
        completes_sale=completes,
    )


def red_invoices(red: Sequence[tuple[int, InvoiceLine]]) -> tuple[Invoice, ...]:
    """Red-letter lines as invoices: one per sale invoice they offset (in its order), each within limits."""
    by_invoice: dict[int, list[InvoiceLine]] = {}
    for number, line in red:
        by_invoice.setdefault(number, []).append(line)
    out: list[Invoice] = []
    for number in sorted(by_invoice):
        out += split_invoice(invoice_of_lines("", "", by_invoice[number]))
    return tuple(out)


def flat_red_lines(invoices: Sequence[Invoice]) -> tuple[InvoiceLine, ...]:
    """The red invoices' lines one after the other, numbered 1..n through all of them."""
    lines = [line for invoice in invoices for line in invoice.lines]
    return tuple(
        line if line.no == no else dataclasses.replace(line, no=no) for no, line in enumerate(lines, 1)
    )


def points_by_rule(points: PointsOutcome) -> dict[str, int]:
    """The points each rule added to a sale: its bonus, and its part of what the multipliers added.

    The multipliers together added ``base - floor(base / factor)`` (the base without them);
    that is split over them in proportion to ``factor - 1`` by largest remainder, so the
    parts add up exactly. Keyed by rule id; empty when no rule added points.
    """
    out: dict[str, int] = {}
    for b in points.bonuses:
        out[b.rule] = out.get(b.rule, 0) + b.points
    factor = points.factor
    if points.multipliers and factor > 1 and points.base > 0:
        added = points.base - (points.base * factor.denominator) // factor.numerator
        weights = [max(m.factor - 1, Fraction(0)) for m in points.multipliers]
        den = 1
        for w in weights:
            den = den * w.denominator // gcd(den, w.denominator)
        ints = [int(w * den) for w in weights]
        if added > 0 and sum(ints) > 0:
            for m, part in zip(points.multipliers, split_by_remainder(added, ints), strict=True):
                out[m.rule] = out.get(m.rule, 0) + part
    return {rule: n for rule, n in out.items() if n}
