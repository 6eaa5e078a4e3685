"""VAT arithmetic for invoice lines: exact price-tax separation, unit prices and rate flags.

Retail prices are tax inclusive, so every invoice line starts from a tax-inclusive
amount H (fen) and splits it as ``se = round-half-up(H x r / (1 + r))``, ``je = H - se``
(VAT-DISCOUNT-LINES.md §6). Everything is integer or ``Fraction`` arithmetic, rounded
only by :func:`engine.money.round_half_up`, so the split is odd-symmetric: the tax of
``-H`` is exactly minus the tax of ``H``, which keeps discount lines consistent with
their goods lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, Rounded
from fractions import Fraction

from engine.model import TaxRate
from engine.money import round_half_up

__all__ = [
    "EXEMPTIONS",
    "KNOWN_RATES",
    "PRICE_PLACES",
    "RateTerms",
    "TaxFlags",
    "check_rate",
    "known_terms",
    "rate_label",
    "rate_terms",
    "split_inclusive",
    "tax_exclusive",
    "tax_flags",
    "tax_inclusive",
    "unit_price_excl",
]

KNOWN_RATES: tuple[Fraction, ...] = tuple(
    Fraction(p) / 100 for p in ("13", "9", "6", "5", "3", "1.5", "1", "0")
)
"""The rates a device or the 数电 platform accepts (general and small-scale taxpayers, §8)."""

EXEMPTIONS: tuple[str, ...] = ("", "zero_rated", "exempt", "non_taxable")
"""``TaxRate.exemption`` values, in the order invoices list them."""

PRICE_PLACES = 8
"""Decimals of the tax-exclusive unit price: the 金税盘 limit, which 数电 (13) also accepts."""

_PRICE_FACTOR = 10 * 10**PRICE_PLACES  # fen per thousandth -> yuan per unit, in units of 1e-8
_TWICE_FACTOR = 2 * _PRICE_FACTOR


@dataclass(frozen=True, slots=True)
class TaxFlags:
    """The flags a 0% line carries, repeated verbatim on its discount line (§3 S5, §8).

    ``zero_rate`` is the 税控 零税率标识 ("" taxed, "1" 免税, "2" 不征税, "3" 普通零税率);
    ``preferential`` the 优惠政策标识 ("1" when a preferential policy applies, else "0");
    ``special`` the 增值税特殊管理 text; ``yhzcbs`` the 数电 code ("03" 免税, "04" 不征税).
    """

    zero_rate: str = ""
    preferential: str = "0"
    special: str = ""
    yhzcbs: str = ""


_FLAGS = {
    "": TaxFlags(),
    "zero_rated": TaxFlags(zero_rate="3"),
    "exempt": TaxFlags(zero_rate="1", preferential="1", special="免税", yhzcbs="03"),
    "non_taxable": TaxFlags(zero_rate="2", preferential="1", special="不征税", yhzcbs="04"),
}

_LABELS = {"exempt": "免税", "non_taxable": "不征税"}


def check_rate(rate: TaxRate) -> None:
    """Refuse a rate no invoice channel accepts, or an exemption on a taxed rate.

    ``ValueError`` names the rates we know, so the caller can point at the field.
    """
    if not isinstance(rate.rate, Fraction) or rate.rate not in KNOWN_RATES:
        known = ", ".join(TaxRate.KNOWN)
        raise ValueError(f"unknown tax rate {rate.rate!s}; use one of {known}")
    if rate.exemption not in EXEMPTIONS:
        raise ValueError(
            f"unknown exemption {rate.exemption!r}; use one of exempt, non_taxable, zero_rated or none"
        )
    if rate.exemption and rate.rate != 0:
        raise ValueError(f"exemption {rate.exemption!r} needs a 0% rate, not {rate_label(rate)}")


def tax_flags(rate: TaxRate) -> TaxFlags:
    """The 零税率标识 / 优惠政策标识 set for ``rate``; a bare 0% reads as 普通零税率."""
    if rate.rate == 0 and not rate.exemption:
        return _FLAGS["zero_rated"]
    return _FLAGS[rate.exemption]


def rate_label(rate: TaxRate) -> str:
    """How finance reads a rate: "13%", "1.5%", "0%", "免税", "不征税"."""
    if rate.exemption in _LABELS:
        return _LABELS[rate.exemption]
    pct = rate.rate * 100
    if pct.denominator == 1:
        return f"{pct.numerator}%"
    return f"{Decimal(pct.numerator) / Decimal(pct.denominator)}%"


def tax_inclusive(gross: int, rate: Fraction) -> int:
    """Tax in fen inside a tax-inclusive amount: round-half-up(gross x r / (1 + r)).

    With r = p/q the factor r/(1+r) is p/(q+p), so this is one exact integer division.
    """
    p, q = rate.numerator, rate.denominator
    return round_half_up(gross * p, q + p)


def split_inclusive(gross: int, rate: Fraction) -> tuple[int, int]:
    """Split a tax-inclusive amount into (amount excluding tax, tax), both fen, summing to ``gross``."""
    tax = tax_inclusive(gross, rate)
    return gross - tax, tax


def tax_exclusive(amount: int, rate: Fraction) -> int:
    """Tax in fen on a tax-exclusive amount: round-half-up(amount x r) (the §12 vectors)."""
    return round_half_up(amount * rate.numerator, rate.denominator)


def unit_price_excl(amount: int, quantity: int) -> Decimal:
    """Tax-exclusive unit price in yuan to exactly 8 places, half up: ``amount`` fen per ``quantity``.

    Derived from the line amount, never the other way round (§7), so
    ``|price x quantity - amount|`` stays within a cent for any till quantity.
    """
    if quantity <= 0:
        raise ValueError(f"a unit price needs a positive quantity, not {quantity}")
    # yuan = fen / 100, units = thousandths / 1000: price = fen * 10 / thousandths yuan
    if amount >= 0:  # round_half_up's common case, inline: every goods line comes through here
        scaled = (amount * _TWICE_FACTOR + quantity) // (2 * quantity)
    else:
        scaled = round_half_up(amount * _PRICE_FACTOR, quantity)
    return _exact_multiply(_PRICE_UNIT, scaled)


_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact, Rounded])
"""A context in which arithmetic never rounds (and would raise rather than round): whatever the
caller's context, a price gets exactly its digits."""
_PRICE_UNIT = Decimal(1).scaleb(-PRICE_PLACES)

_exact_multiply = _EXACT.multiply  # scaled x 1E-8 exactly: twice as fast as reading "{scaled}E-8"


@dataclass(frozen=True, slots=True)
class RateTerms:
    """What an invoice needs of one valid rate, worked out once: for r = p/q the tax inside
    a tax-inclusive H >= 0 is round-half-up(H x p, q + p) = (2 x H x p + qp) // qp2, so
    ``p``, ``qp`` (q + p) and ``qp2`` (2 (q + p)) are all the arithmetic needs. ``flags``,
    ``order`` (the per-rate totals' sort key) and ``key`` come along: ``key`` is equal for
    equal rates and, unlike a ``TaxRate`` (whose ``Fraction`` hashes in Python), cheap to hash.
    """

    rate: TaxRate
    p: int
    qp: int
    qp2: int
    flags: TaxFlags
    order: tuple[Fraction, int]
    key: tuple[int, int, str]


_TERMS: dict[int, RateTerms] = {}
"""Terms by ``id`` of the TaxRate (each entry keeps its rate alive, so an id is never reused)."""
_TERMS_LIMIT = 512  # requests parse rates through a cache, so a handful of objects recur

known_terms = _TERMS.get
"""``known_terms(id(rate))``: the :class:`RateTerms` cached for a rate object, or None.

For a hot loop that cannot afford a call to :func:`rate_terms` per line; the caller
must check ``terms.rate is rate`` (an id can be reused once its entry is gone).
"""


def rate_terms(rate: TaxRate) -> RateTerms:
    """The :class:`RateTerms` of a valid ``rate``; ``ValueError`` (from :func:`check_rate`) otherwise.

    Keyed by identity, not by value: hashing a Fraction costs more than the work saved,
    and requests share the few ``TaxRate`` objects :meth:`TaxRate.parse` hands out.
    """
    terms = _TERMS.get(id(rate))
    if terms is not None and terms.rate is rate:
        return terms
    check_rate(rate)
    r = rate.rate
    p, q = r.numerator, r.denominator
    terms = RateTerms(
        rate,
        p,
        q + p,
        2 * (q + p),
        tax_flags(rate),
        (-r, EXEMPTIONS.index(rate.exemption)),
        (p, q, rate.exemption),
    )
    if len(_TERMS) >= _TERMS_LIMIT:
        _TERMS.clear()
    _TERMS[id(rate)] = terms
    return terms
