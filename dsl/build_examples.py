"""Building coupons and examples (see dsl/build_base.py)."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Any

from dsl.build_base import BuildBase, Stmt, args_of, flatten
from dsl.literals import to_date, to_percent, to_text, to_time
from engine import rules as ir

__all__ = ["ExampleParts"]


class ExampleParts(BuildBase):
    """Coupons (value, terms, validity) and examples (member, basket, expectations)."""

    def coupon(self, meta: Any, ch: list[Any]) -> ir.Coupon | None:
        head = self.head_span(ch)
        coupon_id, label, stmts = self._declared(args_of(ch))
        values: dict[str, Any] = {}
        for stmt in stmts:
            if stmt.kind in values:
                self.fail(f"'{stmt.kind}' is written twice in this coupon", stmt.span)
            if stmt.kind not in ("dates", "weekdays", "hours"):
                values[stmt.kind] = stmt.value
        options = self._options(stmts, "coupon")
        if "value" in values and "percent" in values:
            self.fail(f"coupon '{coupon_id}' has two values", head, "write `value 20.00` or `value 10%`")
        if "percent" in values:
            values["value"] = 0
        if "value" not in values:
            self.fail(
                f"coupon '{coupon_id}' has no value", head, "add `value 20.00` or `value 10%, max 50.00`"
            )
            return None
        return ir.Coupon(coupon_id, label, **values, validity=options.get("validity", ir.ALWAYS), span=head)

    def coupon_terms(self, meta: Any, ch: list[Any]) -> list[Stmt]:
        return args_of(ch)

    def value(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("value", args_of(ch)[0], self.span(meta))

    def min_spend(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("min_spend", args_of(ch)[0], self.span(meta))

    def applies_to(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("applies_to", args_of(ch)[0], self.span(meta))

    def members_only(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("members_only", True, self.span(meta))

    def redeem_for(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("points_price", args_of(ch)[0], self.span(meta))

    # percent and targeted coupons (engine.check.coupon_forms checks them)

    def value_percent(self, meta: Any, ch: list[Any]) -> Stmt:
        tok = args_of(ch)[0]
        return Stmt("percent", self.literal(to_percent, tok, Fraction(0)), self.span(meta))

    def coupon_max(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("max_value", args_of(ch)[0], self.span(meta))

    def coupon_when(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("condition", args_of(ch)[0], self.span(meta))

    # ------------------------------------------------------------------ examples

    def example(self, meta: Any, ch: list[Any]) -> ir.Example | None:
        args = args_of(ch)
        head = self.head_span(ch)
        label = to_text(args[0].value)
        stmts = list(flatten(args[1:]))
        single: dict[str, Stmt] = {}
        for stmt in stmts:
            if stmt.kind in ("member", "at", "store", "channel", "redeem"):
                if stmt.kind in single:
                    self.fail(f"this example already has a `{stmt.kind}` line", stmt.span)
                single.setdefault(stmt.kind, stmt)
        lines = tuple(s.value for s in stmts if s.kind == "line")
        expects = [s for s in stmts if s.kind == "expect"]
        if "at" not in single:
            self.fail("this example has no time", head, "add `at 2026-11-15 10:00`")
        if not lines:
            self.fail("this example has no basket line", head, 'add `line "洗发水" price 100.00`')
        if not expects:
            self.fail("this example expects nothing", head, "add `expect payable 95.00, points 285`")
        if "at" not in single or not lines or not expects:
            return None
        member = single["member"].value if "member" in single else None
        return ir.Example(
            label=label,
            at=single["at"].value,
            lines=lines,
            expect=self._expectation(expects),
            member=member,
            coupons=tuple(s.value for s in stmts if s.kind == "coupon"),
            redeem_points=single["redeem"].value if "redeem" in single else 0,
            store=single["store"].value if "store" in single else "",
            channel=single["channel"].value if "channel" in single else "",
            span=head,
        )

    def _expectation(self, expects: list[Stmt]) -> ir.Expectation:
        values: dict[str, Any] = {"rules": [], "coupons": [], "lines": [], "offers": []}
        line_fields: set[tuple[int, str]] = set()
        for term in (t for e in expects for t in e.value):
            if term.kind == "lines":
                values["lines"].append(self._line_expectation(term, line_fields))
            elif term.kind in ("rules", "coupons", "offers"):
                values[term.kind].append(term.value)
            else:
                if term.kind in values:
                    self.fail(f"'{term.kind}' is expected twice", term.span)
                values[term.kind] = term.value
        for many in ("rules", "coupons", "lines", "offers"):
            values[many] = tuple(values[many])
        return ir.Expectation(**values, span=expects[0].span)

    def _line_expectation(self, term: Stmt, seen: set[tuple[int, str]]) -> ir.LineExpectation:
        """One `line N net .. discount .. points ..` term; a field already expected for line N is refused."""
        number, fields = term.value
        values: dict[str, int] = {}
        for item in fields:
            if (number, item.kind) in seen:
                self.fail(
                    f"'{item.kind}' of line {number} is expected twice",
                    item.span,
                    f"keep one `{item.kind}` for line {number}: each line's net, discount and points "
                    "is expected at most once",
                )
                continue
            seen.add((number, item.kind))
            values[item.kind] = item.value
        return ir.LineExpectation(number, **values, span=term.span)

    def guest(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("member", None, self.span(meta))

    def member(self, meta: Any, ch: list[Any]) -> Stmt:
        span = self.span(meta)
        fields: dict[str, Any] = {}
        for term in args_of(ch):
            if term.kind in fields:
                self.fail(f"'{term.kind}' is written twice for this member", term.span)
            fields[term.kind] = term.value
        return Stmt("member", ir.ExampleMember(**{"tier": "", **fields}, span=span), span)

    def member_tier(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("tier", str(args_of(ch)[0].value), self.span(meta))

    def member_birthday(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("birthday", self.literal(to_date, args_of(ch)[0], None), self.span(meta))

    def member_tags(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("tags", self._tags(args_of(ch)[0]), self.span(meta))

    def member_segment(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("segment", to_text(args_of(ch)[0].value), self.span(meta))

    def member_joined(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("join_date", self.literal(to_date, args_of(ch)[0], None), self.span(meta))

    def member_balance(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("points_balance", args_of(ch)[0], self.span(meta))

    def member_last_purchase(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("last_purchase", self.literal(to_date, args_of(ch)[0], None), self.span(meta))

    def member_orders(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("order_count", args_of(ch)[0], self.span(meta))

    def member_lifetime_spend(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("lifetime_spend", args_of(ch)[0], self.span(meta))

    def _tags(self, values: list[Any]) -> frozenset[str]:
        tags = set()
        for value in values:
            if isinstance(value, ir.Const) and value.type == "text":
                tags.add(value.value)
            else:
                self.fail(
                    "tags are texts in double quotes", getattr(value, "span", None), 'write ["fresh", "vip"]'
                )
        return frozenset(tags)

    def at(self, meta: Any, ch: list[Any]) -> Stmt:
        day_tok, time_tok = args_of(ch)
        day = self.literal(to_date, day_tok, date(2000, 1, 1))
        moment = self.literal(to_time, time_tok, None)
        at = datetime.combine(day, moment) if moment is not None else datetime(day.year, day.month, day.day)
        return Stmt("at", at, self.span(meta))

    def store(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("store", to_text(args_of(ch)[0].value), self.span(meta))

    def channel(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("channel", to_text(args_of(ch)[0].value), self.span(meta))

    def use_coupon(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("coupon", str(args_of(ch)[0].value), self.span(meta))

    def redeem(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("redeem", args_of(ch)[0], self.span(meta))

    def line(self, meta: Any, ch: list[Any]) -> Stmt:
        args = args_of(ch)
        span = self.span(meta)
        fields: dict[str, Any] = {}
        for term in args[1:]:
            if term.kind in fields:
                self.fail(f"'{term.kind}' is written twice on this line", term.span)
            fields[term.kind] = term.value
        name = to_text(args[0].value)
        if "price" not in fields:
            self.fail(f"line '{name}' has no price", span, "add `price 100.00`")
        line = ir.ExampleLine(name=name, **{"price": 0, "quantity": 1000, **fields}, span=span)
        return Stmt("line", line, span)

    def line_sku(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("sku", to_text(args_of(ch)[0].value), self.span(meta))

    def line_category(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("category", to_text(args_of(ch)[0].value), self.span(meta))

    def line_brand(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("brand", to_text(args_of(ch)[0].value), self.span(meta))

    def line_tags(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("tags", self._tags(args_of(ch)[0]), self.span(meta))

    def line_price(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("price", args_of(ch)[0], self.span(meta))

    def line_qty(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("quantity", args_of(ch)[0], self.span(meta))

    def line_tax(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("tax", str(args_of(ch)[0].value), self.span(meta))

    def expect(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("expect", args_of(ch), self.span(meta))

    def expect_payable(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("payable", args_of(ch)[0], self.span(meta))

    def expect_points(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("points", args_of(ch)[0], self.span(meta))

    def expect_discount(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("discount", args_of(ch)[0], self.span(meta))

    def expect_rule(self, meta: Any, ch: list[Any]) -> Stmt:
        name, fen = args_of(ch)
        return Stmt("rules", (str(name.value), fen), self.span(meta))

    def expect_accepted(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("coupons", (str(args_of(ch)[0].value), "accepted"), self.span(meta))

    def expect_rejected(self, meta: Any, ch: list[Any]) -> Stmt:
        name, reason = args_of(ch)
        return Stmt("coupons", (str(name.value), str(reason.value)), self.span(meta))

    def expect_redeemed(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("redeemed_points", args_of(ch)[0], self.span(meta))

    def expect_free(self, meta: Any, ch: list[Any]) -> Stmt:
        name, units = args_of(ch)
        return Stmt("offers", ("free", str(name.value), units), self.span(meta))

    def expect_gift(self, meta: Any, ch: list[Any]) -> Stmt:
        name, units = args_of(ch)
        return Stmt("offers", ("gift", str(name.value), units), self.span(meta))

    def expect_line(self, meta: Any, ch: list[Any]) -> Stmt:
        number, *fields = args_of(ch)
        return Stmt("lines", (number, fields), self.span(meta))

    def expect_net(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("net", args_of(ch)[0], self.span(meta))
