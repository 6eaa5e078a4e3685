"""Instructions per evaluation of the unit-form cases of bench_engine.py, counted by callgrind.

    python benchmarks/count_instructions.py [--calls N]

Wall-clock timings on a shared machine are noisy; instruction counts are not. Each case is
run under ``valgrind --tool=callgrind`` evaluating its basket ``N`` times after the same
set-up and warm-up, and once more with no timed evaluations: the difference over ``N`` is
the cost of one evaluation. Prints the counts and their ratio to the health programme; the
unit rules' own cost is the difference between "health + 4 unit rules" and health.
Numbers only. Needs valgrind; takes about a minute.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import unit_form_cases  # noqa: E402

WARMUP = 20


def run_case(case: int, calls: int) -> None:
    """Under valgrind: build every case, warm each up, then evaluate case ``case`` ``calls`` times."""
    cases = unit_form_cases()
    for _, compiled, request in cases:
        for _ in range(WARMUP):
            compiled.evaluate(request)
    _, compiled, request = cases[case]
    gc.disable()  # as benchmarks/timing.py: a collection would land in one run and not the other
    for _ in range(calls):
        compiled.evaluate(request)


def instructions(case: int, calls: int) -> int:
    """Instructions callgrind counted for a child process running :func:`run_case`."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        str(case),
        "--calls",
        str(calls),
    ]
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same string hashes, the same dict probes
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    assert found is not None, done.stderr
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="evaluations counted per case")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run_case(args.child, args.calls)
        return
    names = [name for name, _, _ in unit_form_cases()]
    start = instructions(0, 0)  # set-up and warm-up are the same for every case
    counts = [(instructions(k, args.calls) - start) // args.calls for k in range(len(names))]
    print(f"instructions per evaluation, 10-line baskets ({args.calls} evaluations counted)")
    for name, count in zip(names, counts, strict=True):
        extra = count - counts[0]
        print(f"  {name:<22} {count:9,}   x{count / counts[0]:.2f}   {extra:+9,} over health")


if __name__ == "__main__":
    main()
