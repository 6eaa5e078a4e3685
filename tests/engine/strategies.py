"""Hypothesis strategies: random but valid IR rulesets and the requests that exercise them.

Values come from small shared pools (categories, brands, tags, days) so that
conditions, validity windows and coupon codes actually hit the baskets generated
against them; everything is type-correct and passes ``engine.evaluate.validate``.

Second-wave forms generated too: percent coupons with and without a cap, coupons with a `when`,
member history fields, ``gross(...)``, ``item.quantity`` and redemption ``applies_to``.

Deliberately not generated (the semantics are open or the checker refuses them):
hours windows that wrap past midnight, best-of groups mixing rules of two stages or
multipliers with bonuses, ``item.*`` outside a line scope.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction

from hypothesis import assume
from hypothesis import strategies as st

from engine.check.units import check_unit_effect
from engine.compile.linefilter import item_source
from engine.model import Line, Member, Request, TaxRate
from engine.money import line_amount
from engine.rules import (
    ALWAYS,
    Aggregate,
    AmountOff,
    And,
    BasketEvery,
    BasketOff,
    BasketSteps,
    BonusPoints,
    BuyGet,
    Compare,
    Const,
    Coupon,
    EveryNth,
    Expr,
    Field,
    Gift,
    Has,
    In,
    IsBirthday,
    MemberPrice,
    NoPoints,
    Not,
    Or,
    PercentOff,
    PointsMultiplier,
    Rule,
    Ruleset,
    Settings,
    TableDiscount,
    Tier,
    UnitsFor,
    Validity,
)

__all__ = ["cases", "conditions", "requests", "rulesets"]

CATEGORIES = ("A", "B", "food", "tobacco", "服装")
BRANDS = ("", "x", "y")
SKUS = ("", "P1", "P2", "P3")
NAMES = ("苹果", "洗发水", "milk")
ITEM_TAGS = ("organic", "fresh", "promo")
MEMBER_IDS = ("", "m1", "m2")
MEMBER_TAGS = ("vip", "new")
SEGMENTS = ("", "important", "sleeping")
STORES = ("", "S001", "S002")
CHANNELS = ("", "pos", "app")
TIER_IDS = ("normal", "silver", "gold", "diamond")
TIMEZONES = ("Asia/Shanghai", "UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")
# transaction days around month ends, 29 February (2028 is leap) and a member day (the 15th)
DAYS = (
    date(2026, 2, 27),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2028, 2, 28),
    date(2028, 2, 29),
    date(2028, 3, 1),
    date(2026, 11, 14),
    date(2026, 11, 15),
    date(2026, 11, 16),
)
BIRTHDAYS = (date(2000, 2, 29), date(1990, 2, 28), date(1985, 3, 1), date(1992, 11, 15), date(1970, 11, 16))
OFFSETS_MIN = (-300, 0, 330, 480, 720, 780)
OPS = ("=", "!=", "<", "<=", ">", ">=")

TEXT_POOLS: dict[str, tuple[str, ...]] = {
    "item.sku": SKUS,
    "item.name": NAMES,
    "item.category": CATEGORIES,
    "item.brand": BRANDS,
    "member.id": MEMBER_IDS,
    "member.segment": SEGMENTS,
    "basket.store": STORES,
    "basket.channel": CHANNELS,
}

day_near = st.builds(lambda d, k: d + timedelta(days=k), st.sampled_from(DAYS), st.integers(-2, 2))
fen = st.one_of(st.integers(1, 500), st.integers(1, 30000), st.sampled_from((100, 1000, 5000, 10000)))
rates = st.one_of(
    st.sampled_from((Fraction(1, 20), Fraction(1, 10), Fraction(3, 20), Fraction(1, 2), Fraction(1))),
    st.integers(1, 100).map(lambda k: Fraction(k, 100)),
    st.integers(1, 1000).map(lambda k: Fraction(k, 1000)),
)
factors = st.sampled_from(
    (Fraction(1), Fraction(3, 2), Fraction(2), Fraction(3), Fraction(5, 4), Fraction(1, 2))
)


# --------------------------------------------------------------------------- conditions


def _maybe_flip(op: str, left: Expr, right: Expr, flip: bool) -> Compare:
    """``a op b`` or, the same meaning, ``b op' a`` with the constant on the left."""
    if not flip:
        return Compare(op, left, right)  # type: ignore[arg-type]
    mirrored = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    return Compare(mirrored, right, left)  # type: ignore[arg-type]


@st.composite
def _leaf(draw: st.DrawFn, item: bool, tiers: tuple[str, ...], depth: int, measures: bool = True) -> Expr:
    kinds = ["text", "in", "has_member", "date", "time", "number", "birthday", "bool", "history", "first"]
    if item:
        kinds += ["text_item", "text_item", "in_item", "has_item", "price", "quantity"]
    if measures:  # the checker refuses a measure inside another measure's condition
        kinds += ["aggregate", "aggregate"] + (["mixed", "mixed", "mixed"] if item else [])
    if tiers:
        kinds += ["tier", "tier_in"]
    kind = draw(st.sampled_from(kinds))
    op = draw(st.sampled_from(OPS))
    flip = draw(st.integers(0, 4)) == 0
    if kind in ("text", "text_item", "in", "in_item"):
        names = [n for n in TEXT_POOLS if n.startswith("item.") == kind.endswith("_item")]
        name = draw(st.sampled_from(names))
        pool = TEXT_POOLS[name]
        if kind.startswith("in"):
            values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
            return In(Field(name), tuple(Const(v, "text") for v in values), negated=draw(st.booleans()))
        return _maybe_flip(
            draw(st.sampled_from(("=", "!="))), Field(name), Const(draw(st.sampled_from(pool)), "text"), flip
        )
    if kind == "has_item":
        return Has(Field("item.tags"), Const(draw(st.sampled_from(ITEM_TAGS)), "text"))
    if kind == "has_member":
        return Has(Field("member.tags"), Const(draw(st.sampled_from(MEMBER_TAGS)), "text"))
    if kind == "price":
        return _maybe_flip(op, Field("item.price"), Const(draw(fen), "money"), flip)
    if kind == "quantity":  # item.quantity in thousandths: whole units and weighed fractions
        value = draw(st.sampled_from((1000, 2000, 1500, 2500, 3000)) | st.integers(1, 5000))
        return _maybe_flip(op, Field("item.quantity"), Const(value, "quantity"), flip)
    if kind == "history":
        name, typ, values = draw(
            st.sampled_from(
                (
                    ("member.days_since_last_purchase", "number", st.integers(0, 120)),
                    ("member.order_count", "number", st.integers(0, 5)),
                    ("member.lifetime_spend", "money", st.integers(0, 200000)),
                    ("member.points_balance", "number", st.integers(0, 20000)),
                )
            )
        )
        return _maybe_flip(op, Field(name), Const(draw(values), typ), flip)
    if kind == "first":
        return Compare("=", Field("member.first_purchase"), Const(True, "bool"))
    if kind == "tier":
        return _maybe_flip(op, Field("member.tier"), Const(draw(st.sampled_from(tiers)), "tier"), flip)
    if kind == "tier_in":
        values = draw(st.lists(st.sampled_from(tiers), min_size=1, max_size=2, unique=True))
        return In(Field("member.tier"), tuple(Const(v, "tier") for v in values), negated=draw(st.booleans()))
    if kind == "date":
        name = draw(st.sampled_from(("date", "member.birthday", "member.join_date")))
        value = draw(day_near if name == "date" else st.sampled_from(BIRTHDAYS + DAYS))
        return _maybe_flip(op, Field(name), Const(value, "date"), flip)
    if kind == "time":
        value = time(draw(st.integers(0, 23)), draw(st.sampled_from((0, 30, 59))))
        return _maybe_flip(op, Field("time"), Const(value, "time"), flip)
    if kind == "number":
        name, lo, hi, typ = draw(
            st.sampled_from(
                (
                    ("day_of_month", 1, 31, "number"),
                    ("month", 1, 12, "number"),
                    ("hour", 0, 23, "number"),
                    ("basket.line_count", 1, 12, "number"),
                    ("weekday", 0, 6, "weekday"),
                )
            )
        )
        return _maybe_flip(op, Field(name), Const(draw(st.integers(lo, hi)), typ), flip)
    if kind == "mixed":
        # a measure read per line (inside `or`, next to an item field): it must see the state
        # just before the rule for every line, not the state after earlier lines were discounted
        line_part = draw(_leaf(item=True, tiers=tiers, depth=0, measures=False))
        measure = Compare(
            draw(st.sampled_from((">=", "<"))), Aggregate("subtotal"), Const(draw(fen), "money")
        )
        return Or((line_part, measure))
    if kind == "birthday":
        return IsBirthday(draw(st.sampled_from(("day", "month"))))
    if kind == "aggregate":
        agg_kind = draw(st.sampled_from(("subtotal", "count", "quantity", "gross")))
        where = draw(st.none() | conditions(item=True, tiers=tiers, depth=max(depth - 1, 0), measures=False))
        if agg_kind in ("subtotal", "gross"):
            bound = Const(draw(st.integers(0, 40000)), "money")
        else:
            bound = Const(draw(st.integers(0, 8)), "number")
        return _maybe_flip(op, Aggregate(agg_kind, where), bound, flip)
    return Const(draw(st.booleans()), "bool")


@st.composite
def conditions(
    draw: st.DrawFn, item: bool, tiers: tuple[str, ...], depth: int = 2, measures: bool = True
) -> Expr:
    """A type-correct condition; ``item`` allows ``item.*`` fields (a line is in scope)."""
    if depth > 0 and draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(("and", "or", "not")))
        if kind == "not":
            return Not(draw(conditions(item, tiers, depth - 1, measures)))
        items = tuple(draw(st.lists(conditions(item, tiers, depth - 1, measures), min_size=2, max_size=3)))
        return And(items) if kind == "and" else Or(items)
    return draw(_leaf(item, tiers, depth, measures))


def _maybe(strategy: st.SearchStrategy, weight: int = 2) -> st.SearchStrategy:
    """``strategy`` about one time in ``weight``, else None."""
    return st.integers(1, weight).flatmap(lambda k: strategy if k == 1 else st.none())


# --------------------------------------------------------------------------- rulesets


@st.composite
def validities(draw: st.DrawFn) -> Validity:
    """Mostly always; otherwise windows around the generated transaction days, both sides hit."""
    if draw(st.integers(0, 2)) != 0:
        return ALWAYS
    date_from = draw(st.none() | day_near)
    date_to = draw(st.none() | day_near)
    if date_from is not None and date_to is not None and date_from > date_to:
        date_from, date_to = date_to, date_from
    weekdays = draw(st.none() | st.frozensets(st.integers(0, 6), min_size=1, max_size=6))
    hours = None
    if draw(st.booleans()):
        start = draw(st.integers(0, 22))
        end = draw(st.integers(start + 1, 24))
        hours = (time(start), time(end) if end < 24 else time(23, 59, 59, 999999))
    return Validity(date_from, date_to, weekdays, hours)


@st.composite
def _table(draw: st.DrawFn, tiers: tuple[str, ...]) -> TableDiscount:
    shapes: list[tuple[str, ...]] = [("item.category",), ("item.brand", "item.category")]
    if tiers:
        shapes.append(("member.tier", "item.category"))
    names = draw(st.sampled_from(shapes))
    pools = {"item.category": CATEGORIES, "item.brand": BRANDS, "member.tier": tiers}
    cells = draw(
        st.dictionaries(st.tuples(*(st.sampled_from(pools[n]) for n in names)), rates, min_size=1, max_size=6)
    )
    return TableDiscount(tuple(Field(n) for n in names), cells)


@st.composite
def _effect(draw: st.DrawFn, stage: str, tiers: tuple[str, ...]):
    over = _maybe(conditions(item=True, tiers=tiers, depth=1))
    if stage == "item":
        return draw(
            st.one_of(
                st.builds(PercentOff, rates),
                st.builds(AmountOff, fen),
                st.builds(MemberPrice, fen),
                _table(tiers),
                _unit_effect(),
            )
        )
    if stage == "basket":
        # a real ladder: a higher threshold gives a larger amount (the checker refuses other ladders)
        steps = st.tuples(
            st.lists(st.integers(1, 30000), min_size=1, max_size=3, unique=True),
            st.lists(fen, min_size=3, max_size=3, unique=True),  # the checker wants rising amounts
        ).map(lambda ta: list(zip(sorted(ta[0]), sorted(ta[1]), strict=False)))
        return draw(
            st.one_of(
                st.builds(BasketOff, fen, over),
                st.builds(lambda s, o: BasketSteps(tuple(sorted(s)), o), steps, over),
                st.builds(BasketEvery, st.integers(100, 20000), fen, over, st.none() | st.integers(1, 3)),
            )
        )
    if stage == "multiplier":
        return PointsMultiplier(draw(factors))
    return BonusPoints(draw(st.integers(1, 500)), draw(over))


def _unit_effect() -> st.SearchStrategy:
    """买N赠M, 第N件X折, 任选N件X元 and 满赠, with and without `max K times`."""
    limit = st.none() | st.integers(1, 3)
    return st.one_of(
        st.builds(BuyGet, st.integers(1, 3), st.integers(1, 2), limit),
        st.builds(EveryNth, st.integers(1, 4), rates, limit),
        st.builds(UnitsFor, st.integers(1, 4), fen, limit),
        st.builds(Gift, st.sampled_from(SKUS[1:]), st.integers(1, 3)),
    )


def _reads_line_only(expr: Expr | None) -> bool:
    """Whether ``expr`` reads the line alone (so a measure may take it as its ``where``)."""
    return expr is None or item_source(expr) is not None


@st.composite
def _rule(draw: st.DrawFn, index: int, tiers: tuple[str, ...]) -> Rule:
    stage = draw(st.sampled_from(("item", "item", "basket", "multiplier", "bonus")))
    effect = draw(_effect(stage, tiers))
    scope_item = stage == "item"
    condition = draw(_maybe(conditions(item=scope_item, tiers=tiers)))
    if stage == "basket" and _reads_line_only(effect.over) and draw(st.integers(0, 2)) == 0:
        # The common 满减 shape: the condition measures the very lines the discount spreads over
        # (the compiled engine then reads that measure from the total it spreads; Threshold.own).
        own = Compare(">=", Aggregate("subtotal", effect.over), Const(draw(st.integers(0, 40000)), "money"))
        condition = own if condition is None else And((condition, own))
    group = draw(_maybe(st.sampled_from((f"{stage}_g0", f"{stage}_g1")), weight=3))
    rule = Rule(
        id=f"r{index}",
        label=f"rule {index}",
        effect=effect,
        condition=condition,
        priority=draw(st.sampled_from((0, 0, 0, 1, 2, -1))),
        group=group,
        exclusive=stage in ("item", "basket") and draw(st.integers(0, 3)) == 0,
        validity=draw(validities()),
        order=index,
    )
    if isinstance(effect, Gift):  # a gift its own line condition rules out is refused by the checker
        refusals = _Refusals()
        check_unit_effect(refusals, rule)
        assume(not refusals.found)
    return rule


class _Refusals:
    """What engine.check.units refuses in one rule (its reporter protocol)."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def fail(self, message: str, span: object, hint: str | None = None) -> None:
        self.found.append(message)

    def rate(self, rate: object, span: object, where: str = "") -> None:
        """Rates are drawn valid here."""


@st.composite
def _coupon(draw: st.DrawFn, index: int, tiers: tuple[str, ...]) -> Coupon:
    percent = draw(_maybe(rates, weight=3))  # a percent coupon, sometimes with a cap
    return Coupon(
        id=f"C{index}",
        label=f"coupon {index}",
        value=0 if percent is not None else draw(fen),
        percent=percent,
        max_value=draw(_maybe(fen)) if percent is not None else None,
        condition=draw(_maybe(conditions(item=False, tiers=tiers, depth=1), weight=3)),
        min_spend=draw(st.sampled_from((0, 0)) | fen),
        applies_to=draw(_maybe(conditions(item=True, tiers=tiers, depth=1))),
        validity=draw(validities()),
        members_only=draw(st.booleans()),
        order=index,
    )


@st.composite
def rulesets(draw: st.DrawFn) -> Ruleset:
    """A valid ruleset using every effect, grouping, exclusivity, validity and settings option."""
    n_tiers = draw(st.integers(0, 4))
    tier_ids = TIER_IDS[:n_tiers]
    tiers = tuple(
        Tier(
            tid,
            tid,
            draw(st.sampled_from((Fraction(1), Fraction(6, 5), Fraction(3, 2), Fraction(2), Fraction(3)))),
            k,
        )
        for k, tid in enumerate(tier_ids)
    )
    settings = Settings(
        timezone=draw(st.sampled_from(TIMEZONES)),
        points_per_yuan=draw(st.sampled_from((Fraction(1), Fraction(2), Fraction(1, 2), Fraction(3, 10)))),
        points_rounding=draw(st.sampled_from(("floor", "half_up", "ceil"))),
        multipliers=draw(st.sampled_from(("multiply", "max", "add"))),
        redeem_points_per_yuan=draw(st.sampled_from((None, 50, 100, 10, 200, 30))),
        redeem_cap=draw(st.sampled_from((Fraction(1), Fraction(1, 2), Fraction(3, 10), Fraction(1, 3)))),
        redeem_applies_to=draw(_maybe(conditions(item=True, tiers=tier_ids, depth=1), weight=3)),
    )
    n_rules = draw(st.integers(0, 8))
    rules = tuple(draw(_rule(k, tier_ids)) for k in range(n_rules))
    no_points = tuple(
        NoPoints(draw(conditions(item=True, tiers=tier_ids, depth=1))) for _ in range(draw(st.integers(0, 2)))
    )
    coupons = tuple(draw(_coupon(k, tier_ids)) for k in range(draw(st.integers(0, 4))))
    shuffled = tuple(draw(st.permutations(coupons)))  # declaration order is Coupon.order, not tuple position
    return Ruleset(
        name="gen",
        settings=settings,
        tiers=tiers,
        rules=tuple(draw(st.permutations(rules))),
        no_points=no_points,
        coupons=shuffled,
        source_text=f"# generated: {n_rules} rules\n",
    )


# --------------------------------------------------------------------------- requests


@st.composite
def _line(draw: st.DrawFn, index: int) -> Line:
    price = draw(
        st.one_of(st.integers(1, 3000), st.integers(1, 50000), st.sampled_from((99, 1280, 5000, 10000)))
    )
    # whole units often (the unit rules see them), and weighed quantities: 2.000 holds 2 units, 1.250 none
    quantity = draw(st.one_of(st.sampled_from((1000, 1000, 2000, 3000, 4000, 6000)), st.integers(1, 5000)))
    if line_amount(price, quantity) == 0:
        quantity = 1000
    return Line(
        id=f"L{index}",
        name=draw(st.sampled_from(NAMES)),
        unit_price=price,
        quantity=quantity,
        tax=TaxRate(Fraction(13, 100)),
        sku=draw(st.sampled_from(SKUS)),
        category=draw(st.sampled_from(CATEGORIES)),
        brand=draw(st.sampled_from(BRANDS)),
        tags=draw(st.frozensets(st.sampled_from(ITEM_TAGS), max_size=2)),
    )


@st.composite
def _member(draw: st.DrawFn, ruleset: Ruleset) -> Member:
    tier_ids = [t.id for t in ruleset.tiers] or ["normal"]
    return Member(
        tier=draw(st.sampled_from(tier_ids)),
        id=draw(st.sampled_from(MEMBER_IDS)),
        birthday=draw(st.none() | st.sampled_from(BIRTHDAYS)),
        tags=draw(st.frozensets(st.sampled_from(MEMBER_TAGS), max_size=2)),
        segment=draw(st.sampled_from(SEGMENTS)),
        join_date=draw(st.none() | st.sampled_from(BIRTHDAYS + DAYS)),
        points_balance=draw(st.none() | st.integers(0, 20000)),
        last_purchase=draw(st.none() | day_near.map(lambda d: d - timedelta(days=48))),
        order_count=draw(st.none() | st.integers(0, 3)),
        lifetime_spend=draw(st.none() | st.integers(0, 200000)),
    )


@st.composite
def requests(draw: st.DrawFn, ruleset: Ruleset) -> Request:
    """A valid request for ``ruleset``: 1-12 lines, guest or member, codes known, unknown and repeated."""
    lines = tuple(draw(_line(k)) for k in range(draw(st.integers(1, 12))))
    day = draw(st.sampled_from(DAYS))
    clock = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.sampled_from((0, 0, 30, 59))))
    offset = timezone(timedelta(minutes=draw(st.sampled_from(OFFSETS_MIN))))
    at = datetime.combine(day, clock, tzinfo=offset)
    member = draw(st.none() | _member(ruleset))
    codes = [c.id for c in ruleset.coupons] + ["ZZ", "c0"]
    coupons = tuple(draw(st.lists(st.sampled_from(codes), max_size=5)))
    redeem = 0
    if member is not None and ruleset.settings.redeem_points_per_yuan is not None and draw(st.booleans()):
        ceiling = member.points_balance if member.points_balance is not None else 30000
        redeem = draw(st.integers(0, ceiling))
    return Request(
        lines=lines,
        at=at,
        member=member,
        coupons=coupons,
        redeem_points=redeem,
        store=draw(st.sampled_from(STORES)),
        channel=draw(st.sampled_from(CHANNELS)),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Ruleset, Request]:
    """A ruleset and a request priced against it."""
    ruleset = draw(rulesets())
    return ruleset, draw(requests(ruleset))


@st.composite
def unit_cases(draw: st.DrawFn) -> tuple[Ruleset, Request]:
    """A generated ruleset with 1-4 more unit rules, and a basket of whole units (and a weighed line)
    whose SKUs the gifts name: the prompts (free units, gifts available) come up often."""
    ruleset = draw(rulesets())
    tiers = tuple(t.id for t in ruleset.tiers)
    first = len(ruleset.rules)
    extra = tuple(
        Rule(
            id=f"u{k}",
            label=f"unit rule {k}",
            effect=draw(_unit_effect()),
            condition=draw(_maybe(conditions(item=True, tiers=tiers, depth=1))),
            priority=draw(st.sampled_from((0, 0, 1, -1))),
            group=draw(_maybe(st.sampled_from(("item_g0", "unit_g")), weight=3)),
            exclusive=draw(st.integers(0, 3)) == 0,
            validity=ALWAYS,
            order=first + k,
        )
        for k in range(draw(st.integers(1, 4)))
    )
    ruleset = replace(ruleset, rules=ruleset.rules + extra)
    request = draw(requests(ruleset))
    quantities = st.sampled_from((1000, 1000, 2000, 3000, 4000, 5000, 2000, 1250))
    skus = st.sampled_from(SKUS[1:])
    lines = tuple(replace(line, quantity=draw(quantities), sku=draw(skus)) for line in request.lines)
    return ruleset, replace(request, lines=lines)
