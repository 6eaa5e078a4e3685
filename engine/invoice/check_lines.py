"""The full report on an invoice's lines: INV-01..INV-20, INV-23 and INV-27, one sentence per violation.

:func:`engine.invoice.check.check_invoice` comes here when its fast test
(:mod:`engine.invoice.check_fast`) cannot vouch for an invoice: the lines are walked
once, every invariant is tested on each, and a sentence naming the invariant and the
line (``INV-10 line 4 (折扣行 of 'b2' 大豆油5L): ...``) is written for each broken one.
The sentences go to one list per family (structure, line, pair, item); the per-rate
sums feed the totals checks of :mod:`engine.invoice.check_sale`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from engine.invoice.build import TAX_CODE_DIGITS, InvoiceLine, LineKind
from engine.invoice.tax import PRICE_PLACES, TaxFlags, check_rate, tax_flags
from engine.model import Evaluation, Line, LineOutcome, Request, TaxRate
from engine.money import format_fen, round_half_up

__all__ = [
    "GOOD_CODES",
    "MAX_FEN",
    "RATE_FACTS",
    "LinesFound",
    "check_lines",
    "is_good_code",
    "rate_facts",
    "where",
]

MAX_FEN = 10**14  # 12 integer digits of yuan (INV-14)
_y = format_fen
_KINDS = (0, 1, 2)
_NORMAL, _DISCOUNT, _DISCOUNTED = LineKind.NORMAL, LineKind.DISCOUNT, LineKind.DISCOUNTED


class LinesFound:
    """What one pass over the lines found: the sentences per family, and the sums the totals need."""

    __slots__ = ("items", "pairs", "per_line", "per_rate", "structure")

    def __init__(self) -> None:
        self.structure: list[str] = []
        self.per_line: list[str] = []
        self.pairs: list[str] = []
        self.items: list[str] = []
        self.per_rate: dict[int, list] = {}  # id(rate) -> [rate, amount, tax, p, q]


GOOD_CODES: set[str] = set()
"""Tax codes already seen to be 19 ASCII digits (a store sells a bounded set of goods)."""

RATE_FACTS: dict[int, tuple[TaxRate, str, TaxFlags, int, int, int]] = {}
"""Per TaxRate object: (rate, check_rate's complaint or "", its flags, p, q, q + p) for r = p/q."""
_FACTS_LIMIT = 512


def rate_facts(rate: TaxRate) -> tuple[TaxRate, str, TaxFlags, int, int, int]:
    """Worked out once per rate object (kept alive by the entry, so its id is not reused)."""
    try:
        check_rate(rate)
        problem = ""
    except ValueError as exc:
        problem = str(exc)
    r = rate.rate
    facts = (rate, problem, tax_flags(rate), r.numerator, r.denominator, r.denominator + r.numerator)
    if len(RATE_FACTS) >= _FACTS_LIMIT:
        RATE_FACTS.clear()
    RATE_FACTS[id(rate)] = facts
    return facts


_EIGHT_PLACES = Decimal(1).scaleb(-PRICE_PLACES)


def check_lines(
    lines: Sequence[InvoiceLine], request: Request, requested: dict[str, Line], evaluation: Evaluation
) -> LinesFound | list[str]:
    """INV-01..INV-20 and INV-23, INV-27 line by line; the INV-19 sentences alone when a value is inexact.

    Where a family of checks has several conditions, one combined test runs first and
    the function that writes the sentences (re-testing each condition) only on failure.
    """
    found = LinesFound()
    structure, per_line, pairs, items = found.structure, found.per_line, found.pairs, found.items
    per_rate = found.per_rate
    outcomes = {o.line_id: o for o in evaluation.lines}
    codes = GOOD_CODES
    got: list[str] = []  # the goods lines' basket ids, in order (INV-07)
    misplaced: list[str] = []  # discount lines that follow another item's line (INV-07)
    pending = None  # the last goods line, checked against its basket line once its successor is known
    pending_discount = None  # its basket line's discount, or None when the goods line alone is wrong
    prev = None
    prev_discounted = False  # the previous line is a 被折扣行
    pje = pse = ph = 0  # the previous line's amount, tax and gross
    for i, line in enumerate(lines):
        je, se, h, kind, rate, qty, price = (
            line.amount, line.tax, line.gross, line.kind, line.rate, line.quantity, line.unit_price_excl
        )  # fmt: skip
        facts = RATE_FACTS.get(id(rate))
        if facts is None or facts[0] is not rate:
            if not (isinstance(rate, TaxRate) and isinstance(rate.rate, Fraction)):
                return _check_types(lines)
            facts = rate_facts(rate)
        if not (
            type(je) is int
            and type(se) is int
            and type(h) is int
            and (qty is None or type(qty) is int)
            and (price is None or type(price) is Decimal)
        ):
            typing = _check_types(lines)
            if typing:
                return typing
        _, problem, flags, p, q, qp = facts
        is_discount = kind == _DISCOUNT

        # structure: INV-01..INV-04 and the 1-based numbering (§3 S10)
        if line.no != i + 1:
            structure.append(f"INV-08 {where(line)}: numbered {line.no}, expected {i + 1}")
        if kind not in _KINDS:
            structure.append(f"INV-01 {where(line)}: kind {kind!r} is not 0, 1 or 2")
        elif is_discount:
            if i == 0:
                structure.append(f"INV-02 {where(line)}: the first line cannot be a discount line")
            elif not prev_discounted:
                structure.append(f"INV-03 {where(line)}: a discount line must directly follow its 被折扣行")
        elif prev_discounted:
            structure.append(
                f"INV-03 {where(prev)}: a 被折扣行 must be directly followed by its discount line"
            )

        # the line alone: signs, precision, tax formula, price (INV-05, 06, 09, 10, 12, 14..18, 20)
        if h != je + se:
            per_line.append(
                f"INV-20 {where(line)}: amount {_y(je)} + tax {_y(se)} != amount including tax {_y(h)}"
            )
        if not -MAX_FEN < je < MAX_FEN:
            per_line.append(f"INV-14 {where(line)}: amount {_y(je)} has more than 12 integer digits")
        if not -MAX_FEN < se < MAX_FEN:
            per_line.append(f"INV-14 {where(line)}: tax {_y(se)} has more than 12 integer digits")
        if problem:
            per_line.append(f"INV-17 {where(line)}: {problem}")
        if line.flags is not flags and line.flags != flags:
            per_line.append(
                f"INV-05 {where(line)}: flags {line.flags} do not match rate {rate}: expected {flags}"
            )
        code = line.tax_code
        if code not in codes and not is_good_code(code):
            per_line.append(f"INV-05 {where(line)}: tax code {code!r} is not {TAX_CODE_DIGITS} digits")
        if is_discount:
            if je >= 0 or se > 0 or h == 0 or line.spec or line.unit or qty is not None or price is not None:
                _check_discount_line(line, per_line)
        else:
            if je <= 0:
                per_line.append(f"INV-09 {where(line)}: amount {_y(je)} must be positive")
            if se < 0:
                per_line.append(f"INV-09 {where(line)}: tax {_y(se)} must not be negative")
            if qty is not None or price is not None:
                _check_price(line, qty, price, je, per_line)
        expected = round_half_up(h * p, qp)
        if se != expected:
            per_line.append(
                f"INV-17 {where(line)}: tax {_y(se)} on {_y(h)} at {rate} should be {_y(expected)} "
                "(round-half-up(H x r / (1 + r)))"
            )
        # INV-18 follows from INV-17 and INV-20 when r < 1: se is within 1/2 of H.r/(1+r), so
        # je.r - se = (1+r)(H.r/(1+r) - se) is within (1+r)/2 < 1 and its rounding within 1.
        # It is worked out whenever either of them fails (or for an impossible rate).
        if se == expected and h == je + se and p < q:
            pass
        elif (drift := round_half_up(je * p, q) - se) > 1 or drift < -1:
            per_line.append(
                f"INV-18 {where(line)}: amount x rate differs from the tax {_y(se)} "
                f"by {_y(abs(drift))}, over 0.01"
            )

        # the (被折扣行, 折扣行) pair: INV-05, INV-11, INV-13 (the same conditions as _check_pair)
        if (
            is_discount
            and prev_discounted
            and not (
                line.line_id == prev.line_id
                and line.name == prev.name
                and line.tax_code == prev.tax_code
                and (rate is prev.rate or rate == prev.rate)
                and (line.flags is prev.flags or line.flags == prev.flags)
                and -pje <= je <= pje
                and -pse <= se <= pse
                and -ph <= h <= ph
                and (h != -ph or (je == -pje and se == -pse))
            )
        ):
            _check_pair(prev, line, pairs)

        # against the basket: INV-07, INV-12, INV-23, INV-27 (the same conditions as _check_item)
        if pending is not None:
            if (
                pending_discount is None
                or (pending_discount and not (prev_discounted and is_discount))
                or (is_discount and h != -pending_discount)
            ):
                _check_item(pending, line if is_discount else None, requested, outcomes, items)
            pending = None
        if not is_discount:
            line_id = line.line_id
            got.append(line_id)
            pending = line
            item, outcome = requested.get(line_id), outcomes.get(line_id)
            pending_discount = (
                outcome.discount
                if item is not None
                and outcome is not None
                and line.name == item.name
                and code == item.tax_code
                and (rate is item.tax or rate == item.tax)
                and line.spec == item.spec
                and line.unit == item.unit
                and qty == item.quantity
                and h == outcome.amount
                and (kind == _NORMAL or outcome.discount != 0)
                else None
            )
        elif i > 0 and line.line_id != prev.line_id:
            misplaced.append(f"INV-07 {where(line)}: belongs to line {prev.no}'s item, not {line.line_id!r}")

        # sums for the totals
        group = per_rate.get(id(rate))
        if group is None:
            per_rate[id(rate)] = [rate, je, se, p, q]
        else:
            group[1] += je
            group[2] += se
        prev, prev_discounted, pje, pse, ph = line, kind == _DISCOUNTED, je, se, h
    if pending is not None and (pending_discount is None or pending_discount):
        _check_item(pending, None, requested, outcomes, items)
    last = lines[-1]
    if last.kind == _DISCOUNTED:
        structure.append(f"INV-04 {where(last)}: the last line cannot be a 被折扣行")
    if len(lines) == 1 and last.kind != _NORMAL:
        structure.append(f"INV-04 {where(last)}: a one-line invoice must be a normal line")
    want = [line.id for line in request.lines]
    if got != want:
        misplaced.insert(
            0, f"INV-07 invoice: goods lines are for {got}, but the basket in receipt order is {want}"
        )
    found.items = misplaced + items
    return found


def is_good_code(code: str) -> bool:
    """Whether ``code`` is a 19-digit 商品和服务税收分类编码 (INV-05); a good one is remembered."""
    if code in GOOD_CODES:
        return True
    if not (len(code) == TAX_CODE_DIGITS and code.isascii() and code.isdigit()):
        return False
    if len(GOOD_CODES) >= 4096:
        GOOD_CODES.clear()
    GOOD_CODES.add(code)
    return True


def where(line: InvoiceLine) -> str:
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
            out.append(f"INV-19 {where(line)}: {', '.join(bad)} must be exact (int fen, Fraction, Decimal)")
    return out


def _check_discount_line(line: InvoiceLine, out: list[str]) -> None:
    """INV-10, INV-12 and INV-06 on a discount line."""
    je, se, h = line.amount, line.tax, line.gross
    if je >= 0:
        out.append(f"INV-10 {where(line)}: amount {_y(je)} must be negative on a discount line")
    if se > 0:
        out.append(f"INV-10 {where(line)}: tax {_y(se)} must be zero or negative on a discount line")
    if h == 0:
        out.append(f"INV-12 {where(line)}: a 0.00 discount line must not be emitted")
    present = [f for f in ("spec", "unit") if getattr(line, f)]
    present += [f for f in ("quantity", "unit_price_excl") if getattr(line, f) is not None]
    if present:
        out.append(f"INV-06 {where(line)}: a discount line must have no {', '.join(present)}")


def _check_price(
    line: InvoiceLine, qty: int | None, price: Decimal | None, amount: int, out: list[str]
) -> None:
    """INV-15 and INV-16 on a goods line that has a quantity or a unit price."""
    if qty is None or price is None:
        out.append(f"INV-15 {where(line)}: quantity and unit price must both be given or both be empty")
        return
    if qty <= 0:
        out.append(f"INV-15 {where(line)}: quantity must be positive")
    if price <= 0 or not price.is_finite():
        out.append(f"INV-15 {where(line)}: unit price {price} must be positive")
        return
    if not price.same_quantum(_EIGHT_PLACES):  # the usual 8 places need no closer look
        exponent = price.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -PRICE_PLACES:
            out.append(f"INV-15 {where(line)}: unit price {price} has more than {PRICE_PLACES} decimals")
    n, d = price.as_integer_ratio()  # exact
    product = round_half_up(n * qty, d * 10)  # yuan x thousandths -> fen
    if product - amount > 1 or amount - product > 1:
        out.append(
            f"INV-16 {where(line)}: unit price {price} x quantity gives {_y(product)}, "
            f"more than 0.01 from the amount {_y(amount)}"
        )


def _check_pair(goods: InvoiceLine, disc: InvoiceLine, out: list[str]) -> None:
    """INV-05, INV-11 and INV-13 for a (被折扣行, 折扣行) pair."""
    for field in ("line_id", "name", "tax_code", "rate", "flags"):
        if getattr(goods, field) != getattr(disc, field):
            out.append(
                f"INV-05 {where(disc)}: {field} {getattr(disc, field)!r} differs from its 被折扣行 line "
                f"{goods.no} ({getattr(goods, field)!r})"
            )
    for label, d, g in (("amount", disc.amount, goods.amount), ("tax", disc.tax, goods.tax)):
        if abs(d) > g:
            out.append(f"INV-11 {where(disc)}: {label} {_y(d)} exceeds the 被折扣行's {_y(g)}")
    if abs(disc.gross) > goods.gross:
        out.append(f"INV-11 {where(disc)}: discount {_y(-disc.gross)} exceeds the line's {_y(goods.gross)}")
    if disc.gross == -goods.gross and (disc.amount != -goods.amount or disc.tax != -goods.tax):
        out.append(
            f"INV-13 {where(disc)}: a 100% discount must copy the 被折扣行 negated: "
            f"{_y(-goods.amount)} / {_y(-goods.tax)}, not {_y(disc.amount)} / {_y(disc.tax)}"
        )


def _check_item(
    goods: InvoiceLine,
    disc: InvoiceLine | None,
    requested: dict[str, Line],
    outcomes: dict[str, LineOutcome],
    out: list[str],
) -> None:
    """INV-07, INV-12, INV-23, INV-27: a goods line (and its discount line) against its basket line."""
    item, outcome = requested.get(goods.line_id), outcomes.get(goods.line_id)
    if item is None or outcome is None:
        out.append(f"INV-07 {where(goods)}: {goods.line_id!r} is not a line of this sale")
        return
    if not (
        goods.name == item.name
        and goods.tax_code == item.tax_code
        and (goods.rate is item.tax or goods.rate == item.tax)
        and goods.spec == item.spec
        and goods.unit == item.unit
        and goods.quantity == item.quantity
    ):
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
                out.append(
                    f"{tag} {where(goods)}: {field} {getattr(goods, field)!r} "
                    f"is not the basket line's {want!r}"
                )
    if goods.gross != outcome.amount:
        out.append(
            f"INV-23 {where(goods)}: amount including tax {_y(goods.gross)} is not the line's "
            f"{_y(outcome.amount)}"
        )
    discount = outcome.discount
    if discount == 0 and goods.kind != _NORMAL:
        out.append(f"INV-12 {where(goods)}: the line has no discount, so it must be a normal line (kind 0)")
    if discount != 0 and (goods.kind != _DISCOUNTED or disc is None):
        out.append(
            f"INV-23 {where(goods)}: the line has {_y(discount)} of discounts "
            "but no discount line carries them"
        )
    if disc is not None and disc.gross != -discount:
        out.append(
            f"INV-23 {where(disc)}: carries {_y(-disc.gross)} but the line's discounts total {_y(discount)}"
        )
