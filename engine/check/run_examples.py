"""Run the worked examples embedded in a ruleset and report every mismatch as an error.

An example is the merchandiser's own acceptance test: a basket, a time and the
answer worked out by hand. A failure reads like a compile error, pointing at the
example, so ``promo check`` prints both kinds the same way.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest, RuleError
from engine.model import Evaluation, Line, Member, Request, TaxRate
from engine.money import format_fen
from engine.rules import Example, Ruleset

__all__ = ["example_request", "run_examples"]


def example_request(ruleset: Ruleset, example: Example, zone: object | None = None) -> Request:
    """The request an example describes; its local time is read in the ruleset's timezone."""
    from zoneinfo import ZoneInfo

    tz = zone if zone is not None else ZoneInfo(ruleset.settings.timezone)
    at: datetime = example.at.replace(tzinfo=tz)  # type: ignore[arg-type]
    lines = tuple(
        Line(
            id=str(k + 1),
            name=ln.name,
            unit_price=ln.price,
            quantity=ln.quantity,
            tax=TaxRate.parse(ln.tax),
            sku=ln.sku,
            category=ln.category,
            brand=ln.brand,
            tags=ln.tags,
        )
        for k, ln in enumerate(example.lines)
    )
    m = example.member
    member = (
        None
        if m is None
        else Member(
            tier=m.tier,
            id="example",
            birthday=m.birthday,
            tags=m.tags,
            segment=m.segment,
            join_date=m.join_date,
            points_balance=m.points_balance,
            last_purchase=m.last_purchase,
            order_count=m.order_count,
            lifetime_spend=m.lifetime_spend,
        )
    )
    return Request(
        lines=lines,
        at=at,
        member=member,
        coupons=example.coupons,
        redeem_points=example.redeem_points,
        store=example.store,
        channel=example.channel,
    )


def run_examples(compiled: CompiledRuleset) -> list[RuleError]:
    """Evaluate every example; one error per expectation that does not hold.

    A draft campaign's examples run on the program that applies drafts, every other one on
    the live program (what a real sale sees).
    """
    errors = _run(compiled)
    if compiled.with_drafts is not compiled:
        errors += _run(compiled.with_drafts)
    return errors


def _run(compiled: CompiledRuleset) -> list[RuleError]:
    errors: list[RuleError] = []
    for example in compiled.ruleset.examples:
        try:
            result = compiled.evaluate(example_request(compiled.ruleset, example, compiled.zone))
        except InvalidRequest as exc:
            errors.append(RuleError(f"example {example.label!r} is not a valid basket: {exc}", example.span))
            continue
        errors.extend(_compare(example, result))
    return errors


def _compare(example: Example, result: Evaluation) -> list[RuleError]:
    expect = example.expect
    span = expect.span or example.span
    wrong: list[str] = []

    def money(what: str, want: int | None, got: int) -> None:
        if want is not None and want != got:
            wrong.append(f"{what} {format_fen(got)}, expected {format_fen(want)}")

    money("payable", expect.payable, result.payable)
    money("discount", expect.discount, result.discount)
    if expect.points is not None and expect.points != result.points.earned:
        wrong.append(f"points {result.points.earned}, expected {expect.points}")
    if expect.redeemed_points is not None and expect.redeemed_points != result.redemption.points:
        wrong.append(f"redeemed {result.redemption.points} points, expected {expect.redeemed_points}")
    by_rule: dict[str, int] = defaultdict(int)
    for line in result.lines:
        for d in line.discounts:
            by_rule[d.source] += d.fen
    for rule_id, want in expect.rules:
        money(f"rule {rule_id} took", want, by_rule.get(rule_id, 0))
    lines = {line.line_id: line for line in result.lines}  # example_request numbers them from "1"
    for want in expect.lines:
        got_line = lines.get(str(want.line))
        if got_line is None:
            continue  # the checker refuses a line number the example does not have
        name = f"line {want.line}"
        money(f"{name} net", want.net, got_line.net)
        money(f"{name} discount", want.discount, got_line.discount)
        if want.points is not None and want.points != got_line.points:
            wrong.append(f"{name} points {got_line.points}, expected {want.points}")
    for kind, rule_id, want_units in expect.offers:
        if kind == "free":
            got_units = sum(f.units for f in result.free_units if f.rule == rule_id)
            if got_units != want_units:
                wrong.append(f"rule {rule_id} offers {got_units} free unit(s), expected {want_units}")
        else:
            got_units = sum(g.quantity for g in result.gifts if g.rule == rule_id)
            if got_units != want_units:
                wrong.append(f"rule {rule_id} has {got_units} gift unit(s) available, expected {want_units}")
    outcomes = {c.code: c for c in result.coupons}
    for code, want_reason in expect.coupons:
        got = outcomes.get(code)
        got_reason = "not presented" if got is None else got.reason
        if got_reason != want_reason:
            wrong.append(f"coupon {code} {got_reason}, expected {want_reason}")
    if not wrong:
        return []
    detail = "; ".join(wrong)
    return [RuleError(f"example {example.label!r} failed: {detail}", span, hint=_explain(result))]


def _explain(result: Evaluation) -> str:
    """A compact account of what the engine did, so the merchandiser can find the difference."""
    parts = []
    for line in result.lines:
        taken = ", ".join(f"{d.source} {format_fen(d.fen)}" for d in line.discounts) or "no discount"
        parts.append(
            f"line {line.line_id}: {format_fen(line.amount)} - ({taken}) = {format_fen(line.net)}, "
            f"{line.points} points"
        )
    p = result.points
    parts.append(f"points: base {p.base} + bonus {p.earned - p.base} = {p.earned}")
    parts.extend(f"rule {f.rule}: {f.units} more unit(s) would be free" for f in result.free_units)
    parts.extend(f"rule {g.rule}: gift {g.sku} x{g.quantity} available" for g in result.gifts)
    return "the engine computed\n      " + "\n      ".join(parts)
