"""Engine benchmark: microseconds per evaluation, and parse + check + compile time.

    python benchmarks/bench_engine.py [--calls N] [--quick]

Prints p50 / p99 per evaluation for baskets of 1, 10 and 50 lines on every bundled
ruleset and on generated rulesets of 10, 100 and 1,000 rules; the hand-written
health-chain baselines beside the engine with the ratio from the same run (over plain
values, end to end from the wire's request to the reply and ``evaluate()`` alone; and
returning the engine's own result objects) with the floor under ``evaluate()``
(benchmarks/engine_floor.py); the cost of building request lines; the
unit-level forms (买N赠M, 第N件, 任选N件, 满赠: rulesets/cosmetics.rules) against the
health programme on 10-line baskets, interleaved; and the time to load each ruleset.
Numbers only: no pass/fail here (tests check results).
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
from engine.compiled import CompiledRuleset, compile_ruleset  # noqa: E402
from engine.model import Request  # noqa: E402
from server._pb.promo.v1 import promo_pb2 as pb  # noqa: E402

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


def wire_request(request: Request, ruleset: str) -> pb.EvaluateRequest:
    """``request`` as a till sends it."""
    msg = pb.EvaluateRequest(ruleset=ruleset, time=request.at.isoformat(), transaction_id="T1")
    member = request.member
    if member is not None:
        msg.member.tier = member.tier
        if member.birthday is not None:
            msg.member.birthday = member.birthday.isoformat()
    for line in request.lines:
        msg.lines.add(
            id=line.id,
            name=line.name,
            sku=line.sku,
            category=line.category,
            tags=sorted(line.tags),
            unit_price_fen=line.unit_price,
            quantity_milli=line.quantity,
            tax_rate=str(line.tax),
            tax_code=line.tax_code,
        )
    return msg


def bench_plain(calls: int) -> None:
    """The engine against the health programme by hand over plain values, end to end and evaluate() alone."""
    from benchmarks.engine_floor import floor_of
    from benchmarks.plain_health import evaluate_plain, price_wire_by_hand, read_wire
    from server.wire.reply import evaluation_to_proto
    from server.wire.request import request_from_proto

    compiled = compile_ruleset(dsl.load_path(ROOT / "rulesets" / "health"))
    name, version, digest = compiled.name, compiled.version, compiled.digest

    def engine_end_to_end(msg: pb.EvaluateRequest) -> pb.EvaluateReply:
        evaluation = compiled.evaluate(request_from_proto(msg))
        return evaluation_to_proto(
            evaluation, digest=digest, transaction_id=msg.transaction_id, explain=False
        )

    print("health chain, engine vs by hand over plain values (us p50 / p99; ratio of p50; targets x2, x1.5)")
    for n in SIZES:
        msg = wire_request(basket_from_examples(compiled, n), name)
        if engine_end_to_end(msg) != price_wire_by_hand(msg, name, version, digest):
            raise SystemExit(f"the plain-values baseline disagrees with the engine on {n} lines")
        request, plain = request_from_proto(msg), read_wire(msg)
        cells = []
        for label, engine_fn, hand_fn in (
            (
                "end to end",
                lambda m=msg: engine_end_to_end(m),
                lambda m=msg: price_wire_by_hand(m, name, version, digest),
            ),
            ("evaluate()", lambda r=request: compiled.evaluate(r), lambda p=plain: evaluate_plain(p)),
        ):
            e50, e99 = percentiles(sample(engine_fn, calls=calls))
            h50, h99 = percentiles(sample(hand_fn, calls=calls))
            cells.append(f"{label} {e50:6.1f} / {e99:6.1f} vs {h50:6.1f} / {h99:6.1f} x{e50 / h50:.2f}")
        f50 = percentiles(sample(floor_of(compiled, request), calls=calls))[0]
        cells.append(f"floor {f50:5.1f} = x{f50 / h50:.2f} of by hand")  # h50: evaluate_plain's
        print(f"  {n:>2} lines  " + "   ".join(cells))
    print("  floor: validation, Context and the result objects of that answer, no rule run (engine_floor.py)")


def bench_lines(calls: int) -> None:
    """engine.model.Line against the frozen dataclass it was (the same fields), built as the wire does."""
    from dataclasses import fields, make_dataclass

    from engine.model import Line, TaxRate

    spec = [(f.name, f.type, f) for f in fields(Line)]
    frozen = make_dataclass("FrozenLine", spec, frozen=True, slots=True)
    tax = TaxRate.parse("13%")
    args = ("1", "*日用品*洗发水", 4990, 1000, tax, "sku", "A类", "brand", frozenset(), "1070223", "瓶", "")
    print("building 10 request lines, positional as server/wire/request.py does (us p50 / p99)")
    for name, cls in (("Line (slots dataclass)", Line), ("frozen slots dataclass", frozen)):
        p50, p99 = percentiles(sample(lambda c=cls: [c(*args) for _ in range(10)], calls=calls))
        print(f"  {name:<28} {p50:7.2f} / {p99:7.2f}")


# The health programme plus one rule of each unit form, on goods its own 10-line basket holds:
# the same basket priced with and without them shows what the forms themselves cost.
UNIT_CAMPAIGN = (
    'campaign "unit-forms" {\n  owner "bench"\n  label "one rule of each unit form"\n  status live\n}\n'
)
HEALTH_UNIT_RULES = """
rule b_321 "B类 买二赠一" {
  when item.category = "B类"
  then buy 2 get 1 free max 2 times
}

rule device_half "器械 第二件半价" {
  when item.category = "器械"
  then every 2nd unit 5折
}

rule a_any3 "A类 任选3件199元" {
  when item.category = "A类"
  then any 3 for 199.00
}

rule gift_300 "满300赠 保温杯" {
  when subtotal() >= 300.00
  then gift "RY-CUP" qty 1
}
"""


def unit_form_cases() -> list[tuple[str, CompiledRuleset, Request]]:
    """(name, ruleset, 10-line basket): health, health with one rule of each unit form, cosmetics.

    The first is the baseline the others are compared with (benchmarks/count_instructions.py too).
    """
    health = compile_ruleset(dsl.load_path(ROOT / "rulesets" / "health"))
    files = read_folder(ROOT / "rulesets" / "health")
    files["unit-forms.rules"] = UNIT_CAMPAIGN + HEALTH_UNIT_RULES  # one more campaign file
    with_units = compile_ruleset(dsl.load_files(files, "health + unit forms"))
    cosmetics = compile_ruleset(dsl.load_path(ROOT / "rulesets" / "cosmetics.rules"))
    basket = basket_from_examples(health, 10)
    return [
        ("health.rules", health, basket),
        ("health + 4 unit rules", with_units, basket),
        ("cosmetics.rules", cosmetics, basket_from_examples(cosmetics, 10)),
    ]


def bench_unit_forms(calls: int, rounds: int = 10) -> None:
    """The unit-level forms against the bundled health programme, 10-line baskets, one run.

    cosmetics.rules (every unit form with the older ones) on its own basket, and health.rules
    with one rule of each form added on health's basket. The rulesets are sampled in
    alternating rounds so a noisy neighbour slows them alike.
    """
    cases = unit_form_cases()
    got: list[list[int]] = [[] for _ in cases]
    for _ in range(rounds):
        for k, (_, compiled, request) in enumerate(cases):
            got[k] += sample(lambda r=request, c=compiled: c.evaluate(r), calls=max(1, calls // rounds))
    print("unit-level forms vs the health programme, 10-line baskets (us p50 / p99, ratio of p50)")
    base = percentiles(got[0])[0]
    unit_ids = {r.id for _, c, _ in cases[1:] for r in c.ruleset.rules if r.stage == "item"}
    for (name, compiled, request), samples in zip(cases, got, strict=True):
        p50, p99 = percentiles(samples)
        ev = compiled.evaluate(request)
        took = sorted({d.source for line in ev.lines for d in line.discounts if d.source in unit_ids})
        prompts = len(ev.free_units) + len(ev.gifts)
        what = f"item rules that took fen: {', '.join(took) or '-'}; prompts {prompts}"
        print(f"  {name:<22} {p50:7.1f} / {p99:7.1f}   x{p50 / base:.2f}   {what}")


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
    bench_plain(calls)
    bench_handwritten(calls)
    bench_lines(calls)
    bench_unit_forms(calls)
    bench_bundled(calls)
    bench_generated(calls)
    bench_load(3 if args.quick else 7)


if __name__ == "__main__":
    main()
