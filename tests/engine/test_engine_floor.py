"""The floor bench_engine.py prints under evaluate() rebuilds the engine's very answer.

If the result model gains a field or a stage starts writing something the floor does not
copy, the floor would measure less than the contract; it refuses instead, and so does this test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import dsl
from benchmarks.bench_engine import basket_from_examples
from benchmarks.engine_floor import floor_of
from engine.compiled import compile_ruleset

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"
PROGRAMMES = sorted([p.parent for p in RULESETS.glob("*/programme.rules")] + [RULESETS / "cosmetics.rules"])


@pytest.mark.parametrize("path", PROGRAMMES, ids=lambda p: p.name)
@pytest.mark.parametrize("n_lines", [1, 10])
def test_the_floor_rebuilds_each_bundled_answer(path: Path, n_lines: int) -> None:
    compiled = compile_ruleset(dsl.load_path(path))
    request = basket_from_examples(compiled, n_lines)
    assert floor_of(compiled, request)() == compiled.evaluate(request)


def test_the_floor_refuses_an_answer_it_cannot_rebuild() -> None:
    compiled = compile_ruleset(dsl.load_path(RULESETS / "health"))
    request = basket_from_examples(compiled, 10)

    class Drifted(type(compiled)):  # an answer whose subtotal is not its lines' amounts
        def evaluate(self, request):  # type: ignore[no-untyped-def]
            answer = super().evaluate(request)
            return answer._replace(subtotal=answer.subtotal + 1)

    with pytest.raises(AssertionError, match="does not rebuild"):
        floor_of(Drifted(compiled.ruleset), request)
