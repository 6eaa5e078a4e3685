"""Condition evaluation for the reference interpreter: walk the IR tree on every call.

Deliberately naive (no precompilation, no caching) so that it is obviously what
PRODUCT.md says; :mod:`engine.reference.interpreter` uses it, the compiled engine is held to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from engine.errors import EvaluationError
from engine.model import Request
from engine.money import QTY_SCALE
from engine.rules import (
    FIELD_TYPES,
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
    Ruleset,
    Validity,
)

__all__ = ["MISSING", "Scene", "holds", "valid_now", "value_of"]


class _Missing:
    """A member field of a guest, or a member date the till did not send: every comparison on it is false."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class Scene:
    """What a condition can see: the request, its local time, and the lines' state just before a rule."""

    ruleset: Ruleset
    request: Request
    local: datetime  # the transaction time in the ruleset's zone
    remaining: Sequence[int]  # per line, fen left before the rule
    locked: Sequence[bool]  # per line, locked by an earlier exclusive rule
    amounts: Sequence[int] = ()  # per line, the amount before any discount (for gross())

    def tier_rank(self, tier_id: object, expr: Expr) -> int:
        for tier in self.ruleset.tiers:
            if tier.id == tier_id:
                return tier.rank
        raise EvaluationError(f"unknown tier {tier_id!r}", getattr(expr, "span", None))


def valid_now(validity: Validity, local: datetime) -> bool:
    """Inclusive local dates, weekdays, and hours as [start, end) local time.

    Ambiguity (our choice): a window whose start is after its end wraps past
    midnight (22:00 to 02:00 means 22:00-24:00 or 00:00-02:00).
    """
    today = local.date()
    if validity.date_from is not None and today < validity.date_from:
        return False
    if validity.date_to is not None and today > validity.date_to:
        return False
    if validity.weekdays is not None and today.weekday() not in validity.weekdays:
        return False
    if validity.hours is not None:
        start, end = validity.hours
        now = local.time().replace(tzinfo=None)
        inside = (start <= now < end) if start <= end else (now >= start or now < end)
        if not inside:
            return False
    return True


def _type_of(expr: Expr) -> str:
    if isinstance(expr, Field):
        return FIELD_TYPES.get(expr.name, "")
    if isinstance(expr, Const):
        return expr.type
    if isinstance(expr, Aggregate):
        return "money" if expr.kind in ("subtotal", "gross") else "number"
    return "bool"


def _field(expr: Field, scene: Scene, line: int | None) -> object:
    name = expr.name
    request = scene.request
    if name.startswith("item."):
        if line is None:
            raise EvaluationError(f"{name} names a line, but no line is in scope here", expr.span)
        item = request.lines[line]
        values: dict[str, object] = {
            "item.sku": item.sku,
            "item.name": item.name,
            "item.category": item.category,
            "item.brand": item.brand,
            "item.tags": item.tags,
            "item.price": item.unit_price,
            "item.quantity": item.quantity,
        }
        return values[name]
    if name.startswith("member."):
        member = request.member
        if member is None:
            return MISSING
        values = {
            "member.id": member.id,
            "member.tier": member.tier,
            "member.tags": member.tags,
            "member.segment": member.segment,
            "member.birthday": member.birthday if member.birthday is not None else MISSING,
            "member.join_date": member.join_date if member.join_date is not None else MISSING,
            "member.days_since_last_purchase": (
                MISSING if member.last_purchase is None else (scene.local.date() - member.last_purchase).days
            ),
            "member.first_purchase": MISSING if member.order_count is None else member.order_count == 0,
            "member.order_count": _known(member.order_count),
            "member.lifetime_spend": _known(member.lifetime_spend),
            "member.points_balance": _known(member.points_balance),
        }
        return values[name]
    local = scene.local
    values = {
        "basket.store": request.store,
        "basket.channel": request.channel,
        "basket.line_count": len(request.lines),
        "date": local.date(),
        "time": local.time().replace(tzinfo=None),
        "weekday": local.weekday(),
        "day_of_month": local.day,
        "month": local.month,
        "hour": local.hour,
    }
    if name not in values:
        raise EvaluationError(f"unknown field {name!r}", expr.span)
    return values[name]


def _known(value: object) -> object:
    return MISSING if value is None else value


def _aggregate(expr: Aggregate, scene: Scene) -> int:
    """Subtotal, gross (amounts before any discount), count or whole-unit quantity over the
    unlocked lines matching ``where``."""
    chosen = [
        i
        for i in range(len(scene.request.lines))
        if not scene.locked[i] and (expr.where is None or holds(expr.where, scene, i))
    ]
    if expr.kind == "subtotal":
        return sum(scene.remaining[i] for i in chosen)
    if expr.kind == "gross":
        return sum(scene.amounts[i] for i in chosen)
    if expr.kind == "count":
        return len(chosen)
    return sum(scene.request.lines[i].quantity for i in chosen) // QTY_SCALE


def value_of(expr: Expr, scene: Scene, line: int | None) -> object:
    """The value of a field, constant or measure (MISSING for an absent member value)."""
    if isinstance(expr, Field):
        return _field(expr, scene, line)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Aggregate):
        return _aggregate(expr, scene)
    return holds(expr, scene, line)


def _compare(expr: Compare, scene: Scene, line: int | None) -> bool:
    left = value_of(expr.left, scene, line)
    right = value_of(expr.right, scene, line)
    if left is MISSING or right is MISSING:
        return False
    if expr.op == "=":
        return left == right
    if expr.op == "!=":
        return left != right
    if "tier" in (_type_of(expr.left), _type_of(expr.right)):
        left = scene.tier_rank(left, expr.left)
        right = scene.tier_rank(right, expr.right)
    a: int | str | date | time = left  # type: ignore[assignment]
    b: int | str | date | time = right  # type: ignore[assignment]
    if expr.op == "<":
        return a < b  # type: ignore[operator]
    if expr.op == "<=":
        return a <= b  # type: ignore[operator]
    if expr.op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _is_birthday(expr: IsBirthday, scene: Scene) -> bool:
    member = scene.request.member
    if member is None or member.birthday is None:
        return False
    today = scene.local.date()
    born = member.birthday
    if expr.scope == "month":
        return today.month == born.month
    if (born.month, born.day) == (2, 29) and not _leap(today.year):
        return (today.month, today.day) == (2, 28)
    return (today.month, today.day) == (born.month, born.day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def holds(expr: Expr, scene: Scene, line: int | None = None) -> bool:
    """Whether condition ``expr`` is true, with ``line`` (an index) as ``item`` when given."""
    if isinstance(expr, And):
        return all(holds(item, scene, line) for item in expr.items)
    if isinstance(expr, Or):
        return any(holds(item, scene, line) for item in expr.items)
    if isinstance(expr, Not):
        return not holds(expr.item, scene, line)
    if isinstance(expr, Compare):
        return _compare(expr, scene, line)
    if isinstance(expr, In):
        subject = value_of(expr.subject, scene, line)
        if subject is MISSING:
            return False
        found = any(subject == value.value for value in expr.values)
        return found != expr.negated
    if isinstance(expr, Has):
        tags = value_of(expr.subject, scene, line)
        if tags is MISSING:
            return False
        return expr.value.value in tags  # type: ignore[operator]
    if isinstance(expr, IsBirthday):
        return _is_birthday(expr, scene)
    if isinstance(expr, Const) and expr.type == "bool":
        return bool(expr.value)
    raise EvaluationError(f"{type(expr).__name__} is not a condition", getattr(expr, "span", None))
