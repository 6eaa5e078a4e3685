"""Run one request through the compiled engine and the reference interpreter, and insist they agree."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dsl
from engine.compiled import compile_ruleset
from engine.model import Evaluation, Line, Member, Request, TaxRate
from engine.reference.interpreter import interpret

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI)  # a Sunday
TAX = TaxRate.parse("13%")


def line(lid: str, price: int, qty: int = 1000, category: str = "", sku: str = "") -> Line:
    return Line(lid, lid, price, qty, TAX, sku=sku or lid, category=category)


def both(text: str, lines: list[Line], member: Member | None = None, **kw: object) -> Evaluation:
    """The compiled answer, after checking the reference interpreter gives the same one."""
    ruleset = dsl.load(text, "t.rules")
    request = Request(tuple(lines), AT, member, **kw)  # type: ignore[arg-type]
    got = compile_ruleset(ruleset).evaluate(request)
    want = interpret(ruleset, request)
    assert got == want
    return got
