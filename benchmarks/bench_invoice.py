"""Invoice and wire benchmark: microseconds per step of one Evaluate call, without gRPC.

    python benchmarks/bench_invoice.py [--calls N] [--repeat R] [--explain]

Runs the steps the service runs for one request (``request_from_proto``, ``evaluate``,
``build_invoice``, ``ensure_invoice``, ``split_invoice``, ``evaluation_to_proto`` with the invoices, and
``SerializeToString``) on 10- and 50-line baskets cycled from the bundled gold-member
sample, and prints the p50 of each step (the best of ``R`` repeats, since the machine
is shared and a neighbour only ever makes a step slower). Numbers only: no pass/fail.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import percentiles, sample  # noqa: E402
from engine.invoice.build import build_invoice  # noqa: E402
from engine.invoice.check import ensure_invoice  # noqa: E402
from engine.invoice.split import split_invoice  # noqa: E402
from server._pb.promo.v1 import promo_pb2 as pb  # noqa: E402
from server.cli.base import compile_path  # noqa: E402
from server.wire.reply import evaluation_to_proto  # noqa: E402
from server.wire.request import request_from_proto  # noqa: E402
from server.wire.request_json import request_from_json  # noqa: E402

SIZES = (10, 50)
STEPS = (
    "request_from_proto",
    "evaluate",
    "build_invoice",
    "ensure_invoice",
    "split_invoice",
    "evaluation_to_proto",
    "SerializeToString",
)


def health_basket(n_lines: int) -> pb.EvaluateRequest:
    """The gold sample request with ``n_lines`` lines cycled from its own (as bench_grpc sends it)."""
    text = (ROOT / "rulesets" / "requests" / "health-gold.json").read_text(encoding="utf-8")
    msg = request_from_json(text)
    pool = list(msg.lines)
    del msg.lines[:]
    for k in range(n_lines):
        line = msg.lines.add()
        line.CopyFrom(pool[k % len(pool)])
        line.id = str(k + 1)
    # as received: parsed from the wire, like the servicer's request
    return pb.EvaluateRequest.FromString(msg.SerializeToString())


def steps(compiled, msg: pb.EvaluateRequest, explain: bool) -> dict[str, Callable[[], object]]:  # type: ignore[no-untyped-def]
    """One zero-argument callable per step, each fed the previous step's (precomputed) result."""
    request = request_from_proto(msg)
    evaluation = compiled.evaluate(request)
    invoice = build_invoice(request, evaluation)
    ensure_invoice(invoice, request, evaluation)
    invoices = split_invoice(invoice)  # one invoice: the builder's own, after a drift test per rate
    reply = evaluation_to_proto(evaluation, invoices, digest=compiled.digest, explain=explain)
    return {
        "request_from_proto": lambda: request_from_proto(msg),
        "evaluate": lambda: compiled.evaluate(request),
        "build_invoice": lambda: build_invoice(request, evaluation),
        "ensure_invoice": lambda: ensure_invoice(invoice, request, evaluation),
        "split_invoice": lambda: split_invoice(invoice),
        "evaluation_to_proto": lambda: evaluation_to_proto(
            evaluation, invoices, digest=compiled.digest, explain=explain
        ),
        "SerializeToString": reply.SerializeToString,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="timed calls per step and repeat")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per step; the best p50 is shown")
    parser.add_argument("--explain", action="store_true", help="encode the explanation too")
    args = parser.parse_args()
    compiled = compile_path(str(ROOT / "rulesets" / "health"))
    print(f"us per call, p50 (best of {args.repeat} x {args.calls} calls), explain={args.explain}")
    print(f"  {'step':<22}" + "".join(f"{f'{n} lines':>12}" for n in SIZES))
    table: dict[str, list[float]] = {name: [] for name in STEPS}
    for n in SIZES:
        fns = steps(compiled, health_basket(n), args.explain)
        for name in STEPS:
            best = min(percentiles(sample(fns[name], calls=args.calls))[0] for _ in range(args.repeat))
            table[name].append(best)
    for name in STEPS:
        print(f"  {name:<22}" + "".join(f"{v:>12.1f}" for v in table[name]))
    totals = [sum(table[name][k] for name in STEPS) for k in range(len(SIZES))]
    invoice = [table["build_invoice"][k] + table["ensure_invoice"][k] for k in range(len(SIZES))]
    print(f"  {'build + ensure':<22}" + "".join(f"{v:>12.1f}" for v in invoice))
    print(f"  {'all steps':<22}" + "".join(f"{v:>12.1f}" for v in totals))


if __name__ == "__main__":
    main()
