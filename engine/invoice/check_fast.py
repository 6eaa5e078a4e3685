"""The checker's fast path: does an invoice hold every §11 invariant? "Yes", or "look closer".

:func:`engine.invoice.check.check_invoice` runs on every invoice the service hands
out, and almost all of them are sound. So before the full report (which tests each
invariant on its own and words each violation) it asks :func:`invoice_holds`, which
tests the same invariants in the fewest operations and may say "yes" only when the
report would find nothing:

* it walks the basket line by line, once for the evaluation's books and once taking
  each basket line's goods line and discount line together, so the structure
  (INV-01..INV-04, INV-07, INV-08) is the walk itself;
* where the report compares values it may demand more: the same rate and flags
  *objects* as the basket line, prices with exactly 8 places, unique line ids. A sound
  invoice the builder did not make may fail such a test; the report then clears it;
* INV-18 is not recomputed: it follows from INV-17 and INV-20 for any rate below 100%
  (see :mod:`engine.invoice.check_lines`), and every known rate is.

Each condition below names the invariant it stands for; tests/engine/test_invoice_check_fast.py
holds the whole to "yes implies the report finds nothing" on thousands of broken invoices.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from operator import attrgetter

from engine.invoice.build import Invoice, InvoiceLine, LineKind
from engine.invoice.check_lines import GOOD_CODES, MAX_FEN, RATE_FACTS, is_good_code, rate_facts
from engine.invoice.check_sale import CUMULATIVE_LIMIT, SHARED
from engine.invoice.tax import PRICE_PLACES
from engine.model import Evaluation, Line, LineOutcome, Request, TaxRate

__all__ = ["invoice_holds"]

_NORMAL, _DISCOUNT, _DISCOUNTED = LineKind.NORMAL, LineKind.DISCOUNT, LineKind.DISCOUNTED
_EIGHT_PLACES = Decimal(1).scaleb(-PRICE_PLACES)
_UNSET = object()  # no line's rate
_ID = attrgetter("id")
_SHARED = frozenset(SHARED)


def invoice_holds(
    invoice: Invoice, request: Request, evaluation: Evaluation, max_lines: int, part: bool = False
) -> bool:
    """True when ``invoice`` holds every invariant for this sale; False when the full report must look.

    A refused invoice, or one with nothing to check, always goes to the report. ``part``
    is the report's: one invoice of a split sale, whose coupon and points shares are
    checked over the whole sale instead.
    """
    lines, items, outcomes = invoice.lines, request.lines, evaluation.lines
    if (
        invoice.refused
        or not lines
        or len(lines) > max_lines  # INV-30
        or len(items) != len(outcomes)
        or len(set(map(_ID, items))) != len(items)  # the report looks lines up by id
    ):
        return False
    if not _books_balance(items, outcomes, evaluation, part):
        return False
    sums = _lines_hold(lines, items, outcomes)
    return sums is not None and _totals_hold(invoice, evaluation, sums)


def _books_balance(
    items: Sequence[Line], outcomes: Sequence[LineOutcome], evaluation: Evaluation, part: bool = False
) -> bool:
    """INV-22..INV-26 on the evaluation alone, as :func:`~.invoice_check_sale.check_evaluation` has them."""
    shared: dict[str, list] = {}  # source -> [last basket line, sum of shares, sum of bases, [(share, base)]]
    net = discount = 0
    for k, (item, o) in enumerate(zip(items, outcomes, strict=True)):
        amount, taken = o.amount, o.discount
        x = item.unit_price * item.quantity
        if o.line_id != item.id or x < 0 or amount != (2 * x + 1000) // 2000:  # INV-23: round-half-up
            return False
        remaining = amount
        for source, kind, fen in o.discounts:
            if fen <= 0:  # INV-25: shares are positive
                return False
            if kind in _SHARED:
                acc = shared.get(source)
                if acc is None:
                    shared[source] = [k, fen, remaining, [(fen, remaining)]]
                elif acc[0] == k:  # twice on one line: the report keeps only the last, so let it judge
                    return False
                else:
                    acc[0] = k
                    acc[1] += fen
                    acc[2] += remaining
                    acc[3].append((fen, remaining))
            remaining -= fen
        left = amount - taken
        if amount - remaining != taken or o.net != left or taken > amount:  # INV-23, INV-25
            return False
        net += left
        discount += taken
    if evaluation.payable != net or evaluation.discount != discount:  # INV-22, INV-24
        return False
    if part:  # one invoice of a split sale: the shares add up over the whole sale, checked there
        return True
    values = {f"coupon:{c.code}": c.discount for c in evaluation.coupons if c.accepted}
    if evaluation.redemption.value:
        values["points"] = evaluation.redemption.value
    if len(values) != len(shared):
        return False
    for source, (_, value, bases, shares) in shared.items():
        if source not in values or value != values[source]:  # INV-24
            return False
        for share, base in shares:  # INV-25, INV-26: within what was left and the rounded-up pro-rata part
            if share > base or (bases and share > -(-value * base // bases)):
                return False
    return True


def _lines_hold(
    lines: Sequence[InvoiceLine], items: Sequence[Line], outcomes: Sequence[LineOutcome]
) -> dict[int, list] | None:
    """INV-01..INV-20, INV-23 and INV-27, basket line by basket line; the per-rate sums, or None.

    The sums are ``id(rate) -> [rate, amount, tax, p, q]`` for r = p/q.
    """
    n = len(lines)
    codes = GOOD_CODES
    sums: dict[int, list] = {}
    rate: object = _UNSET
    group: list | None = None
    flags = None
    p = q = qp = qp2 = ga = gx = 0  # ga, gx: amount and tax at the current rate, not yet in its group
    i = 0  # lines taken so far
    for item, o in zip(items, outcomes, strict=True):
        if i >= n:
            return None
        g = lines[i]
        i += 1
        je, se, h, qty, price = g.amount, g.tax, g.gross, g.quantity, g.unit_price_excl
        if not (type(je) is int and type(se) is int and type(h) is int):  # INV-19
            return None
        if g.rate is not rate:  # a new rate: fold the last one's running sums into its group
            if group is not None:
                group[1] += ga
                group[2] += gx
            ga = gx = 0
            rate = g.rate
            facts = RATE_FACTS.get(id(rate))
            if facts is None or facts[0] is not rate:
                if not (isinstance(rate, TaxRate) and isinstance(rate.rate, Fraction)):  # INV-19
                    return None
                facts = rate_facts(rate)
            _, problem, flags, p, q, qp = facts
            if problem or p >= q:  # INV-17: a known rate; INV-18 then follows from INV-17 and INV-20
                return None
            qp2 = 2 * qp
            group = sums.get(id(rate))
            if group is None:
                group = sums[id(rate)] = [rate, 0, 0, p, q]
        taken = o.discount
        code = g.tax_code
        if (
            g.no != i  # INV-08
            or g.kind is not (_NORMAL if taken == 0 else _DISCOUNTED)  # INV-01, INV-12, INV-23
            or h != je + se  # INV-20
            or je <= 0  # INV-09
            or se < 0
            or je >= MAX_FEN  # INV-14
            or se >= MAX_FEN
            or se != (2 * h * p + qp) // qp2  # INV-17: round-half-up(H x p, q + p), H > 0
            or (g.flags is not flags and g.flags != flags)  # INV-05
            or rate is not item.tax  # INV-27
            or g.line_id != item.id  # INV-07
            or g.name != item.name
            or code != item.tax_code
            or g.spec != item.spec
            or g.unit != item.unit
            or qty != item.quantity
            or h != o.amount  # INV-23
            or (code not in codes and not is_good_code(code))  # INV-05
            or type(qty) is not int  # INV-19, INV-15: a positive quantity, a price of exactly 8 places
            or qty <= 0
            or type(price) is not Decimal
            or not price.same_quantum(_EIGHT_PLACES)
        ):
            return None
        pn, pd = price.as_integer_ratio()  # exact; finite, as it has 8 places
        product = (2 * pn * qty + 10 * pd) // (20 * pd)  # round-half-up(price x qty / 10): fen
        if pn <= 0 or product - je > 1 or je - product > 1:  # INV-15: positive; INV-16: within a fen
            return None
        if taken != 0:
            if i >= n:  # INV-04
                return None
            d = lines[i]
            i += 1
            dje, dse, dh = d.amount, d.tax, d.gross
            if not (
                type(dje) is int  # INV-19
                and type(dse) is int
                and type(dh) is int
                and d.no == i  # INV-08
                and d.kind is _DISCOUNT  # INV-01..INV-03
                and d.rate is rate  # INV-05 (and its rate's facts are the goods line's)
                and (d.flags is flags or d.flags == flags)
                and d.line_id == g.line_id
                and d.name == g.name
                and d.tax_code == code
                and not d.spec  # INV-06
                and not d.unit
                and d.quantity is None
                and d.unit_price_excl is None
                and dh == dje + dse  # INV-20
                and dje < 0  # INV-10
                and dse <= 0
                and dh == -taken  # INV-23 (and INV-12: not 0.00, as taken is not)
                and dje >= -je  # INV-11, which also keeps INV-14
                and dse >= -se
                and dh >= -h
                and (dh != -h or (dje == -je and dse == -se))  # INV-13
                and dse == -((qp - 2 * dh * p) // qp2)  # INV-17 below zero: minus the tax of -H
            ):
                return None
            je += dje
            se += dse
        ga += je
        gx += se
    if i != n or group is None:  # INV-07: no line beyond the basket's
        return None
    group[1] += ga
    group[2] += gx
    return sums


def _totals_hold(invoice: Invoice, evaluation: Evaluation, sums: dict[int, list]) -> bool:
    """INV-13, INV-20..INV-22 and the rate rows, as :func:`~.invoice_check_sale.check_totals` has them."""
    je = se = 0
    exact_num, exact_den = 0, 1  # sum(amount x rate) = exact_num / exact_den, in fen
    for _, a, x, p, q in sums.values():
        je += a
        se += x
        exact_num, exact_den = exact_num * q + a * p * exact_den, exact_den * q
    t = invoice.totals
    limit = min(CUMULATIVE_LIMIT, len(invoice.lines))
    if (
        t.amount != je  # INV-20
        or t.tax != se
        or t.gross != je + se
        or t.gross <= 0  # INV-13
        or t.gross != evaluation.payable  # INV-22
        or abs(t.tax * exact_den - exact_num) > limit * exact_den  # INV-21
    ):
        return False
    by_rate = invoice.by_rate
    if len(by_rate) != len(sums):
        return False
    if len(sums) > 1 and len({(p, q, rate.exemption) for rate, _, _, p, q in sums.values()}) != len(sums):
        return False  # equal rates held by different objects: the report merges them
    seen = set()
    for r in by_rate:
        group = sums.get(id(r.rate))
        if group is None or group[0] is not r.rate or id(r.rate) in seen:
            return False
        seen.add(id(r.rate))
        _, a, x, _, _ = group
        if r.amount != a or r.tax != x or r.gross != a + x:  # INV-20 per rate
            return False
    return True
