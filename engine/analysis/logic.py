"""Conditions as sets of literals: negation, disjunctive normal form, satisfiability.

A condition of the ruleset language compares one field (or one basket measure) with
constants, so a conjunction of such comparisons is decided exactly by intersecting, per
field, an integer interval with allowed and excluded value sets. That is all the analysis
needs, and it is why there is no SMT solver here: z3 would decide the same formulas, and
would cost a 30 MB dependency and a translation layer for nothing the domains below miss.

Formulas are kept in DNF (a tuple of conjunctions). Expanding a big disjunction can blow
up; past :data:`MAX_TERMS` terms the answer is ``None`` ("unknown"), and every caller then
assumes the condition *can* hold, so a finding is only ever reported when it is proved.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, time

from engine.rules import (
    Aggregate,
    And,
    Compare,
    Const,
    Expr,
    Field,
    Has,
    In,
    IsBirthday,
    Not,
    Or,
    Validity,
)
from engine.spans import Span

__all__ = ["MAX_TERMS", "Literal", "Unsat", "dnf", "on_day", "pick", "satisfiable", "validity_literals"]

MAX_TERMS = 512

_FLIP = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRROR = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

# Fields whose values are whole numbers in a known range.
_RANGES: dict[str, tuple[int, int]] = {
    "weekday": (0, 6),
    "day_of_month": (1, 31),
    "month": (1, 12),
    "hour": (0, 23),
    "basket.line_count": (1, 10**9),
    "item.price": (1, 10**12),
}


@dataclass(frozen=True, slots=True)
class Literal:
    """``key op value``; ``key`` is a field name, an aggregate's repr, or a special word.

    ``op`` is a comparison, ``in``/``not in`` (value: frozenset), ``has``/``lacks`` (tags),
    or ``is``/``is not`` for birthdays; ``span`` is where it was written.
    """

    key: str
    op: str
    value: object
    span: Span | None = None


Term = tuple[Literal, ...]


class Unsat(Exception):
    """A conjunction that no basket satisfies; ``literal`` is the one that emptied a domain."""

    def __init__(self, reason: str, literal: Literal) -> None:
        super().__init__(reason)
        self.reason = reason
        self.literal = literal


def dnf(expr: Expr | None, tier_ranks: dict[str, int], negate: bool = False) -> tuple[Term, ...] | None:
    """``expr`` (or its negation) as a disjunction of conjunctions; None past MAX_TERMS terms."""
    if expr is None:
        return () if negate else ((),)
    try:
        return _dnf(expr, tier_ranks, negate)
    except _TooBig:
        return None


class _TooBig(Exception):
    pass


def _and(parts: list[tuple[Term, ...]]) -> tuple[Term, ...]:
    out: tuple[Term, ...] = ((),)
    for part in parts:
        out = tuple(a + b for a in out for b in part)
        if len(out) > MAX_TERMS:
            raise _TooBig
    return out


def _or(parts: list[tuple[Term, ...]]) -> tuple[Term, ...]:
    out = tuple(t for p in parts for t in p)
    if len(out) > MAX_TERMS:
        raise _TooBig
    return out


def _dnf(e: Expr, ranks: dict[str, int], neg: bool) -> tuple[Term, ...]:
    if isinstance(e, (And, Or)):
        parts = [_dnf(i, ranks, neg) for i in e.items]
        return _and(parts) if isinstance(e, And) != neg else _or(parts)
    if isinstance(e, Not):
        return _dnf(e.item, ranks, not neg)
    lit = _literal(e, ranks, neg)
    return ((lit,),) if lit is not None else ((),)


def _literal(e: Expr, ranks: dict[str, int], neg: bool) -> Literal | None:
    """One atom; None for an atom the domains cannot read (it then constrains nothing)."""
    if isinstance(e, Compare):
        left, right, op = e.left, e.right, e.op
        if isinstance(left, Const) and not isinstance(right, Const):
            left, right, op = right, left, _MIRROR[op]
        key = _key(left)
        if key is None or not isinstance(right, Const):
            return None
        value = _value(right, ranks)
        if value is None:
            return None
        return Literal(key, _FLIP[op] if neg else op, value, e.span)
    if isinstance(e, In):
        key = _key(e.subject)
        values = [_value(v, ranks) for v in e.values]
        if key is None or any(v is None for v in values):
            return None
        inside = e.negated == neg
        return Literal(key, "in" if inside else "not in", frozenset(values), e.span)
    if isinstance(e, Has):
        if not isinstance(e.value.value, str):
            return None
        return Literal(e.subject.name, "lacks" if neg else "has", e.value.value, e.span)
    if isinstance(e, IsBirthday):
        return Literal(f"birthday:{e.scope}", "is not" if neg else "is", True, e.span)
    return None


def _key(e: Expr) -> str | None:
    if isinstance(e, Field):
        return e.name
    if isinstance(e, Aggregate):
        return f"{e.kind}({e.where!r})"
    return None


def _value(c: Const, ranks: dict[str, int]) -> object:
    v = c.value
    if c.type == "tier":
        return ranks.get(str(v))
    if isinstance(v, date):
        return v.toordinal()
    if isinstance(v, time):
        return v.hour * 3600 + v.minute * 60 + v.second
    return v


def validity_literals(v: Validity) -> Term:
    """A validity window as literals on ``date``, ``weekday`` and ``time``."""
    out: list[Literal] = []
    if v.date_from is not None:
        out.append(Literal("date", ">=", v.date_from.toordinal(), v.span))
    if v.date_to is not None:
        out.append(Literal("date", "<=", v.date_to.toordinal(), v.span))
    if v.weekdays is not None:
        out.append(Literal("weekday", "in", frozenset(v.weekdays), v.span))
    if v.hours is not None:
        start, end = (_value(Const(t, "time"), {}) for t in v.hours)
        out.append(Literal("time", ">=", start, v.span))
        out.append(Literal("time", "<", end, v.span))
    return tuple(out)


# --------------------------------------------------------------------------- satisfiability


class _Domain:
    """What one key may still be: an integer interval, allowed and excluded values."""

    def __init__(self, key: str, tiers: int) -> None:
        lo, hi = _RANGES.get(key, (None, None))
        if key == "member.tier":
            lo, hi = 0, tiers - 1
        elif key.startswith(("subtotal(", "count(", "quantity(")):
            lo, hi = 0, None
        elif key == "time":
            lo, hi = 0, 86399
        self.key, self.lo, self.hi = key, lo, hi
        self.allowed: frozenset | None = None
        self.excluded: set = set()

    def add(self, lit: Literal) -> None:
        op, v = lit.op, lit.value
        if op in ("in", "="):
            values = v if op == "in" else frozenset([v])
            self.allowed = values if self.allowed is None else self.allowed & values  # type: ignore[operator]
        elif op in ("not in", "!="):
            self.excluded |= v if op == "not in" else {v}  # type: ignore[operator]
        elif isinstance(v, int) and not isinstance(v, bool):
            if op in (">", ">="):
                bound = v + 1 if op == ">" else v
                self.lo = bound if self.lo is None else max(self.lo, bound)
            else:
                bound = v - 1 if op == "<" else v
                self.hi = bound if self.hi is None else min(self.hi, bound)
        if self.empty():
            raise Unsat(self.reason(), lit)

    def values(self) -> list[int] | None:
        """Every value left when the domain is a small finite set, else None."""
        if self.allowed is not None:
            return sorted(v for v in self.allowed if self._inside(v) and v not in self.excluded)
        if self.lo is not None and self.hi is not None and self.hi - self.lo <= 1000:
            return [v for v in range(self.lo, self.hi + 1) if v not in self.excluded]
        return None

    def _inside(self, v: object) -> bool:
        if not isinstance(v, int) or isinstance(v, bool):
            return True
        return (self.lo is None or v >= self.lo) and (self.hi is None or v <= self.hi)

    def empty(self) -> bool:
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            return True
        values = self.values()
        return values is not None and not values

    def reason(self) -> str:
        return f"no value of {_name(self.key)} meets all of its conditions here"


def _name(key: str) -> str:
    return key.split("(", 1)[0] + "(...)" if "(" in key else key


def satisfiable(term: Term, tiers: int) -> None:
    """Raise :class:`Unsat` when no basket meets every literal of ``term``."""
    domains: dict[str, _Domain] = {}
    tags: dict[tuple[str, str], tuple[str, Literal]] = {}
    for lit in term:
        if lit.op in ("has", "lacks", "is", "is not"):
            key = (lit.key, str(lit.value))
            seen = tags.get(key)
            if seen is not None and seen[0] != lit.op:
                raise Unsat(f"{lit.key} cannot both {seen[0]} and {lit.op} {lit.value!r}", lit)
            tags[key] = (lit.op, lit)
            continue
        domain = domains.get(lit.key)
        if domain is None:
            domain = domains[lit.key] = _Domain(lit.key, tiers)
        domain.add(lit)
    _calendar(domains, term)


def _calendar(domains: dict[str, _Domain], term: Term) -> None:
    """A short date window must contain a day whose weekday, day and month are allowed."""
    dates = domains.get("date")
    days = dates.values() if dates is not None else None
    if days is None:
        return
    fits = {k: domains[k].values() for k in ("weekday", "day_of_month", "month") if k in domains}
    for ordinal in days:
        d = date.fromordinal(ordinal)
        seen = {"weekday": d.weekday(), "day_of_month": d.day, "month": d.month}
        if all(allowed is None or seen[k] in allowed for k, allowed in fits.items()):
            return
    last = next(lit for lit in reversed(term) if lit.key in ("date", "weekday", "day_of_month", "month"))
    raise Unsat("no day of its date window falls on the days it asks for", last)


# --------------------------------------------------------------------------- a model


def pick(term: Term, tiers: int) -> dict[str, object]:
    """A concrete value for every key of a satisfiable conjunction (:class:`Unsat` when none)."""
    satisfiable(term, tiers)
    domains: dict[str, _Domain] = {}
    out: dict[str, object] = {}
    for lit in term:
        if lit.op == "has":
            tags = out.setdefault(f"{lit.key}+", set())
            assert isinstance(tags, set)
            tags.add(lit.value)
        elif lit.op == "is":
            out[lit.key] = True
        elif lit.op not in ("lacks", "is not"):
            domain = domains.get(lit.key)
            if domain is None:
                domain = domains[lit.key] = _Domain(lit.key, tiers)
            domain.add(lit)
    for key, d in domains.items():
        values = d.values()
        if values:
            out[key] = values[-1] if key == "member.tier" else values[0]
        elif d.lo is not None:
            out[key] = next(v for v in itertools.count(d.lo) if v not in d.excluded)
        elif d.hi is not None:
            out[key] = next(v for v in itertools.count(d.hi, -1) if v not in d.excluded)
        else:
            out[key] = next(f"w{k}" for k in itertools.count() if f"w{k}" not in d.excluded)
    if "date" in domains:
        out["date"] = _calendar_day(domains["date"].values() or [out["date"]], out)  # type: ignore[list-item]
    return out


def _calendar_day(days: list[int], values: dict[str, object]) -> int:
    for ordinal in days[:4000]:
        d = date.fromordinal(ordinal)
        if on_day(d, values):
            return ordinal
    return days[0]


def on_day(d: date, values: dict[str, object]) -> bool:
    """``d`` falls on the weekday, day of month and month ``values`` pick (those it picks)."""
    return all(
        values.get(k) in (None, seen)
        for k, seen in (("weekday", d.weekday()), ("day_of_month", d.day), ("month", d.month))
    )
