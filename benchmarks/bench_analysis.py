"""How long `promo analyze` takes on a big ruleset (target: under 10 s for 1,000 rules).

The ruleset is benchmarks/generate.py's (five rules per category), plus one exclusive
clearance rule per 20 categories and one worked example, so every check has work: each
exclusive rule is tested against every rule and coupon it could shadow (and does shadow its
category's other item rules and 满减). Past sales are taken to have every SKU and category. Prints seconds per
size and the ratio to the smallest, so growth is visible on a noisy shared machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import dsl  # noqa: E402
from benchmarks.generate import generated_ruleset  # noqa: E402
from engine.analysis import analyze  # noqa: E402
from engine.compiled import compile_ruleset  # noqa: E402

_EXAMPLE = """
example "cat0 一件" {
  member tier gold
  at 2026-11-15 10:00
  line "x" sku "sku0" category "cat0" price 120.00 qty 1 tax 13%
  expect rule c0_0 0.00
}
"""


def ruleset_text(n_rules: int) -> str:
    text = generated_ruleset(n_rules)
    for c in range(0, max(2, n_rules // 5), 20):
        text += (
            f'rule clear{c} "清仓 {c}" {{\n  priority 50\n  exclusive\n'
            f'  when item.category = "cat{c}"\n  then item discount 5折\n}}\n'
        )
    return text + _EXAMPLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,250,500,1000", help="rule counts, comma separated")
    args = parser.parse_args()
    base = None
    print(f"{'rules':>6} {'compile s':>10} {'analyze s':>10} {'x smallest':>10}  findings")
    for n in (int(x) for x in args.sizes.split(",")):
        text = ruleset_text(n)
        t0 = time.perf_counter()
        compiled = compile_ruleset(dsl.load(text, f"generated-{n}.rules"))
        t1 = time.perf_counter()
        cats = max(2, n // 5)
        seen = {
            "item.category": [f"cat{c}" for c in range(cats)],
            "item.sku": [f"sku{c}" for c in range(cats)],
        }
        result = analyze(compiled, as_of=date(2026, 11, 1), seen=seen)
        t2 = time.perf_counter()
        base = base or (t2 - t1)
        rules = len(compiled.ruleset.rules)
        kinds = Counter(f.kind for f in result.findings)
        said = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        print(f"{rules:>6} {t1 - t0:>10.2f} {t2 - t1:>10.2f} {(t2 - t1) / base:>10.1f}  {said}")


if __name__ == "__main__":
    main()
