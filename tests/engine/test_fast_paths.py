"""Shortcuts of the compiled engine held equal to the general code they stand for.

The conformance tests compare whole evaluations with the reference interpreter; these compare
each shortcut with the general path it replaces, on the same random rulesets and baskets, so a
disagreement names the shortcut.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from strategies import cases  # pytest puts tests/engine on sys.path

from engine.compiled import compile_ruleset
from engine.context import Context
from engine.evaluate import validate_request
from engine.evaluate.nudges import rule_nudges
from engine.evaluate.stages import _eligible

FAST = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@given(cases())
@FAST
def test_a_nudge_plan_decides_its_rule_condition_as_the_compiled_gate_does(case):
    """The basket stage takes a rule's liveness from its nudge plan instead of calling ``live``,
    and a threshold on the rule's own lines from the total the stage measured."""
    ruleset, request = case
    program = compile_ruleset(ruleset)
    amounts = validate_request(ruleset, request, program.tier_ranks)
    member = request.member
    rank = program.tier_ranks.get(member.tier) if member is not None else None
    ctx = Context(request, program.zone, amounts, rank)
    # Some state as a stage would leave it: a line locked, another partly taken.
    if len(amounts) > 1:
        ctx.locked[0] = True
        ctx.remaining[1] //= 2
    for plans in program.basket_plans.values():
        for m, plan in plans:
            _, total = _eligible(ctx, m)
            holds, _ = rule_nudges(plan, ctx, total)
            assert holds == bool(m.live(ctx, -1)), m.id
            for t in plan.thresholds:
                if t.own:  # the stage's eligible total stands for the measure
                    assert t.measure(ctx, -1) == total, m.id
