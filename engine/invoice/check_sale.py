"""The full report on a sale's books and an invoice's totals: INV-13, INV-20..INV-26, one sentence each.

The evaluation the invoice is built from must balance on its own (line amounts,
discount sums, coupon and points shares and their apportionment), and the invoice's
header and per-rate totals must be the sums of its lines and reconcile with what the
customer pays. :func:`engine.invoice.check.check_invoice` comes here when its fast
test (:mod:`engine.invoice.check_fast`) cannot vouch for an invoice.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from engine.invoice.build import Invoice
from engine.invoice.check_lines import LinesFound
from engine.model import Evaluation, Line, TaxRate
from engine.money import format_fen, line_amount

__all__ = ["CUMULATIVE_LIMIT", "SHARED", "check_evaluation", "check_totals"]

CUMULATIVE_LIMIT = 127  # fen of cumulative tax error per invoice (INV-21)
SHARED = ("coupon", "points")  # discounts shared out over lines (INV-24, INV-26)
_y = format_fen


def check_evaluation(requested: dict[str, Line], evaluation: Evaluation, *, part: bool = False) -> list[str]:
    """INV-22..INV-26 on the evaluation the invoice is built from (its own books must balance).

    With ``part`` the evaluation is the share of one invoice of a split sale: a coupon's or
    the points' shares (INV-24, INV-26) only add up over the whole sale, checked there.
    """
    out: list[str] = []
    by_source: dict[str, dict[str, tuple[int, int]]] = {}  # source -> line -> (share, base)
    net = discount = 0
    for o in evaluation.lines:
        amount, taken, line_id = o.amount, o.discount, o.line_id
        item = requested.get(line_id)
        if item is not None and amount != line_amount(item.unit_price, item.quantity):
            out.append(
                f"INV-23 basket line {line_id!r}: amount {_y(amount)} "
                "is not round-half-up(unit price x quantity)"
            )
        remaining = amount
        unlisted = None
        for d in o.discounts:
            source, kind, fen = d
            if fen <= 0:
                unlisted = [*(unlisted or ()), d]
            if kind in SHARED:
                shares = by_source.get(source)
                if shares is None:
                    by_source[source] = {line_id: (fen, remaining)}
                else:
                    shares[line_id] = (fen, remaining)
            remaining -= fen
        total = amount - remaining
        if total != taken:
            out.append(f"INV-23 basket line {o.line_id!r}: its discounts sum to {_y(total)}, not {_y(taken)}")
        if o.net != amount - taken:
            out.append(f"INV-23 basket line {o.line_id!r}: net {_y(o.net)} is not {_y(amount)} - {_y(taken)}")
        if taken > amount:
            out.append(
                f"INV-25 basket line {o.line_id!r}: discount {_y(taken)} exceeds the line's {_y(amount)}"
            )
        for d in unlisted or ():
            out.append(
                f"INV-25 basket line {o.line_id!r}: {d.source} takes {_y(d.fen)}; "
                "shares are positive and 0.00 is not listed"
            )
        net += amount - taken
        discount += taken
    if evaluation.payable != net:
        out.append(f"INV-22 sale: payable {_y(evaluation.payable)} is not the lines' net total {_y(net)}")
    if evaluation.discount != discount:
        out.append(f"INV-24 sale: discount {_y(evaluation.discount)} is not the sum of the lines' discounts")
    if part:
        return out
    values = {f"coupon:{c.code}": c.discount for c in evaluation.coupons if c.accepted}
    if evaluation.redemption.value:
        values["points"] = evaluation.redemption.value
    sources = sorted(values.keys() | by_source.keys()) if values or by_source else ()
    for source in sources:
        shares = by_source.get(source, {})
        total = sum(share for share, _ in shares.values())
        if total != values.get(source, 0):
            out.append(f"INV-24 {source}: shares sum to {_y(total)} but it took {_y(values.get(source, 0))}")
        _check_proportional(source, shares, out)
    return out


def _check_proportional(source: str, shares: dict[str, tuple[int, int]], out: list[str]) -> None:
    """INV-26 as far as the evaluation shows it: no share above its rounded-up pro-rata part.

    The eligible set may include lines whose part rounded to 0 fen, which only lowers
    each line's part, so ceil(V x base_k / sum of the shown bases) bounds every share.
    """
    value = bases = 0
    for share, base in shares.values():
        value += share
        bases += base
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


def check_totals(invoice: Invoice, evaluation: Evaluation, found: LinesFound) -> list[str]:
    """INV-13, INV-20, INV-21, INV-22 and the per-rate totals."""
    out = []
    lines = invoice.lines
    # the lines' sums per rate (equal rates held by different objects merged here, where there are few)
    groups: dict[TaxRate, list] = {}
    for rate, a, x, p, q in found.per_rate.values():
        seen = groups.get(rate)
        if seen is None:
            groups[rate] = [a, x, p, q]
        else:
            seen[0] += a
            seen[1] += x
    je = se = 0
    exact_num, exact_den = 0, 1  # sum(amount x rate) = exact_num / exact_den, in fen
    for a, x, p, q in groups.values():
        je += a
        se += x
        exact_num, exact_den = exact_num * q + a * p * exact_den, exact_den * q
    t = invoice.totals
    if t.amount != je or t.tax != se or t.gross != je + se:
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
    limit = min(CUMULATIVE_LIMIT, len(lines))
    if abs(t.tax * exact_den - exact_num) > limit * exact_den:
        exact = Fraction(exact_num, exact_den)
        shown_exact = Decimal(exact.numerator) / Decimal(exact.denominator) / 100
        out.append(
            f"INV-21 totals: HJSE {_y(t.tax)} is more than {_y(limit)} "
            f"from sum(amount x rate) {shown_exact:.4f}"
        )
    shown = {r.rate: r for r in invoice.by_rate}
    if len(shown) != len(invoice.by_rate) or shown.keys() != groups.keys():
        out.append(
            f"INV-20 totals per rate: rates {[str(r) for r in shown]} "
            f"are not the lines' {[str(r) for r in groups]}"
        )
    for rate, (a, x, _, _) in groups.items():
        r = shown.get(rate)
        if r is not None and (r.amount != a or r.tax != x or r.gross != a + x):
            out.append(
                f"INV-20 totals at {rate}: {_y(r.amount)} / {_y(r.tax)} / {_y(r.gross)} are not the lines' "
                f"{_y(a)} / {_y(x)} / {_y(a + x)}"
            )
    return out
