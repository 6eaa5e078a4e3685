"""Building rules, their effects and conditions, tables and no_points (see dsl/build_base.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from dsl.build_base import BuildBase, Stmt, args_of
from dsl.literals import to_date, to_factor, to_text, to_time
from engine import rules as ir
from engine.errors import did_you_mean

__all__ = ["RuleParts", "limit_of"]


@dataclass(frozen=True, slots=True)
class _Over:
    cond: ir.Expr


@dataclass(frozen=True, slots=True)
class _Limit:
    times: int


_NO_RATE = object()  # a '-' cell in a table


class RuleParts(BuildBase):
    """Rules, their effects and conditions, tables and no_points."""

    def rule(self, meta: Any, ch: list[Any]) -> ir.Rule | None:
        args = args_of(ch)
        head = self.head_span(ch)
        rule_id, label, stmts = self._declared(args)
        options = self._options(stmts, "rule")
        effects = [s for s in stmts if s.kind == "then"]
        whens = [s for s in stmts if s.kind == "when"]
        for extra in effects[1:]:
            self.fail("a rule has exactly one `then`", extra.span, "write a second rule for a second effect")
        for extra in whens[1:]:
            self.fail("a rule has one `when`", extra.span, "join the conditions with `and`")
        if not effects:
            self.fail(
                f"rule '{rule_id}' has no effect", head, "add a `then` line, like `then item discount 9.5折`"
            )
            return None
        condition = whens[0].value if whens else None
        limits = [s for s in stmts if s.kind == "limit"]
        for extra in limits[1:]:
            self.fail("a rule has one `limit`", extra.span)
        limit = limits[0].value if limits else None
        return ir.Rule(rule_id, label, effects[0].value, condition, **options, limit=limit, span=head)

    def usage_limit(self, meta: Any, ch: list[Any]) -> Stmt:
        count, period = args_of(ch)
        span = self.span(meta)
        if period.value not in ir.LIMIT_PERIODS:
            self.fail(
                f"unknown limit period '{period.value}'",
                self.token_span(period),
                did_you_mean(period.value, ir.LIMIT_PERIODS) or "write day, week, month or campaign",
            )
        if count <= 0:
            self.fail("a limit allows at least 1 use", span, "write `limit 1 per member per day`")
        value = ir.Limit(count, period.value if period.value in ir.LIMIT_PERIODS else "day", span=span)
        return Stmt("limit", value, span)

    def when(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("when", args_of(ch)[0], self.span(meta))

    def then(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("then", args_of(ch)[0], self.span(meta))

    # ------------------------------------------------------------------ effects

    def item_percent(self, meta: Any, ch: list[Any]) -> ir.PercentOff:
        return ir.PercentOff(args_of(ch)[0], span=self.span(meta))

    def item_amount(self, meta: Any, ch: list[Any]) -> ir.AmountOff:
        return ir.AmountOff(args_of(ch)[0], span=self.span(meta))

    def item_price(self, meta: Any, ch: list[Any]) -> ir.MemberPrice:
        return ir.MemberPrice(args_of(ch)[0], span=self.span(meta))

    def basket_off(self, meta: Any, ch: list[Any]) -> ir.BasketOff:
        args = args_of(ch)
        return ir.BasketOff(args[0], over=_over(args), span=self.span(meta))

    def basket_steps(self, meta: Any, ch: list[Any]) -> ir.BasketSteps:
        args = args_of(ch)
        steps = tuple(a for a in args if isinstance(a, tuple))
        return ir.BasketSteps(steps, over=_over(args), span=self.span(meta))

    def basket_every(self, meta: Any, ch: list[Any]) -> ir.BasketEvery:
        args = args_of(ch)
        limit = limit_of(args)
        return ir.BasketEvery(
            every=args[1], amount=args[0], over=_over(args), limit=limit, span=self.span(meta)
        )

    def points_times(self, meta: Any, ch: list[Any]) -> ir.PointsMultiplier:
        return ir.PointsMultiplier(to_factor(args_of(ch)[0].value), span=self.span(meta))

    def bonus(self, meta: Any, ch: list[Any]) -> ir.BonusPoints:
        args = args_of(ch)
        return ir.BonusPoints(args[0], over=_over(args), span=self.span(meta))

    def step(self, meta: Any, ch: list[Any]) -> tuple[int, int]:
        threshold, amount = args_of(ch)
        return (threshold, amount)

    def over(self, meta: Any, ch: list[Any]) -> _Over:
        return _Over(args_of(ch)[0])

    def limit(self, meta: Any, ch: list[Any]) -> _Limit:
        return _Limit(args_of(ch)[0])

    # ------------------------------------------------------------------ conditions (dsl/conditions.py)

    def field(self, meta: Any, ch: list[Any]) -> ir.Field:
        return ir.Field(str(ch[0].value), span=self.span(meta))

    def number(self, meta: Any, ch: list[Any]) -> Any:
        return self.cond.number(ch[0], self.span(meta))

    def text(self, meta: Any, ch: list[Any]) -> ir.Const:
        return ir.Const(to_text(ch[0].value), "text", span=self.span(meta))

    def date(self, meta: Any, ch: list[Any]) -> ir.Const:
        return ir.Const(self.literal(to_date, ch[0], date(2000, 1, 1)), "date", span=self.span(meta))

    def time(self, meta: Any, ch: list[Any]) -> ir.Const:
        return ir.Const(self.literal(to_time, ch[0], None), "time", span=self.span(meta))

    def list(self, meta: Any, ch: list[Any]) -> list[Any]:
        return args_of(ch)

    def aggregate(self, meta: Any, ch: list[Any]) -> ir.Aggregate:
        where = next((c for c in args_of(ch)), None)
        return ir.Aggregate(ch[0].value, where, span=self.span(meta))

    def gross(self, meta: Any, ch: list[Any]) -> ir.Aggregate:
        where = next((c for c in args_of(ch)), None)
        return ir.Aggregate("gross", where, span=self.span(meta))

    def truth(self, meta: Any, ch: list[Any]) -> ir.Expr:
        return self.cond.truth(args_of(ch)[0], self.span(meta))

    def compare(self, meta: Any, ch: list[Any]) -> ir.Expr:
        left, op, right = args_of(ch)
        return self.cond.compare(left, str(op.value), right, self.span(meta))

    def is_in(self, meta: Any, ch: list[Any]) -> ir.Expr:
        subject, values = args_of(ch)
        return self.cond.member_of(subject, values, False, self.span(meta))

    def not_in(self, meta: Any, ch: list[Any]) -> ir.Expr:
        subject, values = args_of(ch)
        return self.cond.member_of(subject, values, True, self.span(meta))

    def has(self, meta: Any, ch: list[Any]) -> ir.Expr:
        subject, value = args_of(ch)
        return self.cond.has(subject, value, self.span(meta))

    def is_test(self, meta: Any, ch: list[Any]) -> ir.Expr:
        left, right = args_of(ch)
        return self.cond.is_birthday(left, right, self.span(meta))

    def negation(self, meta: Any, ch: list[Any]) -> ir.Not:
        return ir.Not(args_of(ch)[0], span=self.span(meta))

    def paren(self, meta: Any, ch: list[Any]) -> ir.Expr:
        return args_of(ch)[0]

    def or_cond(self, meta: Any, ch: list[Any]) -> ir.Or:
        return ir.Or(tuple(args_of(ch)), span=self.span(meta))

    def and_cond(self, meta: Any, ch: list[Any]) -> ir.And:
        return ir.And(tuple(args_of(ch)), span=self.span(meta))

    # ------------------------------------------------------------------ tables

    def table(self, meta: Any, ch: list[Any]) -> ir.Rule | None:
        head = self.head_span(ch)
        table_id, label, stmts = self._declared(args_of(ch))
        options = self._options(stmts, "table")
        by = [s for s in stmts if s.kind == "by"]
        columns = [s for s in stmts if s.kind == "columns"]
        rows = [s for s in stmts if s.kind == "row"]
        for kind, found in (("by", by), ("columns", columns)):
            for extra in found[1:]:
                self.fail(f"a table has one `{kind}` line", extra.span)
        if not by or not columns:
            missing = "by member.tier, item.category" if not by else "columns gold diamond ..."
            self.fail(f"table '{table_id}' has no `{missing.split()[0]}` line", head, f"add `{missing}`")
            return None
        keys = by[0].value
        if len(keys) != 2:
            self.fail(
                "a table has two keys: the columns' and the rows'",
                by[0].span,
                "write `by member.tier, item.category`",
            )
            return None
        names = columns[0].value
        for i, name in enumerate(names):
            if name in names[:i]:
                self.fail(f"column '{name}' appears twice", columns[0].span)
        rates: dict[tuple[str, ...], Fraction] = {}
        seen_rows: set[str] = set()
        for row in rows:
            key, cells = row.value
            if row.span.line < columns[0].span.line:
                self.fail("this row comes before the `columns` line", row.span, "write `columns` first")
            if key in seen_rows:
                self.fail(f"row '{key}' appears twice", row.span)
            seen_rows.add(key)
            if len(cells) != len(names):
                self.fail(
                    f"this row has {len(cells)} rates but the table has {len(names)} columns",
                    row.span,
                    "write one rate (or '-' for none) under each column",
                )
            for name, cell in zip(names, cells, strict=False):
                if cell is not _NO_RATE:
                    rates[(name, key)] = cell
        effect = ir.TableDiscount(tuple(keys), rates, span=columns[0].span)
        return ir.Rule(table_id, label, effect, None, **options, span=head)

    def by(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("by", args_of(ch), self.span(meta))

    def columns(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("columns", [self._text(t) for t in args_of(ch)], self.span(meta))

    def row(self, meta: Any, ch: list[Any]) -> Stmt:
        args = args_of(ch)
        return Stmt("row", (self._text(args[0]), args[1:]), self.span(meta))

    def no_rate(self, meta: Any, ch: list[Any]) -> object:
        return _NO_RATE

    # ------------------------------------------------------------------ no points

    def no_points(self, meta: Any, ch: list[Any]) -> ir.NoPoints:
        return ir.NoPoints(args_of(ch)[0], span=self.span(meta))


def _over(args: list[Any]) -> ir.Expr | None:
    return next((a.cond for a in args if isinstance(a, _Over)), None)


def limit_of(args: list[Any]) -> int | None:
    """The K of a `max K times`, when the effect has one."""
    return next((a.times for a in args if isinstance(a, _Limit)), None)
