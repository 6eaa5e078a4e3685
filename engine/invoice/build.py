"""Invoice lines for one sale: goods lines with their discount lines, split exactly into amount and tax.

Chinese VAT lets a discount lower the taxable amount only when it is printed on the
same invoice as a negative amount (国税发〔1993〕154号), so every discounted basket
line becomes a 被折扣行 (kind 2) followed by exactly one 折扣行 (kind 1) that carries
all of its discounts: item rules and its shares of 满减, coupons and points. The
rules and their evidence are in shared/VAT-DISCOUNT-LINES.md; §11 lists the
invariants that :mod:`engine.invoice.check` asserts on every invoice we hand out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from engine.errors import InvalidRequest
from engine.invoice.tax import TaxFlags, known_terms, rate_terms, unit_price_excl
from engine.model import Evaluation, Request, TaxRate
from engine.money import round_half_up

__all__ = [
    "TAX_CODE_DIGITS",
    "Invoice",
    "InvoiceError",
    "InvoiceLine",
    "LineKind",
    "RateTotals",
    "Totals",
    "build_invoice",
    "full_return_lines",
    "red_line",
]

TAX_CODE_DIGITS = 19
"""Length of a 商品和服务税收分类编码."""


class LineKind(IntEnum):
    """发票行性质 as the 税控 interfaces number it; ``shudian`` gives the 数电 / 乐企 code."""

    NORMAL = 0  # 正常行
    DISCOUNT = 1  # 折扣行
    DISCOUNTED = 2  # 被折扣行

    @property
    def shudian(self) -> str:
        """The 数电 ``fphxz`` code: "00", "01" or "02"."""
        return f"{self.value:02d}"

    @property
    def label(self) -> str:
        return ("正常行", "折扣行", "被折扣行")[self.value]


class InvoiceError(ValueError):
    """The evaluation does not belong to the request (a bug upstream, never the customer's input)."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One printed line. Money is fen; ``gross`` (H) is ``amount`` (je) + ``tax`` (se).

    A discount line has the goods line's name, code, rate and flags and no spec,
    unit, quantity or unit price; ``line_id`` names the basket line both belong to.
    """

    no: int  # 1-based 明细序号
    kind: LineKind
    line_id: str
    name: str
    tax_code: str
    rate: TaxRate
    flags: TaxFlags
    spec: str
    unit: str
    quantity: int | None  # thousandths of a unit; None on a discount line
    unit_price_excl: Decimal | None  # yuan, exactly 8 places; None on a discount line
    amount: int  # je: excluding tax
    tax: int  # se
    gross: int  # H: including tax


@dataclass(frozen=True, slots=True)
class Totals:
    """合计金额 (amount, HJJE), 合计税额 (tax, HJSE) and 价税合计 (gross, JSHJ), in fen."""

    amount: int = 0
    tax: int = 0
    gross: int = 0


@dataclass(frozen=True, slots=True)
class RateTotals:
    """The totals of the lines at one rate (and exemption), as finance books them."""

    rate: TaxRate
    amount: int
    tax: int
    gross: int


@dataclass(frozen=True, slots=True)
class Invoice:
    """The invoice for one evaluation, or none: ``refused`` then says why and ``lines`` is empty."""

    ruleset: str
    version: str
    lines: tuple[InvoiceLine, ...]
    totals: Totals
    by_rate: tuple[RateTotals, ...]
    refused: str = ""

    @property
    def issued(self) -> bool:
        return not self.refused

    @property
    def hjje(self) -> int:
        return self.totals.amount

    @property
    def hjse(self) -> int:
        return self.totals.tax

    @property
    def jshj(self) -> int:
        return self.totals.gross

    def rate_totals(self) -> dict[TaxRate, RateTotals]:
        """The per-rate totals keyed by rate."""
        return {t.rate: t for t in self.by_rate}


_NORMAL, _DISCOUNT, _DISCOUNTED = LineKind.NORMAL, LineKind.DISCOUNT, LineKind.DISCOUNTED


NETS_TO_ZERO = (
    "no invoice: the basket nets to 0.00 after discounts, and a blue VAT invoice must total "
    "more than 0.00 (价税合计 > 0)"
)


def build_invoice(request: Request, evaluation: Evaluation) -> Invoice:
    """The invoice lines of ``evaluation`` in receipt order, with header and per-rate totals.

    Raises :class:`~engine.errors.InvalidRequest` naming ``lines[i].tax_code`` or
    ``lines[i].tax`` when a line cannot be invoiced, and :class:`InvoiceError` when
    the evaluation's lines are not the request's. A basket that nets to zero gets an
    :class:`Invoice` with no lines and ``refused`` set.

    It runs on every priced basket, so it is one pass of integer arithmetic: each
    rate's terms are worked out once (:func:`engine.invoice.tax.rate_terms`), each line is
    vetted as it is made (:func:`_vet` says why when one fails) and the totals are
    summed on the way.
    """
    items, outcomes = request.lines, evaluation.lines
    if evaluation.payable <= 0 or len(items) != len(outcomes):
        _vet(request, evaluation)  # raises for a bad line or a mismatch, even with nothing to invoice
        return Invoice(evaluation.ruleset, evaluation.version, (), Totals(), (), NETS_TO_ZERO)
    lines: list[InvoiceLine] = []
    append = lines.append
    known = known_terms
    vetted = False
    by_rate: dict[int, list] = {}  # id(terms) -> [terms, amount, tax]: a rate's lines share its terms
    group: list = []
    t = None
    no = total_amount = total_tax = 0
    for line, outcome in zip(items, outcomes, strict=True):
        rate, line_id, code, name, qty = line.tax, line.id, line.tax_code, line.name, line.quantity
        if t is None or t.rate is not rate:  # a new rate object: its terms, and the sums at that rate
            t = known(id(rate))
            if t is None or t.rate is not rate:
                if not vetted:  # a line that fails its checks raises; a rate seen for the first time does not
                    _vet(request, evaluation)
                    vetted = True
                t = rate_terms(rate)
            group = by_rate.setdefault(id(t), [t, 0, 0])
            flags, p, qp, qp2 = t.flags, t.p, t.qp, t.qp2
        if (
            line_id != outcome.line_id
            or len(code) != TAX_CODE_DIGITS
            or not code.isascii()
            or not code.isdigit()
            or not name
            or name.isspace()
            or qty <= 0
        ):
            _vet(request, evaluation)  # raises: the first bad line of the request, else the first mismatch
        gross, discount = outcome.amount, outcome.discount
        # the tax inside H: round-half-up(H x p, q + p), inline for H >= 0 (odd-symmetric below 0)
        x = gross * p
        tax = (2 * x + qp) // qp2 if x >= 0 else round_half_up(x, qp)
        amount = gross - tax
        price = unit_price_excl(amount, qty)
        no += 1
        if not discount:
            append(
                InvoiceLine(
                    no, _NORMAL, line_id, name, code, rate, flags,
                    line.spec, line.unit, qty, price, amount, tax, gross,
                )
            )  # fmt: skip
        else:
            append(
                InvoiceLine(
                    no, _DISCOUNTED, line_id, name, code, rate, flags,
                    line.spec, line.unit, qty, price, amount, tax, gross,
                )
            )  # fmt: skip
            if discount == gross:
                # 100% off: copy the goods line's split so the pair nets to exactly zero (INV-13)
                d_amount, d_tax = -amount, -tax
            else:
                x = discount * p  # the tax inside -discount is minus the tax inside discount
                d_tax = -((2 * x + qp) // qp2) if x >= 0 else round_half_up(-x, qp)
                d_amount = -discount - d_tax
            no += 1
            append(
                InvoiceLine(
                    no, _DISCOUNT, line_id, name, code, rate, flags,
                    "", "", None, None, d_amount, d_tax, -discount,
                )
            )  # fmt: skip
            amount += d_amount
            tax += d_tax
        total_amount += amount
        total_tax += tax
        group[1] += amount
        group[2] += tax
    return Invoice(
        evaluation.ruleset,
        evaluation.version,
        tuple(lines),
        Totals(total_amount, total_tax, total_amount + total_tax),
        _rate_totals(by_rate.values()),
        "",
    )


def full_return_lines(invoice: Invoice) -> tuple[InvoiceLine, ...]:
    """Red-letter lines returning a whole sale: one normal line per goods line, its net negated (INV-28).

    Each (2, 1) pair merges into one kind-0 line with ``je = -(je2 + je1)``,
    ``se = -(se2 + se1)`` and a negative quantity; lines that netted to zero are left
    out. Partial returns apportion the discount and belong to the returns module.
    """
    out: list[InvoiceLine] = []
    lines = invoice.lines
    for i, line in enumerate(lines):
        if line.kind is LineKind.DISCOUNT:
            continue
        amount, tax = line.amount, line.tax
        if line.kind is LineKind.DISCOUNTED and i + 1 < len(lines):
            amount, tax = amount + lines[i + 1].amount, tax + lines[i + 1].tax
        if amount + tax == 0 or line.quantity is None:
            continue
        out.append(red_line(len(out) + 1, line, line.quantity, amount, tax))
    return tuple(out)


def red_line(no: int, goods: Any, quantity: int, amount: int, tax: int) -> InvoiceLine:
    """A red-letter normal line (INV-28) giving back ``quantity`` units of ``goods``.

    ``amount`` and ``tax`` are the positive net figures returned; the line carries them
    negated, with a negative quantity. ``goods`` is anything with the goods line's
    name, codes, rate, flags, spec and unit (an invoice line, or a sold line of the ledger).
    """
    return InvoiceLine(
        no=no,
        kind=LineKind.NORMAL,
        line_id=goods.line_id,
        name=goods.name,
        tax_code=goods.tax_code,
        rate=goods.rate,
        flags=goods.flags,
        spec=goods.spec,
        unit=goods.unit,
        quantity=-quantity,
        unit_price_excl=unit_price_excl(amount, quantity),
        amount=-amount,
        tax=-tax,
        gross=-(amount + tax),
    )


# --------------------------------------------------------------------------- helpers


def _vet(request: Request, evaluation: Evaluation) -> None:
    """Raise for the first line no invoice can carry, then for the first line of another basket.

    :func:`build_invoice` vets each line as it goes and comes here when one fails the
    quick test, so that the error (and which one wins when there are several) is the
    same as if every line had been checked before any was made.
    """
    _check_invoiceable(request)
    _check_matches(request, evaluation)


def _check_invoiceable(request: Request) -> None:
    """Refuse lines no invoice can carry (the evaluation itself does not need these fields)."""
    for i, line in enumerate(request.lines):
        code = line.tax_code
        if not (len(code) == TAX_CODE_DIGITS and code.isascii() and code.isdigit()):
            got = f"got {code!r}" if code else "it has none"
            raise InvalidRequest(
                f"lines[{i}].tax_code",
                f"line {line.id!r} ({line.name}) needs a {TAX_CODE_DIGITS}-digit tax classification "
                f"code (商品和服务税收分类编码) to be invoiced; {got}",
            )
        if not isinstance(line.tax, TaxRate):
            raise InvalidRequest(f"lines[{i}].tax", f"line {line.id!r} ({line.name}) has no tax rate")
        try:
            rate_terms(line.tax)  # a rate no invoice can carry is ValueError
        except ValueError as exc:
            raise InvalidRequest(f"lines[{i}].tax", f"line {line.id!r} ({line.name}): {exc}") from None
        name = line.name
        if not name or name.isspace():
            raise InvalidRequest(f"lines[{i}].name", f"line {line.id!r} needs a name to be invoiced")
        if line.quantity <= 0:
            raise InvalidRequest(
                f"lines[{i}].quantity", f"line {line.id!r} ({line.name}) needs a positive quantity"
            )


def _check_matches(request: Request, evaluation: Evaluation) -> None:
    if len(request.lines) != len(evaluation.lines):
        raise InvoiceError(
            f"the evaluation has {len(evaluation.lines)} line(s) but the request has {len(request.lines)}"
        )
    for i, (line, outcome) in enumerate(zip(request.lines, evaluation.lines, strict=True)):
        if line.id != outcome.line_id:
            raise InvoiceError(
                f"evaluation line {i} is {outcome.line_id!r} but request line {i} is {line.id!r}"
            )


def _rate_totals(groups: Collection[list]) -> tuple[RateTotals, ...]:
    """Totals per rate, highest rate first, then taxed, 零税率, 免税, 不征税.

    ``groups`` are ``[terms, amount, tax]`` per rate *object* in order of first use;
    equal rates held by different objects are merged here (by ``RateTerms.key``), where
    there are only a few.
    """
    if len(groups) == 1:
        ((t, amount, tax),) = groups
        return (RateTotals(t.rate, amount, tax, amount + tax),)
    merged: dict[tuple, list] = {}
    for t, amount, tax in groups:
        seen = merged.get(t.key)
        if seen is None:
            merged[t.key] = [t, amount, tax]
        else:
            seen[1] += amount
            seen[2] += tax
    ordered = sorted(merged.values(), key=lambda g: g[0].order)
    return tuple(RateTotals(t.rate, amount, tax, amount + tax) for t, amount, tax in ordered)
