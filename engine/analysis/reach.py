"""Rules and coupons that can never act: never applies, unseen values, shadowed, never wins.

Each check proves its finding (see :mod:`engine.analysis.logic`): when a formula is too big
to decide, nothing is reported. Rules and coupons are keyed by id; when rulesets are split
into campaigns, a finding's subject gains the campaign and nothing here changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from math import ceil

from engine.analysis.findings import Finding
from engine.analysis.logic import Literal, Term, Unsat, dnf, satisfiable, validity_literals
from engine.rules import (
    AmountOff,
    BasketOff,
    BonusPoints,
    Coupon,
    Expr,
    MemberPrice,
    PercentOff,
    PointsMultiplier,
    Rule,
    Ruleset,
    Validity,
)

__all__ = ["Known", "reach_findings"]

_ITEM_TEXT = ("item.sku", "item.category", "item.brand")
_NEGATED = {">=": "<", "<=": ">", "<": ">=", ">": "<=", "in": "not in"}


@dataclass(frozen=True, slots=True)
class Known:
    """The item values examples and past sales have shown: field name -> values."""

    values: dict[str, frozenset[str]]

    @classmethod
    def of(cls, ruleset: Ruleset, extra: dict[str, Iterable[str]] | None = None) -> Known:
        found: dict[str, set[str]] = {k: set() for k in (*_ITEM_TEXT, "item.tags")}
        for example in ruleset.examples:
            for line in example.lines:
                found["item.sku"].add(line.sku)
                found["item.category"].add(line.category)
                found["item.brand"].add(line.brand)
                found["item.tags"].update(line.tags)
        for key, values in (extra or {}).items():
            found.setdefault(key, set()).update(values)
        return cls({k: frozenset(v) for k, v in found.items()})

    def any(self) -> bool:
        return any(self.values.values())


@dataclass(frozen=True, slots=True)
class _Subject:
    """A rule or coupon with what makes it act (``live``) and the lines it may touch (``lines``)."""

    what: str  # "rule 'x'" / "coupon 'C'"
    id: str
    node: Rule | Coupon
    live: Expr | None
    lines: Expr | None
    validity: Validity


def _subjects(ruleset: Ruleset) -> list[_Subject]:
    out = []
    for r in ruleset.rules:
        lines = r.condition if r.stage == "item" else getattr(r.effect, "over", None)
        out.append(_Subject(f"rule '{r.id}'", r.id, r, r.condition, lines, r.validity))
    for c in ruleset.coupons:
        out.append(_Subject(f"coupon '{c.id}'", c.id, c, None, c.applies_to, c.validity))
    return out


def _terms(s: _Subject, ranks: dict[str, int]) -> tuple[Term, ...] | None:
    """Every way ``s`` can act on a line, as conjunctions; None when too big to expand."""
    live = dnf(s.live, ranks)
    lines = dnf(s.lines, ranks) if s.lines is not s.live else ((),)
    if live is None or lines is None:
        return None
    window = validity_literals(s.validity)
    return tuple(window + a + b for a in live for b in lines)


def _not_live(rule: Rule, ranks: dict[str, int]) -> tuple[Term, ...] | None:
    """The negation of "``rule`` is live and matches the line"."""
    negated = dnf(rule.condition, ranks, negate=True)
    if negated is None:
        return None
    window = tuple(
        (Literal(lit.key, _NEGATED.get(lit.op, lit.op), lit.value, lit.span),)
        for lit in validity_literals(rule.validity)
    )
    return negated + window


def _never(terms: Iterable[Term], tiers: int) -> Unsat | None:
    """The first reason when no term can hold (an empty disjunction never holds); None when one can."""
    first = None
    terms = list(terms)
    if not terms:
        return Unsat("it never holds", Literal("", "", None))
    for term in terms:
        try:
            satisfiable(term, tiers)
        except Unsat as exc:
            first = first or exc
            continue
        return None
    return first


def reach_findings(ruleset: Ruleset, as_of: date | None, known: Known) -> list[Finding]:
    """Every never-applies, unseen-value, shadowed and never-wins finding of ``ruleset``."""
    ranks = {t.id: t.rank for t in ruleset.tiers}
    tiers = len(ruleset.tiers)
    out: list[Finding] = []
    dead: set[str] = set()
    for s in _subjects(ruleset):
        found = list(_dead(s, ranks, tiers, as_of, known))
        if found:
            dead.add(s.what)
        out.extend(found)
    out.extend(_shadowed(ruleset, ranks, tiers, dead))
    out.extend(_never_wins(ruleset, ranks, tiers, dead))
    return out


def _dead(
    s: _Subject, ranks: dict[str, int], tiers: int, as_of: date | None, known: Known
) -> Iterator[Finding]:
    v = s.validity
    if as_of is not None and v.date_to is not None and v.date_to < as_of:
        yield Finding(
            "never_applies",
            s.id,
            f"{s.what} can never apply: its window ended on {v.date_to}, before {as_of}",
            v.span or s.node.span,
            "remove it, or move its dates",
        )
        return
    terms = _terms(s, ranks)
    if terms is None:
        return
    why = _never(terms, tiers)
    if why is not None:
        yield Finding(
            "never_applies",
            s.id,
            f"{s.what} can never apply: {why.reason}",
            why.literal.span or s.node.span,
            "its conditions contradict each other (or its window); fix or remove them",
        )
        return
    if not known.any():
        return
    unseen: Literal | None = None
    for term in terms:
        try:
            satisfiable(term, tiers)
        except Unsat:
            continue
        missing = _unseen(term, known)
        if missing is None:
            return  # one way to act reads only values we have seen
        unseen = unseen or missing
    if unseen is not None:
        field = unseen.key.removeprefix("item.")
        shown = sorted(unseen.value) if isinstance(unseen.value, frozenset) else unseen.value
        yield Finding(
            "unseen_value",
            s.id,
            f"{s.what} asks for {field} {shown!r}, which no example or past sale has",
            unseen.span or s.node.span,
            "check the spelling, or add an example with such a line",
        )


def _unseen(term: Term, known: Known) -> Literal | None:
    for lit in term:
        seen = known.values.get(lit.key)
        if not seen:
            continue
        if lit.op == "=" and lit.value not in seen:
            return lit
        if lit.op == "in" and not (lit.value & seen):  # type: ignore[operator]
            return lit
        if lit.op == "has" and lit.key == "item.tags" and lit.value not in seen:
            return lit
    return None


def _order(rule: Rule) -> tuple[int, int]:
    return (-rule.priority, rule.order)


def _locks_every_line(e: Rule) -> bool:
    """An exclusive item rule that takes at least a fen from any line it matches."""
    if not e.exclusive or e.group is not None or e.stage != "item":
        return False
    if "Aggregate(" in repr(e.condition):
        return False  # measured at its own moment: not comparable with a later rule's
    return isinstance(e.effect, (PercentOff, AmountOff))


def _shadowed(ruleset: Ruleset, ranks: dict[str, int], tiers: int, dead: set[str]) -> Iterator[Finding]:
    lockers = [r for r in ruleset.rules if _locks_every_line(r)]
    if not lockers:
        return
    for s in _subjects(ruleset):
        node = s.node
        if s.what in dead or (isinstance(node, Rule) and node.stage == "points"):
            continue
        terms = _terms(s, ranks)
        if terms is None:
            continue
        for e in lockers:
            if e is node or (isinstance(node, Rule) and node.stage == "item" and _order(e) >= _order(node)):
                continue
            negated = _not_live(e, ranks)
            if negated is None or len(terms) * len(negated) > 4096:
                continue
            if _never((a + b for a in terms for b in negated), tiers) is None:
                continue
            small = ""
            if isinstance(e.effect, PercentOff) and e.effect.rate < 1 / 2:
                small = f" (a line under {ceil(1 / (2 * e.effect.rate))} fen escapes it by rounding)"
            yield Finding(
                "shadowed",
                s.id,
                f"{s.what} is shadowed: exclusive rule '{e.id}' runs first and locks every line it could "
                f"touch{small}",
                node.span,
                f"lower '{e.id}' or narrow its condition, or remove {s.what}",
            )
            break


def _strength(rule: Rule) -> tuple[object, ...] | None:
    """What best-of compares, for members of one kind: (kind, key, value); None: not comparable."""
    e = rule.effect
    if isinstance(e, PercentOff):
        return ("percent", None, e.rate)
    if isinstance(e, AmountOff):
        return ("amount", None, e.per_unit)
    if isinstance(e, MemberPrice):
        return ("price", None, -e.price)
    if isinstance(e, PointsMultiplier):
        return ("factor", None, e.factor)
    if isinstance(e, BonusPoints):
        return ("bonus", repr(e.over), e.points)
    if isinstance(e, BasketOff):
        return ("basket", repr(e.over), e.amount)
    return None


def _never_wins(ruleset: Ruleset, ranks: dict[str, int], tiers: int, dead: set[str]) -> Iterator[Finding]:
    groups: dict[str, list[Rule]] = {}
    for rule in sorted(ruleset.rules, key=_order):
        if rule.group is not None:
            groups.setdefault(rule.group, []).append(rule)
    for name, members in groups.items():
        for k, m in enumerate(members):
            if f"rule '{m.id}'" in dead:
                continue
            mine = _strength(m)
            if mine is None:
                continue
            terms = dnf(m.condition, ranks)
            if terms is None:
                continue
            terms = tuple(validity_literals(m.validity) + t for t in terms)
            for j, d in enumerate(members):
                theirs = _strength(d)
                if d is m or theirs is None or theirs[:2] != mine[:2]:
                    continue
                # Ties go to the first member. An earlier member giving at least as much always wins; a
                # later one only when more is always strictly more: points are exact, but fen rounding
                # (or the cap at what is left) can tie two different discounts on a small line.
                if j < k:
                    beats = theirs[2] >= mine[2]
                else:
                    beats = mine[0] in ("factor", "bonus") and theirs[2] > mine[2]
                if not beats:
                    continue
                negated = _not_live(d, ranks)
                if negated is None or _never((a + b for a in terms for b in negated), tiers) is None:
                    continue
                yield Finding(
                    "never_wins",
                    m.id,
                    f"rule '{m.id}' can never win best-of group \"{name}\": rule '{d.id}' applies whenever "
                    f"it does and gives at least as much",
                    m.span,
                    f"remove it, or make it better than '{d.id}' somewhere",
                )
                break
