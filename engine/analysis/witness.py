"""The witness: a basket built to reach the worst-case bound, and priced by the real engine.

The bound (:mod:`~engine.analysis.worst`) is a path of steps: rules, coupons and the
redemption that can all take from one line. The witness is built from those steps' own
conditions, not guessed:

1. **Conditions.** Each step's conditions (validity window, ``when``, the lines it spreads
   over) are in disjunctive normal form (:mod:`~engine.analysis.logic`); one conjunction per
   step is chosen so that together they are satisfiable, dropping the last steps when no
   choice is, and a concrete value is picked for every field: the target line's SKU,
   category, brand, tags, price and quantity, the member's tier, tags, segment, birthday and
   history, the store, channel, day and hour.
2. **Amounts.** Thresholds and minimum spends are met exactly where the bound assumes it:
   the target line's price is set so that what is left of it just before each 满减, 每满,
   ladder step or coupon equals that threshold (and so that a percent coupon just reaches its
   cap, a fixed amount off a unit takes all of it). Unit forms (买N赠M, 第N件, 任选N件) get a
   dearer line of the same goods in front, so the target line is the unit the rule discounts;
   a gift rule gets the gift SKU as the target and a filler line that meets its threshold.
3. **Every coupon and as many points as the cap lets** are presented on every candidate.

Each candidate is priced by the compiled engine (nothing here computes a discount), and the
line that loses the largest exact share wins; the examples of the ruleset are candidates too.
A last pass nudges the winner's price by a few fen (the fen rounding of each step can cost a
share of a fen). The witness *reaches* the bound only when its exact share equals it; callers
say so, or print both figures. No SMT solver: the conditions are comparisons of one field
with constants, which the domains of :mod:`~engine.analysis.logic` already decide, and the
amounts depend on the engine's own rounding and apportioning, which only the engine computes
exactly; so the search asks the engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from engine.analysis.logic import Term, Unsat, dnf, on_day, pick, validity_literals
from engine.analysis.worst import Bound, Witness, pushed, rule_share, threshold_of
from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from engine.rules import (
    AmountOff,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BuyGet,
    Coupon,
    EveryNth,
    Example,
    ExampleLine,
    ExampleMember,
    Expectation,
    Gift,
    MemberPrice,
    PercentOff,
    Rule,
    Ruleset,
    TableDiscount,
    UnitsFor,
)

__all__ = ["MAX_CANDIDATES", "build_witness"]

MAX_CANDIDATES = 4000  # engine evaluations at most, so a 1,000-rule programme stays quick
_COMBINATIONS = 64  # conjunctions tried per step
_BIG_PRICE = 10_000_000  # 100,000.00: a member price or 任选N件 leaves a vanishing share of it


def build_witness(compiled: CompiledRuleset, worst: Bound | None) -> Witness | None:
    """The basket (built from the bound's steps, or an example) whose one line loses the most."""
    search = _Search(compiled)
    ruleset = compiled.ruleset
    for example in ruleset.examples:
        for candidate in pushed(ruleset, example):
            search.try_(candidate)
    if worst is not None:
        for seed in _seeds(ruleset, worst):
            for candidate in _amounts(ruleset, worst, seed):
                search.try_(candidate)
                if search.reached(worst):
                    return search.best
        search.polish(worst)
    return search.best


class _Search:
    """Prices candidates with the engine and keeps the best line share found."""

    def __init__(self, compiled: CompiledRuleset) -> None:
        self.compiled = compiled
        self.best: Witness | None = None
        self.tried = 0
        self.seen: set[Example] = set()

    def try_(self, candidate: Example) -> None:
        from engine.check.run_examples import example_request

        if self.tried >= MAX_CANDIDATES or candidate in self.seen:
            return
        self.seen.add(candidate)
        self.tried += 1
        try:
            request = example_request(self.compiled.ruleset, candidate, self.compiled.zone)
            result = self.compiled.evaluate(request)
        except (InvalidRequest, ValueError, OverflowError):
            return
        for k, line in enumerate(result.lines):
            if line.amount <= 0:
                continue
            if self.best is None or Fraction(line.discount, line.amount) > self.best.share:
                self.best = Witness(request, candidate, k + 1, line.amount, line.discount, result)

    def reached(self, worst: Bound) -> bool:
        return self.best is not None and self.best.share >= worst.share

    def polish(self, worst: Bound) -> None:
        """Nudge the winning line's price by a few fen: each step rounds to the fen."""
        for _ in range(3):
            w = self.best
            if w is None or self.reached(worst):
                return
            ex, k = w.example, w.line - 1
            line = ex.lines[k]
            for delta in (-3, -2, -1, 1, 2, 3):
                if line.price + delta > 0:
                    lines = (*ex.lines[:k], replace(line, price=line.price + delta), *ex.lines[k + 1 :])
                    self.try_(replace(ex, lines=lines))
            if self.best is w:
                return


# --------------------------------------------------------------------------- 1. conditions


def _steps(ruleset: Ruleset, worst: Bound) -> list[list[Rule | Coupon]]:
    """The bound's rules and coupons in order; a best-of group's step lists its members, best first."""
    rules = {r.id: r for r in ruleset.rules}
    coupons = {f"coupon:{c.id}": c for c in ruleset.coupons}
    out: list[list[Rule | Coupon]] = []
    for source, share in worst.steps:
        if not share or source == "points":
            continue
        if source in coupons:
            out.append([coupons[source]])
            continue
        rule = rules.get(source)
        if rule is None:
            continue
        if rule.group is None:
            out.append([rule])
        else:
            members = [r for r in ruleset.rules if r.group == rule.group and r.stage == rule.stage]
            out.append(sorted(members, key=lambda r: -_form_share(r)))
    return out


def _form_share(rule: Rule | Coupon) -> Fraction:
    return rule_share(rule) if isinstance(rule, Rule) else Fraction(0)


def _terms(node: Rule | Coupon, ranks: dict[str, int]) -> tuple[Term, ...]:
    """Every way ``node`` can act on the target line, as conjunctions (one, unconstrained, if unknown)."""
    if isinstance(node, Coupon):
        parts = [dnf(node.condition, ranks), dnf(node.applies_to, ranks)]
    else:
        over = node.condition if node.stage == "item" else getattr(node.effect, "over", None)
        parts = [dnf(node.condition, ranks), dnf(over, ranks) if over is not node.condition else ((),)]
    window = validity_literals(node.validity)
    known = [p if p is not None else ((),) for p in parts]
    return tuple(window + a + b for a in known[0] for b in known[1])


def _solve(ruleset: Ruleset, steps: list[list[Rule | Coupon]]) -> Iterator[dict[str, object]]:
    """Field values meeting the conditions of as many steps as possible, first to last.

    Greedy, in the bound's order: each step adds the first of its conjunctions that keeps the
    whole satisfiable, or is left out when none does (its share is then not on the path the
    witness can take). Linear in the steps, so a 1,000-rule programme stays quick.
    """
    ranks = {t.id: t.rank for t in ruleset.tiers}
    tiers = len(ruleset.tiers)
    chosen: Term = ()
    values: dict[str, object] = pick(chosen, tiers)
    for step in steps:
        for t in itertools.islice((t for node in step for t in _terms(node, ranks)), _COMBINATIONS):
            term = chosen + tuple(lit for lit in t if not lit.key.startswith(_MEASURES))
            try:
                values = pick(term, tiers)
            except Unsat:
                continue
            chosen = term
            break
    yield values


_MEASURES = ("subtotal(", "gross(", "count(", "quantity(")


def _seeds(ruleset: Ruleset, worst: Bound) -> Iterator[Example]:
    """Baskets of one target line meeting the conditions of the bound's steps (all, or the first ones)."""
    steps = _steps(ruleset, worst)
    base = ruleset.examples[0] if ruleset.examples else None
    for values in _solve(ruleset, steps):
        yield _basket(ruleset, values, base)
    # the steps that take a whole line end its path: a basket for each on its own
    for step in steps:
        if _form_share(step[0]) == 1 and isinstance(step[0], Rule):
            for values in _solve(ruleset, [step]):
                yield _basket(ruleset, values, base)


def _basket(ruleset: Ruleset, v: dict[str, object], base: Example | None) -> Example:
    day = _day(v, base)
    seconds = v.get("time")
    hour = v.get("hour")
    if isinstance(seconds, int):
        at_time = time(seconds // 3600, seconds // 60 % 60, seconds % 60)
    elif isinstance(hour, int):
        at_time = time(hour, 0)
    else:
        at_time = base.at.time() if base is not None else time(10, 0)
    at = datetime.combine(day, at_time)
    tiers = sorted(ruleset.tiers, key=lambda t: t.rank)
    member = None
    if tiers:
        rank = v.get("member.tier", tiers[-1].rank)
        tier = next((t.id for t in tiers if t.rank == rank), tiers[-1].id)
        since = v.get("member.days_since_last_purchase")
        orders = v.get("member.order_count")
        member = ExampleMember(
            tier=tier,
            birthday=date(1990, day.month, min(day.day, 28)) if _birthday(v) else None,
            tags=frozenset(str(t) for t in v.get("member.tags+", ())),  # type: ignore[attr-defined]
            segment=str(v.get("member.segment", "")),
            join_date=_as_date(v.get("member.join_date")),
            last_purchase=day - timedelta(days=since) if isinstance(since, int) else None,
            order_count=orders if isinstance(orders, int) else None,
            lifetime_spend=_int(v.get("member.lifetime_spend")),
            points_balance=_int(v.get("member.points_balance")),
        )
    price = _int(v.get("item.price")) or 10000
    quantity = _int(v.get("item.quantity")) or 1000
    quantity = max(1000, quantity + (-quantity) % 1000)  # whole units: unit forms need them
    line = ExampleLine(
        name="worst-case line",
        price=price,
        quantity=quantity,
        tax=base.lines[0].tax if base is not None and base.lines else "13%",
        sku=str(v.get("item.sku", "")),
        category=str(v.get("item.category", "")),
        brand=str(v.get("item.brand", "")),
        tags=frozenset(str(t) for t in v.get("item.tags+", ())),  # type: ignore[attr-defined]
    )
    return Example(
        "worst case",
        at,
        (line,),
        Expectation(),
        member=member,
        store=str(v.get("basket.store", base.store if base is not None else "")),
        channel=str(v.get("basket.channel", base.channel if base is not None else "")),
    )


def _birthday(v: dict[str, object]) -> bool:
    return bool(v.get("birthday:day") or v.get("birthday:month"))


def _day(v: dict[str, object], base: Example | None) -> date:
    ordinal = v.get("date")
    if isinstance(ordinal, int):
        return date.fromordinal(ordinal)
    start = base.at.date() if base is not None else date(2026, 1, 1)
    for k in range(800):
        d = start + timedelta(days=k)
        if on_day(d, v):
            return d
    return start


def _as_date(value: object) -> date | None:
    return date.fromordinal(value) if isinstance(value, int) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- 2. amounts


def _amounts(ruleset: Ruleset, worst: Bound, seed: Example) -> Iterator[Example]:
    """The seed with its target line priced onto each threshold, and with helper lines."""
    rules = {r.id: r for r in ruleset.rules}
    coupons = {f"coupon:{c.id}": c for c in ruleset.coupons}
    target = seed.lines[0]
    units = target.quantity // 1000
    keep = Fraction(1)  # what is left of the line's amount before the step, as the bound compounds it
    prices: list[int] = [target.price, _BIG_PRICE]
    shapes: list[tuple[ExampleLine, ...]] = [(target,)]
    for source, share in worst.steps:
        node = rules.get(source) or coupons.get(source)
        for t in _thresholds(node) if keep else ():
            amount = t / keep  # the line amount whose remaining is exactly t here
            for fen in (-(-amount.numerator // amount.denominator), amount.numerator // amount.denominator):
                prices.append(max(1, -(-fen // units)))
        if isinstance(node, Rule):
            e = node.effect
            if isinstance(e, AmountOff):
                prices.append(max(1, e.per_unit))
            elif isinstance(e, (BuyGet, EveryNth, UnitsFor)):
                before = {BuyGet: getattr(e, "buy", 0), EveryNth: getattr(e, "n", 1) - 1}.get(type(e), 0)
                group = getattr(e, "n", 0) if isinstance(e, UnitsFor) else before + getattr(e, "get", 1)
                one = replace(target, quantity=1000)
                dear = replace(
                    target, name="dearer line", price=target.price * 2, quantity=1000 * max(1, before)
                )
                shapes.append((dear, one))
                if isinstance(e, UnitsFor):
                    shapes.append(
                        (replace(dear, price=max(1, e.price), quantity=1000 * max(1, group - 1)), one)
                    )
            elif isinstance(e, Gift):
                gift = replace(target, name="gift", sku=e.sku, quantity=1000 * e.qty)
                threshold = max(_thresholds(node), default=0)
                filler = replace(target, name="filler", price=max(1, threshold or target.price))
                shapes.append((gift, filler))
        keep *= 1 - share
    for shape in shapes:
        k = next(i for i, ln in enumerate(shape) if ln.name in ("worst-case line", "gift"))
        for price in dict.fromkeys(prices):
            lines = (*shape[:k], replace(shape[k], price=price), *shape[k + 1 :])
            yield from pushed(ruleset, replace(seed, lines=lines))


def _thresholds(node: Rule | Coupon | None) -> list[Fraction]:
    """The remaining amounts at which ``node`` takes its largest share of them."""
    if isinstance(node, Coupon):
        out = [Fraction(node.min_spend)] if node.min_spend else []
        if node.percent and node.max_value:
            out.append(Fraction(node.max_value) / node.percent)
        return out
    if not isinstance(node, Rule):
        return []
    e = node.effect
    if isinstance(e, BasketOff):
        t = threshold_of(node)
        return [Fraction(t)] if t else []
    if isinstance(e, BasketSteps):
        return [Fraction(t) for t, _ in e.steps if t > 0]
    if isinstance(e, BasketEvery):
        return [Fraction(e.every)]
    if isinstance(e, (PercentOff, TableDiscount, MemberPrice)):
        return []
    t = threshold_of(node)
    return [Fraction(t)] if t else []
