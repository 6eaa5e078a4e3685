"""Backtest throughput: stored sales replayed per second, and where the time goes.

Seeds ``--sales`` synthetic sales (benchmarks/seed_sales.py, baskets from the health
ruleset's examples) into a SQLite file (kept between runs), then replays them under a
candidate (the a_class rule at 9折 instead of 9.5折) with 1 and with ``--workers`` processes
in the same run, so the ratio survives a noisy machine. Stages: reading the rows (the scan
alone, timed apart), then per sale in the workers: parse (JSON -> protobuf -> engine request),
before, after, add up (CPU seconds summed over the workers).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import dsl  # noqa: E402
from benchmarks.seed_sales import seed_sales  # noqa: E402
from dsl.programme import bundle_text, read_folder  # noqa: E402
from engine.compiled import compile_ruleset  # noqa: E402
from server.backtest.replay import Versions, replay  # noqa: E402
from server.backtest.sales import count_sales, period_sales, sources_of  # noqa: E402
from server.storage.store import Ledger  # noqa: E402

FIRST, DAYS = date(2026, 11, 1), 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--db", default="/tmp/promo-bench-backtest.db", help="SQLite file (reused if it has the sales)"
    )
    args = parser.parse_args()

    health = bundle_text(read_folder(ROOT / "rulesets" / "health"))  # the programme folder as one text
    candidate = health.replace("then item discount 9.5折", "then item discount 9折")
    ledger = Ledger.open(f"sqlite:///{args.db}")
    last = date.fromordinal(FIRST.toordinal() + DAYS - 1)
    have = count_sales(ledger, FIRST, last)
    if have != args.sales:
        ledger.engine.dispose()
        Path(args.db).unlink(missing_ok=True)
        ledger = Ledger.open(f"sqlite:///{args.db}")
        t0 = time.perf_counter()
        seed_sales(ledger, compile_ruleset(dsl.load(health, "health.rules")), args.sales, FIRST, DAYS)
        print(f"seeded {args.sales} sales in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    scanned = sum(len(batch) for batch in period_sales(ledger, FIRST, last))
    read_s = time.perf_counter() - t0
    print(f"read: {scanned} rows in {read_s:.2f} s ({scanned / read_s:,.0f} rows/s)")

    versions = Versions(("candidate.rules", candidate), sources_of(ledger, FIRST, last))
    walls = {}
    for workers in sorted({1, args.workers}):
        t0 = time.perf_counter()
        summary, timings = replay(versions, period_sales(ledger, FIRST, last), workers)
        wall = time.perf_counter() - t0
        walls[workers] = wall
        per_sale = {k: v / max(1, summary.sales) * 1e6 for k, v in timings.stages.items()}
        stages = ", ".join(f"{k} {v:.0f} us" for k, v in per_sale.items())
        print(
            f"workers {workers}: {summary.sales} sales in {wall:.2f} s = {summary.sales / wall:,.0f} sales/s "
            f"({summary.changed} change); per sale: {stages}"
        )
    if len(walls) == 2:
        print(f"speed-up with {args.workers} workers: x{walls[1] / walls[args.workers]:.2f}")
    ledger.engine.dispose()


if __name__ == "__main__":
    main()
