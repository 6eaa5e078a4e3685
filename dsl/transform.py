"""Lark parse tree -> engine.rules IR, with a Span on every node.

One method per grammar node (the names in dsl/grammar.lark). Literal and
statement problems (9.5折 written 11折, money with 3 decimals, a rule without
`then`...) are collected as RuleErrors and building carries on with a stand-in
value, so a file reports all of them at once; a ruleset with any error is never
handed out (dsl.load raises).

This module walks the tree and builds the file, the header and the tiers; rules,
effects, conditions and tables are in dsl/build_rules.py, coupons and examples in
dsl/build_examples.py, the shared helpers in dsl/build_base.py. Conditions get the
one bit of context the grammar cannot express from dsl/conditions.py: a bare word
such as ``gold`` or ``sat`` is a tier or a weekday because of the field beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from lark import Token, Tree

from dsl.build_base import Meta, Stmt, args_of, flatten
from dsl.build_campaign import CampaignFile, CampaignHeader, CampaignParts
from dsl.build_examples import ExampleParts
from dsl.build_rules import RuleParts
from dsl.build_units import UnitParts
from dsl.literals import to_factor, to_fen, to_percent, to_text, to_whole
from engine import rules as ir
from engine.errors import RuleError, did_you_mean
from engine.spans import Source, Span

__all__ = ["build_ruleset"]


@dataclass(frozen=True, slots=True)
class _Header:
    name: str
    settings: ir.Settings
    span: Span


def build_ruleset(tree: Tree, source: Source) -> tuple[ir.Ruleset | CampaignFile | None, list[RuleError]]:
    """Transform a parse tree; return the ruleset (a CampaignFile for a campaign file; None if it
    could not be built) and every error."""
    builder = _Builder(source)
    try:
        ruleset = builder.transform(tree)
    except RuleError as exc:
        ruleset = None
        builder.errors.append(exc)
    except RecursionError:
        ruleset = None
        builder.errors.append(RuleError("conditions are nested too deeply", Span(source, 1, 1)))
    return ruleset, builder.errors


@dataclass(frozen=True, slots=True)
class _RedeemOn:
    """`applies_to COND` of the redeem setting: the lines points may pay for."""

    cond: ir.Expr


class _Failed(Exception):
    """A bug of ours while building one node; carries its place so the user still gets one."""

    def __init__(self, span: Span | None, exc: Exception) -> None:
        super().__init__(repr(exc))
        self.span = span


class _Builder(RuleParts, UnitParts, ExampleParts, CampaignParts):
    """Bottom-up over the tree: each node's method gets ``(meta, children)`` with children built.

    This is what a ``lark.Transformer`` with ``@v_args(meta=True)`` over a tree parsed
    with ``propagate_positions=True`` does; it is written out because Lark's per-call
    v_args wrappers and position propagation took half the load time of a 1,000-rule
    file. The method names are the grammar's node names.
    """

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self._methods: dict[str, Any] = {}

    def transform(self, tree: Tree) -> Any:
        try:
            return self._visit(tree)[0]
        except _Failed as failed:
            raise RuleError(f"internal error while reading this ruleset: {failed}", failed.span) from None

    def _visit(self, tree: Tree) -> tuple[Any, Token | None, Token | None]:
        """Build ``tree``; return (value, its first token, its last token) for the spans above it."""
        children: list[Any] = []
        first = last = None
        for child in tree.children:
            if isinstance(child, Tree):
                value, head, tail = self._visit(child)
                children.append(value)
            else:
                children.append(child)
                if child is None or child.type == "_NL":
                    continue
                head = tail = child
            if head is not None:
                first = first or head
                last = tail
        meta = Meta(first.line, first.column, last.end_line, last.end_column) if first and last else None
        method = self._methods.get(tree.data)
        if method is None:
            method = self._methods[tree.data] = getattr(self, tree.data)
        try:
            return method(meta, children), first, last
        except (RuleError, _Failed, RecursionError):
            raise
        except Exception as exc:
            span = self.span(meta) if meta is not None else None
            raise _Failed(span, exc) from exc

    # ------------------------------------------------------------------ file

    def start(self, meta: Any, ch: list[Any]) -> ir.Ruleset | CampaignFile | None:
        items = args_of(ch)
        campaigns = [i for i in items if isinstance(i, CampaignHeader)]
        if campaigns:
            return self.campaign_file(items, campaigns)
        headers = [i for i in items if isinstance(i, _Header)]
        for extra in headers[1:]:
            self.fail("a file has one ruleset header; this is a second one", extra.span)
        if not headers:
            self.fail(
                "missing ruleset header",
                Span(self.source, 1, 1),
                'start the file with: ruleset "name" { }',
            )
        tiers = tuple(replace(t, rank=n) for n, t in enumerate(i for i in items if isinstance(i, ir.Tier)))
        rules = tuple(replace(r, order=n) for n, r in enumerate(i for i in items if isinstance(i, ir.Rule)))
        coupons = tuple(
            replace(c, order=n) for n, c in enumerate(i for i in items if isinstance(i, ir.Coupon))
        )
        examples = tuple(self._example_tier(e, tiers) for e in items if isinstance(e, ir.Example))
        header = headers[0] if headers else _Header("", ir.Settings(), Span(self.source, 1, 1))
        return ir.Ruleset(
            name=header.name,
            settings=header.settings,
            tiers=tiers,
            rules=rules,
            no_points=tuple(i for i in items if isinstance(i, ir.NoPoints)),
            coupons=coupons,
            examples=examples,
            source_text=self.source.text,
            span=header.span,
        )

    def _example_tier(self, example: ir.Example, tiers: tuple[ir.Tier, ...]) -> ir.Example:
        """A member line without `tier` means the lowest tier."""
        member = example.member
        if member is None or member.tier:
            return example
        if not tiers:
            self.fail("this member has no tier and the ruleset declares none", member.span, "add `tier ID`")
            return example
        return replace(example, member=replace(member, tier=tiers[0].id))

    # ------------------------------------------------------------------ header

    def header(self, meta: Any, ch: list[Any]) -> _Header:
        args = args_of(ch)
        name = to_text(args[0].value)
        values: dict[str, Any] = {}
        seen: dict[str, Span] = {}
        referral: list[ir.ReferralAward] = []
        segments: list[ir.Segment] = []
        issued: list[ir.IssuedCoupon] = []
        for stmt in flatten(args[1:]):
            if stmt.kind == "issue":
                issued.append(stmt.value)
                continue
            if stmt.kind == "referral":
                referral.append(stmt.value)
                continue
            if stmt.kind == "segment":
                segments.append(stmt.value)
                continue
            if stmt.kind in seen:
                self.fail(f"'{stmt.kind}' is set twice in the header", stmt.span)
            seen[stmt.kind] = stmt.span
            if stmt.kind == "redeem":
                values["redeem_points_per_yuan"], cap, on = stmt.value
                if cap is not None:
                    values["redeem_cap"] = cap
                if on is not None:
                    values["redeem_applies_to"] = on
            elif stmt.kind == "max_discount":
                values["max_discount"], values["max_discount_span"] = stmt.value, stmt.span
            elif stmt.kind == "inactivity":
                values["inactivity_days"], values["inactivity_action"] = stmt.value
            else:
                values[stmt.kind] = stmt.value
        if referral:
            values["referral"] = tuple(referral)
        if segments:
            values["segments"] = tuple(segments)
        if issued:
            values["issued"] = tuple(issued)
        return _Header(name, ir.Settings(**values, span=self.head_span(ch)), self.head_span(ch))

    def currency(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("currency", str(args_of(ch)[0].value), self.span(meta))

    def timezone(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("timezone", to_text(args_of(ch)[0].value), self.span(meta))

    def points_setting(self, meta: Any, ch: list[Any]) -> list[Stmt]:
        return args_of(ch)

    def per_yuan(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("points_per_yuan", Fraction(args_of(ch)[0].value), self.span(meta))

    def rounding(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt(
            "points_rounding", self._choice(args_of(ch)[0], ("floor", "half_up", "ceil")), self.span(meta)
        )

    def multipliers(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("multipliers", self._choice(args_of(ch)[0], ("multiply", "max", "add")), self.span(meta))

    def redeem_setting(self, meta: Any, ch: list[Any]) -> Stmt:
        args = args_of(ch)
        on = next((a.cond for a in args if isinstance(a, _RedeemOn)), None)
        cap_tok = next((a for a in args[1:] if isinstance(a, Token) and a.type == "PERCENT"), None)
        cap = self.literal(to_percent, cap_tok, Fraction(1)) if cap_tok is not None else None
        return Stmt("redeem", (args[0], cap, on), self.span(meta))

    def redeem_on(self, meta: Any, ch: list[Any]) -> _RedeemOn:
        return _RedeemOn(args_of(ch)[0])

    def inactivity(self, meta: Any, ch: list[Any]) -> Stmt:
        days, action = args_of(ch)
        return Stmt("inactivity", (days, self._choice(action, ("downgrade", "terminate"))), self.span(meta))

    def points_expire(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("points_expire_days", args_of(ch)[0], self.span(meta))

    def points_pending(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("points_pending_days", args_of(ch)[0], self.span(meta))

    def referral_per(self, meta: Any, ch: list[Any]) -> Stmt:
        level, points, per = args_of(ch)
        span = self.span(meta)
        return Stmt("referral", ir.ReferralAward(level, points, per=per, span=span), span)

    def referral_at(self, meta: Any, ch: list[Any]) -> Stmt:
        level, points, at = args_of(ch)
        span = self.span(meta)
        return Stmt("referral", ir.ReferralAward(level, points, at=at, span=span), span)

    def segment(self, meta: Any, ch: list[Any]) -> Stmt:
        name, *tests = args_of(ch)
        span = self.span(meta)
        return Stmt("segment", ir.Segment(str(name.value), tuple(tests), span), span)

    def issue(self, meta: Any, ch: list[Any]) -> Stmt:
        coupon, (trigger, days, tier), valid_days = args_of(ch)
        span = self.span(meta)
        return Stmt("issue", ir.IssuedCoupon(str(coupon.value), trigger, valid_days, days, tier, span), span)

    def issue_idle(self, meta: Any, ch: list[Any]) -> tuple[str, int, None]:
        return ("idle", args_of(ch)[0], None)

    def issue_birthday(self, meta: Any, ch: list[Any]) -> tuple[str, None, None]:
        return ("birthday", None, None)

    def issue_tier(self, meta: Any, ch: list[Any]) -> tuple[str, None, str]:
        return ("tier", None, str(args_of(ch)[0].value))

    def segment_test(self, meta: Any, ch: list[Any]) -> ir.SegmentTest:
        name, op, number = args_of(ch)
        measures = ("recency", "frequency", "monetary")
        if name.value not in measures:
            hint = did_you_mean(name.value, measures) or "write recency, frequency or monetary"
            self.fail(f"unknown segment measure '{name.value}'", self.token_span(name), hint)
            return ir.SegmentTest("frequency", ">=", 0)
        if name.value == "monetary":
            value = self.literal(to_fen, number, 0)
        else:
            value = self.literal(to_whole, number, 0)
        return ir.SegmentTest(name.value, op.value, value)

    def max_discount(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("max_discount", self.literal(to_percent, args_of(ch)[0], Fraction(1)), self.span(meta))

    def _choice(self, tok: Token, allowed: tuple[str, ...]) -> str:
        if tok.value in allowed:
            return str(tok.value)
        words = ", ".join(allowed[:-1]) + " or " + allowed[-1]
        self.fail(
            f"unknown setting '{tok.value}'",
            self.token_span(tok),
            did_you_mean(tok.value, allowed) or f"write {words}",
        )
        return allowed[0]

    # ------------------------------------------------------------------ tiers

    def tier(self, meta: Any, ch: list[Any]) -> ir.Tier:
        args = args_of(ch)
        label = next((to_text(a.value) for a in args if isinstance(a, Token) and a.type == "STRING"), "")
        factor = next(
            (to_factor(a.value) for a in args if isinstance(a, Token) and a.type == "FACTOR"), Fraction(1)
        )
        upgrade = next((a for a in args if isinstance(a, dict)), {})
        return ir.Tier(
            id=str(args[0].value),
            label=label,
            rate=factor,
            rank=0,
            upgrade_lifetime=upgrade.get("lifetime_spend"),
            upgrade_single_day=upgrade.get("day_spend"),
            span=self.span(meta),
        )

    def upgrade(self, meta: Any, ch: list[Any]) -> dict[str, int]:
        found: dict[str, int] = {}
        for kind, fen, span in args_of(ch):
            if kind in found:
                self.fail(f"'{kind}' appears twice in this upgrade", span)
            found[kind] = fen
        return found

    def upgrade_test(self, meta: Any, ch: list[Any]) -> tuple[str, int, Span]:
        name, op, fen = args_of(ch)
        span = self.span(meta)
        if name.value not in ("lifetime_spend", "day_spend"):
            hint = (
                did_you_mean(name.value, ("lifetime_spend", "day_spend"))
                or "write lifetime_spend or day_spend"
            )
            self.fail(f"unknown upgrade measure '{name.value}'", self.token_span(name), hint)
        if op.value != ">=":
            self.fail(
                f"an upgrade threshold is written with >=, not {op.value}",
                self.token_span(op),
                f"write {name.value} >= AMOUNT",
            )
        return str(name.value), fen, span
