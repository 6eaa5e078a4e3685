"""The invoice invariants of VAT-DISCOUNT-LINES.md §11, checked on every invoice before it leaves us.

An invoice the tax system refuses, or one that does not reconcile with what the
customer paid, is worse than none: finance finds out weeks later. So the service
runs :func:`check_invoice` on each invoice it hands out, and the tests run it on
thousands of generated baskets. It is written independently of
:mod:`engine.invoice` (it recomputes what it checks), and every message names the
invariant and the invoice line: ``INV-10 line 4 (折扣行 of 'b2' 大豆油5L): ...``.

Covered for one blue (sale) invoice: INV-01..INV-23, INV-25, INV-27 and INV-30 in
full. What an evaluation alone cannot show (the eligible lines and the value of a
满减 rule) limits the rest: INV-24 is checked for coupons and points, and INV-26
(largest remainder) as a bound: no coupon or points share exceeds its rounded-up
pro-rata part among the lines that received it. INV-28/29 (returns, splitting) do
not apply to one sale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from engine.invoice import TAX_CODE_DIGITS, Invoice, InvoiceLine, LineKind
from engine.model import Evaluation, Line, LineOutcome, Request, TaxRate
from engine.money import format_fen, line_amount, round_fraction, round_half_up
from engine.tax import PRICE_PLACES, check_rate, tax_flags

__all__ = ["MAX_LINES", "InvoiceInvariantError", "check_invoice", "ensure_invoice"]

MAX_LINES = 2000
"""Lines per invoice, discount lines included (诺诺; the 数电 template warns above it): INV-30."""

_MAX_FEN = 10**14  # 12 integer digits of yuan (INV-14)
_CUMULATIVE_LIMIT = 127  # fen of cumulative tax error per invoice (INV-21)
_y = format_fen


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


def check_invoice(
    invoice: Invoice, request: Request, evaluation: Evaluation, *, max_lines: int = MAX_LINES
) -> list[str]:
    """Every violated invariant of ``invoice`` for this sale, one sentence each; [] when it is sound."""
    out: list[str] = []
    out += _check_evaluation(request, evaluation)
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
    typing = _check_types(lines)
    if typing:
        return out + typing  # the arithmetic below needs exact ints, Fractions and Decimals
    if len(lines) > max_lines:
        out.append(f"INV-30 invoice: {len(lines)} lines, more than the channel's {max_lines}")
    out += _check_structure(lines)
    for line in lines:
        out += _check_line(line)
    out += _check_pairs(lines)
    out += _check_items(lines, request, evaluation)
    out += _check_totals(invoice, evaluation)
    return out


# --------------------------------------------------------------------------- per line


def _where(line: InvoiceLine) -> str:
    kind = line.kind.label if isinstance(line.kind, LineKind) else f"kind {line.kind!r}"
    return f"line {line.no} ({kind} of {line.line_id!r} {line.name})"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_types(lines: Sequence[InvoiceLine]) -> list[str]:
    """INV-19: money is int fen and rates are Fractions; a float anywhere is a rounding bug waiting."""
    out = []
    for line in lines:
        bad = [f for f in ("amount", "tax", "gross") if not _is_int(getattr(line, f))]
        if not isinstance(line.rate, TaxRate) or not isinstance(line.rate.rate, Fraction):
            bad.append("rate")
        if line.quantity is not None and not _is_int(line.quantity):
            bad.append("quantity")
        if line.unit_price_excl is not None and not isinstance(line.unit_price_excl, Decimal):
            bad.append("unit_price_excl")
        if bad:
            out.append(f"INV-19 {_where(line)}: {', '.join(bad)} must be exact (int fen, Fraction, Decimal)")
    return out


def _check_structure(lines: Sequence[InvoiceLine]) -> list[str]:
    """INV-01..INV-04 and the 1-based numbering (§3 S10)."""
    out = []
    for i, line in enumerate(lines):
        if line.no != i + 1:
            out.append(f"INV-08 {_where(line)}: numbered {line.no}, expected {i + 1}")
        if line.kind not in (0, 1, 2):
            out.append(f"INV-01 {_where(line)}: kind {line.kind!r} is not 0, 1 or 2")
            continue
        after_discounted = i > 0 and lines[i - 1].kind == LineKind.DISCOUNTED
        if i == 0 and line.kind == LineKind.DISCOUNT:
            out.append(f"INV-02 {_where(line)}: the first line cannot be a discount line")
        elif line.kind == LineKind.DISCOUNT and not after_discounted:
            out.append(f"INV-03 {_where(line)}: a discount line must directly follow its 被折扣行")
        elif line.kind != LineKind.DISCOUNT and after_discounted:
            prev = lines[i - 1]
            out.append(f"INV-03 {_where(prev)}: a 被折扣行 must be directly followed by its discount line")
    last = lines[-1]
    if last.kind == LineKind.DISCOUNTED:
        out.append(f"INV-04 {_where(last)}: the last line cannot be a 被折扣行")
    if len(lines) == 1 and last.kind != LineKind.NORMAL:
        out.append(f"INV-04 {_where(last)}: a one-line invoice must be a normal line")
    return out


def _check_line(line: InvoiceLine) -> list[str]:
    """Signs, precision, tax formula and price consistency of one line (INV-06, 09, 10, 14..18)."""
    out = []
    w = _where(line)
    je, se, h = line.amount, line.tax, line.gross
    rate = line.rate.rate
    if h != je + se:
        out.append(f"INV-20 {w}: amount {_y(je)} + tax {_y(se)} != amount including tax {_y(h)}")
    for label, value in (("amount", je), ("tax", se)):
        if abs(value) >= _MAX_FEN:
            out.append(f"INV-14 {w}: {label} {_y(value)} has more than 12 integer digits")
    try:
        check_rate(line.rate)
    except ValueError as exc:
        out.append(f"INV-17 {w}: {exc}")
    if line.flags != tax_flags(line.rate):
        out.append(
            f"INV-05 {w}: flags {line.flags} do not match rate {line.rate}: expected {tax_flags(line.rate)}"
        )
    if len(line.tax_code) != TAX_CODE_DIGITS or not (line.tax_code.isascii() and line.tax_code.isdigit()):
        out.append(f"INV-05 {w}: tax code {line.tax_code!r} is not {TAX_CODE_DIGITS} digits")
    if line.kind == LineKind.DISCOUNT:
        if je >= 0:
            out.append(f"INV-10 {w}: amount {_y(je)} must be negative on a discount line")
        if se > 0:
            out.append(f"INV-10 {w}: tax {_y(se)} must be zero or negative on a discount line")
        if h == 0:
            out.append(f"INV-12 {w}: a 0.00 discount line must not be emitted")
        present = [f for f in ("spec", "unit") if getattr(line, f)]
        present += [f for f in ("quantity", "unit_price_excl") if getattr(line, f) is not None]
        if present:
            out.append(f"INV-06 {w}: a discount line must have no {', '.join(present)}")
    else:
        if je <= 0:
            out.append(f"INV-09 {w}: amount {_y(je)} must be positive")
        if se < 0:
            out.append(f"INV-09 {w}: tax {_y(se)} must not be negative")
        out += _check_price(line)
    expected = round_half_up(h * rate.numerator, rate.denominator + rate.numerator)
    if se != expected:
        out.append(
            f"INV-17 {w}: tax {_y(se)} on {_y(h)} at {line.rate} should be {_y(expected)} "
            "(round-half-up(H x r / (1 + r)))"
        )
    drift = round_half_up(je * rate.numerator, rate.denominator) - se
    if abs(drift) > 1:
        out.append(f"INV-18 {w}: amount x rate differs from the tax {_y(se)} by {_y(abs(drift))}, over 0.01")
    return out


def _check_price(line: InvoiceLine) -> list[str]:
    """INV-15 and INV-16 on a goods line."""
    w = _where(line)
    qty, price = line.quantity, line.unit_price_excl
    if qty is None and price is None:
        return []
    if qty is None or price is None:
        return [f"INV-15 {w}: quantity and unit price must both be given or both be empty"]
    out = []
    if qty <= 0:
        out.append(f"INV-15 {w}: quantity must be positive")
    if price <= 0 or not price.is_finite():
        out.append(f"INV-15 {w}: unit price {price} must be positive")
        return out
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRICE_PLACES:
        out.append(f"INV-15 {w}: unit price {price} has more than {PRICE_PLACES} decimals")
    product = round_fraction(Fraction(price) * qty / 10)  # yuan x thousandths -> fen
    if abs(product - line.amount) > 1:
        out.append(
            f"INV-16 {w}: unit price {price} x quantity gives {_y(product)}, "
            f"more than 0.01 from the amount {_y(line.amount)}"
        )
    return out


def _check_pairs(lines: Sequence[InvoiceLine]) -> list[str]:
    """INV-05, INV-11 and INV-13 for each (被折扣行, 折扣行) pair."""
    out = []
    for goods, disc in pairwise(lines):
        if goods.kind != LineKind.DISCOUNTED or disc.kind != LineKind.DISCOUNT:
            continue
        w = _where(disc)
        for field in ("line_id", "name", "tax_code", "rate", "flags"):
            if getattr(goods, field) != getattr(disc, field):
                out.append(
                    f"INV-05 {w}: {field} {getattr(disc, field)!r} differs from its 被折扣行 line "
                    f"{goods.no} ({getattr(goods, field)!r})"
                )
        for label, d, g in (("amount", disc.amount, goods.amount), ("tax", disc.tax, goods.tax)):
            if abs(d) > g:
                out.append(f"INV-11 {w}: {label} {_y(d)} exceeds the 被折扣行's {_y(g)}")
        if abs(disc.gross) > goods.gross:
            out.append(f"INV-11 {w}: discount {_y(-disc.gross)} exceeds the line's {_y(goods.gross)}")
        if disc.gross == -goods.gross and (disc.amount, disc.tax) != (-goods.amount, -goods.tax):
            out.append(
                f"INV-13 {w}: a 100% discount must copy the 被折扣行 negated: "
                f"{_y(-goods.amount)} / {_y(-goods.tax)}, not {_y(disc.amount)} / {_y(disc.tax)}"
            )
    return out


# --------------------------------------------------------------------------- against the sale


def _check_items(lines: Sequence[InvoiceLine], request: Request, evaluation: Evaluation) -> list[str]:
    """INV-07, INV-08, INV-23, INV-27: one goods line (and at most one discount line) per basket line."""
    out = []
    goods = [(i, line) for i, line in enumerate(lines) if line.kind != LineKind.DISCOUNT]
    got = [line.line_id for _, line in goods]
    want = [line.id for line in request.lines]
    if got != want:
        out.append(f"INV-07 invoice: goods lines are for {got}, but the basket in receipt order is {want}")
    for i, line in enumerate(lines):
        if line.kind == LineKind.DISCOUNT and i > 0 and line.line_id != lines[i - 1].line_id:
            out.append(
                f"INV-07 {_where(line)}: belongs to line {lines[i - 1].no}'s item, not {line.line_id!r}"
            )
    outcomes = {o.line_id: o for o in evaluation.lines}
    requested = {line.id: line for line in request.lines}
    for i, line in goods:
        item, outcome = requested.get(line.line_id), outcomes.get(line.line_id)
        if item is None or outcome is None:
            out.append(f"INV-07 {_where(line)}: {line.line_id!r} is not a line of this sale")
            continue
        disc = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].kind == LineKind.DISCOUNT else None
        out += _check_item(line, disc, item, outcome)
    return out


def _check_item(goods: InvoiceLine, disc: InvoiceLine | None, item: Line, outcome: LineOutcome) -> list[str]:
    out = []
    w = _where(goods)
    for field, want in (
        ("name", item.name),
        ("tax_code", item.tax_code),
        ("rate", item.tax),
        ("spec", item.spec),
        ("unit", item.unit),
        ("quantity", item.quantity),
    ):
        if getattr(goods, field) != want:
            tag = "INV-27" if field == "rate" else "INV-07"
            out.append(f"{tag} {w}: {field} {getattr(goods, field)!r} is not the basket line's {want!r}")
    if goods.gross != outcome.amount:
        out.append(
            f"INV-23 {w}: amount including tax {_y(goods.gross)} is not the line's {_y(outcome.amount)}"
        )
    if outcome.discount == 0 and goods.kind != LineKind.NORMAL:
        out.append(f"INV-12 {w}: the line has no discount, so it must be a normal line (kind 0)")
    if outcome.discount != 0 and (goods.kind != LineKind.DISCOUNTED or disc is None):
        out.append(
            f"INV-23 {w}: the line has {_y(outcome.discount)} of discounts but no discount line carries them"
        )
    if disc is not None and disc.gross != -outcome.discount:
        out.append(
            f"INV-23 {_where(disc)}: carries {_y(-disc.gross)} but the line's discounts total "
            f"{_y(outcome.discount)}"
        )
    return out


def _check_evaluation(request: Request, evaluation: Evaluation) -> list[str]:
    """INV-22..INV-26 on the evaluation the invoice is built from (its own books must balance)."""
    out = []
    prices = {line.id: line for line in request.lines}
    by_source: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)  # source -> line -> (share, base)
    for o in evaluation.lines:
        where = f"basket line {o.line_id!r}"
        item = prices.get(o.line_id)
        if item is not None and o.amount != line_amount(item.unit_price, item.quantity):
            out.append(f"INV-23 {where}: amount {_y(o.amount)} is not round-half-up(unit price x quantity)")
        if sum(d.fen for d in o.discounts) != o.discount:
            out.append(
                f"INV-23 {where}: its discounts sum to {_y(sum(d.fen for d in o.discounts))}, "
                f"not {_y(o.discount)}"
            )
        if o.net != o.amount - o.discount:
            out.append(f"INV-23 {where}: net {_y(o.net)} is not {_y(o.amount)} - {_y(o.discount)}")
        if o.discount > o.amount:
            out.append(f"INV-25 {where}: discount {_y(o.discount)} exceeds the line's {_y(o.amount)}")
        remaining = o.amount
        for d in o.discounts:
            if d.fen <= 0:
                out.append(
                    f"INV-25 {where}: {d.source} takes {_y(d.fen)}; "
                    "shares are positive and 0.00 is not listed"
                )
            if d.kind in ("coupon", "points"):
                by_source[d.source][o.line_id] = (d.fen, remaining)
            remaining -= d.fen
    net = sum(o.amount - o.discount for o in evaluation.lines)
    if evaluation.payable != net:
        out.append(f"INV-22 sale: payable {_y(evaluation.payable)} is not the lines' net total {_y(net)}")
    if evaluation.discount != sum(o.discount for o in evaluation.lines):
        out.append(f"INV-24 sale: discount {_y(evaluation.discount)} is not the sum of the lines' discounts")
    values = {f"coupon:{c.code}": c.discount for c in evaluation.coupons if c.accepted}
    if evaluation.redemption.value:
        values["points"] = evaluation.redemption.value
    for source in sorted(set(values) | set(by_source)):
        shares = by_source.get(source, {})
        total = sum(share for share, _ in shares.values())
        if total != values.get(source, 0):
            out.append(f"INV-24 {source}: shares sum to {_y(total)} but it took {_y(values.get(source, 0))}")
        out += _check_proportional(source, shares)
    return out


def _check_proportional(source: str, shares: dict[str, tuple[int, int]]) -> list[str]:
    """INV-26 as far as the evaluation shows it: no share above its rounded-up pro-rata part.

    The eligible set may include lines whose part rounded to 0 fen, which only lowers
    each line's part, so ceil(V x base_k / sum of the shown bases) bounds every share.
    """
    value = sum(share for share, _ in shares.values())
    bases = sum(base for _, base in shares.values())
    out = []
    for line_id, (share, base) in shares.items():
        if share > base:
            out.append(
                f"INV-25 {source} on basket line {line_id!r}: share {_y(share)} "
                f"exceeds what was left, {_y(base)}"
            )
        elif bases and share > -(-value * base // bases):
            out.append(
                f"INV-26 {source} on basket line {line_id!r}: share {_y(share)} is more than its "
                f"pro-rata part of {_y(value)} ({_y(base)} of {_y(bases)}) rounded up"
            )
    return out


def _check_totals(invoice: Invoice, evaluation: Evaluation) -> list[str]:
    """INV-13, INV-20, INV-21, INV-22 and the per-rate totals."""
    out = []
    lines = invoice.lines
    je, se = sum(line.amount for line in lines), sum(line.tax for line in lines)
    t = invoice.totals
    if (t.amount, t.tax, t.gross) != (je, se, je + se):
        out.append(
            f"INV-20 totals: HJJE {_y(t.amount)} / HJSE {_y(t.tax)} / JSHJ {_y(t.gross)} are not the lines' "
            f"{_y(je)} / {_y(se)} / {_y(je + se)}"
        )
    if t.gross <= 0:
        out.append(f"INV-13 totals: JSHJ {_y(t.gross)} must be above 0.00; refuse the invoice instead")
    if t.gross != evaluation.payable:
        out.append(
            f"INV-22 totals: JSHJ {_y(t.gross)} is not what the customer pays, {_y(evaluation.payable)}"
        )
    exact = sum((line.amount * line.rate.rate for line in lines), Fraction(0))
    limit = min(_CUMULATIVE_LIMIT, len(lines))
    if abs(t.tax - exact) > limit:
        shown_exact = Decimal(exact.numerator) / Decimal(exact.denominator) / 100
        out.append(
            f"INV-21 totals: HJSE {_y(t.tax)} is more than {_y(limit)} "
            f"from sum(amount x rate) {shown_exact:.4f}"
        )
    groups: dict[TaxRate, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        groups[line.rate][0] += line.amount
        groups[line.rate][1] += line.tax
    shown = {r.rate: r for r in invoice.by_rate}
    if len(shown) != len(invoice.by_rate) or set(shown) != set(groups):
        out.append(
            f"INV-20 totals per rate: rates {[str(r) for r in shown]} "
            f"are not the lines' {[str(r) for r in groups]}"
        )
    for rate, (a, x) in groups.items():
        r = shown.get(rate)
        if r is not None and (r.amount, r.tax, r.gross) != (a, x, a + x):
            out.append(
                f"INV-20 totals at {rate}: {_y(r.amount)} / {_y(r.tax)} / {_y(r.gross)} are not the lines' "
                f"{_y(a)} / {_y(x)} / {_y(a + x)}"
            )
    return out
