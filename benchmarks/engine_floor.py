"""The floor under ``evaluate()``: what any engine with this answer's shape pays before a rule runs.

The hand-written baseline (:mod:`benchmarks.plain_health`) returns tuples and checks nothing.
The engine must refuse a bad request (:func:`engine.evaluate.validate_request`), build its
per-request state (:class:`engine.context.Context`) and return the result objects the server,
the invoice and the ledger read (a Discount per rule per line, a LineOutcome per line, the
PointsOutcome, the Evaluation). :func:`floor_of` does exactly those steps for one evaluation,
copying the engine's own answer instead of running rules, so its time is a lower bound for any
evaluator of this ruleset that keeps the engine's contract; ``bench_engine.py`` prints it as a
share of the hand-written baseline.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.compiled import CompiledRuleset
from engine.context import Context
from engine.evaluate import validate_request
from engine.model import Discount, Evaluation, LineOutcome, Request

__all__ = ["floor_of"]


def floor_of(compiled: CompiledRuleset, request: Request) -> Callable[[], Evaluation]:
    """A function that validates ``request``, builds its Context and rebuilds the engine's answer
    for it object by object, with no rule run; checked equal to that answer."""
    answer = compiled.evaluate(request)
    discounts = [[tuple(d) for d in line.discounts] for line in answer.lines]
    rows = [(line.net, line.points, line.earns_points) for line in answer.lines]
    member = request.member
    tier_rank = compiled.tier_ranks.get(member.tier) if member is not None else None
    points = tuple(answer.points)
    rest = (answer.coupons, answer.redemption, answer.free_units, answer.gifts, answer.nudges, answer.notes)

    def floor() -> Evaluation:
        amounts = validate_request(compiled.ruleset, request, compiled.tier_ranks)
        Context(request, compiled.zone, amounts, tier_rank)
        outcomes = []
        for line, amount, taken, (net, share, earns) in zip(
            request.lines, amounts, discounts, rows, strict=True
        ):
            kept = tuple([Discount(*d) for d in taken])
            outcomes.append(LineOutcome(line.id, amount, kept, amount - net, net, share, earns))
        subtotal = sum(amounts)
        payable = sum(row[0] for row in rows)
        return Evaluation(
            compiled.name,
            compiled.version,
            tuple(outcomes),
            subtotal,
            subtotal - payable,
            payable,
            type(answer.points)(*points),
            *rest,
        )

    if floor() != answer:
        raise AssertionError("the floor does not rebuild the engine's answer")
    return floor
