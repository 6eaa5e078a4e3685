"""Engine benchmark: microseconds per evaluation, and parse + check + compile time.

    python benchmarks/bench_engine.py [--calls N] [--quick]

Prints p50 / p99 per evaluation for baskets of 1, 10 and 50 lines on every bundled
ruleset and on generated rulesets of 10, 100 and 1,000 rules; the hand-written
health-chain baseline beside the engine with the ratio from the same run; and the
time to load each ruleset. Numbers only: no pass/fail here (tests check results).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dsl  # noqa: E402
from benchmarks.generate import generated_request, generated_ruleset  # noqa: E402
from benchmarks.timing import percentiles, sample  # noqa: E402
from dsl.programme import bundle_text, read_folder  # noqa: E402
from engine.check.run_examples import example_request  # noqa: E402
from engine.compiled import compile_ruleset  # noqa: E402
from engine.model import Request  # noqa: E402

SIZES = (1, 10, 50)


def basket_from_examples(compiled, n_lines: int) -> Request:  # type: ignore[no-untyped-def]
    """A basket of ``n_lines`` real goods, cycled from the ruleset's own examples."""
    examples = compiled.ruleset.examples
    with_member = [e for e in examples if e.member is not None] or list(examples)
    base = example_request(compiled.ruleset, with_member[0], compiled.zone)
    pool = [ln for e in examples for ln in example_request(compiled.ruleset, e, compiled.zone).lines]
    lines = tuple(replace(pool[k % len(pool)], id=str(k + 1)) for k in range(n_lines))
    return replace(base, lines=lines, coupons=(), redeem_points=0)


def bench_bundled(calls: int) -> None:
    print("bundled rulesets: us per evaluation (p50 / p99)")
    for path in sorted(p.parent for p in (ROOT / "rulesets").glob("*/programme.rules")):
        compiled = compile_ruleset(dsl.load_path(path))
        cells = []
        for n in SIZES:
            request = basket_from_examples(compiled, n)
            p50, p99 = percentiles(sample(lambda r=request, c=compiled: c.evaluate(r), calls=calls))
            cells.append(f"{n:>2} lines {p50:7.1f} / {p99:7.1f}")
        print(f"  {path.name:<28} " + "   ".join(cells))


def bench_generated(calls: int) -> None:
    print("generated rulesets: us per evaluation (p50 / p99), and the 10-line ratio to 10 rules")
    base_p50 = None
    for n_rules in (10, 100, 1000):
        compiled = compile_ruleset(dsl.load(generated_ruleset(n_rules), f"<generated {n_rules}>"))
        cells = []
        for n in SIZES:
            request = generated_request(n)
            p50, p99 = percentiles(sample(lambda r=request, c=compiled: c.evaluate(r), calls=calls))
            cells.append(f"{n:>2} lines {p50:7.1f} / {p99:7.1f}")
            if n == 10:
                base_p50 = base_p50 or p50
                ratio = p50 / base_p50
        print(f"  {n_rules:>5} rules  " + "   ".join(cells) + f"   10-line x{ratio:.2f} of 10 rules")


def bench_handwritten(calls: int) -> None:
    from benchmarks.handwritten_health import HEALTH_RULESET, evaluate_by_hand

    compiled = compile_ruleset(dsl.load_path(ROOT / "rulesets" / HEALTH_RULESET))
    print("health chain, engine vs hand-written Python (us p50 / p99, ratio of p50)")
    for n in SIZES:
        request = basket_from_examples(compiled, n)
        if compiled.evaluate(request) != evaluate_by_hand(request, compiled.version):
            raise SystemExit(f"the hand-written baseline disagrees with the engine on {n} lines")
        e50, e99 = percentiles(sample(lambda r=request, c=compiled: c.evaluate(r), calls=calls))
        h50, h99 = percentiles(sample(lambda r=request: evaluate_by_hand(r, compiled.version), calls=calls))
        engine_cell = f"engine {e50:7.1f} / {e99:7.1f}"
        print(f"  {n:>2} lines  {engine_cell}   by hand {h50:7.1f} / {h99:7.1f}   x{e50 / h50:.2f}")


def bench_load(repeat: int) -> None:
    print("parse + check + compile (ms, median of runs)")
    folders = sorted(p.parent for p in (ROOT / "rulesets").glob("*/programme.rules"))
    sources = [(p.name, bundle_text(read_folder(p))) for p in folders]  # every file of the programme
    sources += [(f"generated {n} rules", generated_ruleset(n)) for n in (10, 100, 1000)]
    for name, text in sources:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter_ns()
            compile_ruleset(dsl.load(text, name))
            times.append(time.perf_counter_ns() - t0)
        times.sort()
        print(f"  {name:<28} {times[len(times) // 2] / 1e6:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="timed evaluations per cell")
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    args = parser.parse_args()
    calls = 300 if args.quick else args.calls
    bench_handwritten(calls)
    bench_bundled(calls)
    bench_generated(calls)
    bench_load(3 if args.quick else 7)


if __name__ == "__main__":
    main()
