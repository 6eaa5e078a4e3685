"""Backtest throughput: stored sales replayed per second, and where the time goes.

Seeds ``--sales`` synthetic sales (benchmarks/seed_sales.py, baskets from the health
ruleset's examples, each with the reply the desk would store; nine in ten asked for
``explain``) into a SQLite file (kept between runs), then replays them under a candidate
(the a_class rule at 9折 instead of 9.5折). Printed, with the machine's load average:

- ``read``: the scan alone (rows/s), in this process;
- ``ceiling``: the scan plus decoding every row (request JSON -> engine request, and the
  stored reply -> the before side), in this process: no backtest on one core beats it;
- ``start``: spawning the workers, compiling both versions in each and connecting (a day with
  no sales);
- each ``--modes`` x ``--workers`` run: wall time, sales/s, and per sale the CPU seconds of
  each stage summed over the workers (read, decode, before, after, add up), and what that CPU
  time gives on free cores (the machine is shared: wall time counts the neighbours' work).
  ``stored`` is what ``promo backtest`` does: each worker reads its own days and reads the
  before side from the stored reply when it has the explanation; ``shipped`` is the same
  pricing with the rows read here and shipped to the workers (the design before); ``reprice``
  prices every sale under its version again (``promo backtest --reprice-before``).

Runs alternate modes and worker counts in one process so their ratios survive a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
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
from server.backtest.replay import Versions, replay, replay_period  # noqa: E402
from server.backtest.requests import engine_request  # noqa: E402
from server.backtest.sales import count_sales, period_sales, sources_of  # noqa: E402
from server.backtest.summary import stored_outcome  # noqa: E402
from server.storage.store import Ledger  # noqa: E402

FIRST, DAYS = date(2026, 11, 1), 30


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def _ceiling(ledger: Ledger, last: date) -> None:
    """The scan alone, then the scan and decoding every row, in this process."""
    t0, c0 = time.perf_counter(), time.process_time()
    scanned = sum(len(batch) for batch in period_sales(ledger, FIRST, last))
    read_s, read_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"read: {scanned} rows in {read_s:.2f} s ({scanned / read_s:,.0f} rows/s); "
        f"CPU {read_cpu:.2f} s ({scanned / read_cpu:,.0f} rows per CPU second)"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    for batch in period_sales(ledger, FIRST, last):
        for _tid, _day, _digest, stored, reply in batch:
            data = json.loads(stored)
            engine_request(data["request"])
            if data["request"].get("explain"):
                stored_outcome(json.loads(reply))
    ceiling_s, ceiling_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"ceiling (read + decode, one process): {scanned} rows in {ceiling_s:.2f} s "
        f"({scanned / ceiling_s:,.0f} rows/s); CPU {ceiling_cpu:.2f} s "
        f"({scanned / ceiling_cpu:,.0f} rows per CPU second)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="worker counts (1 or more), comma separated")
    parser.add_argument("--modes", default="stored,shipped,reprice", help="stored, shipped, reprice")
    parser.add_argument(
        "--db", default="/tmp/promo-bench-backtest.db", help="SQLite file (reused if it has the sales)"
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the read and ceiling passes")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    modes = args.modes.split(",")

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
    print(_load())

    if not args.no_ceiling:
        _ceiling(ledger, last)

    url = f"sqlite:///{args.db}"

    base = Versions(("candidate.rules", candidate), sources_of(ledger, FIRST, last))
    reprice = Versions(base.candidate, base.baseline, None, True)
    days = [date.fromordinal(FIRST.toordinal() + k) for k in range(DAYS)]
    runs = {
        "stored": lambda w: replay_period(base, url, days, w),
        "shipped": lambda w: replay(base, period_sales(ledger, FIRST, last), w),
        "reprice": lambda w: replay_period(reprice, url, days, w),
    }
    for workers in counts:
        t0 = time.perf_counter()
        replay_period(base, url, [date(2000, 1, 1)], workers)
        print(f"start {workers} workers (spawn, compile, connect): {time.perf_counter() - t0:.2f} s")
    walls: dict[tuple[str, int], float] = {}
    for workers in counts:
        for mode in modes:
            t0 = time.perf_counter()
            summary, timings = runs[mode](workers)
            wall = time.perf_counter() - t0
            walls[mode, workers] = wall
            per_sale = {k: v / max(1, summary.sales) * 1e6 for k, v in timings.stages.items()}
            stages = ", ".join(f"{k} {v:.0f} us" for k, v in per_sale.items())
            cpu = sum(timings.stages.values())
            print(
                f"{mode:8} workers {workers}: {summary.sales} sales in {wall:.2f} s = "
                f"{summary.sales / wall:,.0f} sales/s ({summary.changed} change); CPU per sale: {stages} "
                f"= {cpu / max(1, summary.sales) * 1e6:.0f} us, {summary.sales / cpu:,.0f} sales per CPU "
                f"second ({summary.sales / cpu * workers:,.0f}/s on {workers} free cores); {_load()}"
            )
    for mode in modes:
        if len(counts) > 1:
            lo, hi = min(counts), max(counts)
            print(f"{mode}: {hi} workers / {lo}: x{walls[mode, lo] / walls[mode, hi]:.2f}")
    for other in ("shipped", "reprice"):
        if "stored" in modes and other in modes:
            for workers in counts:
                ratio = walls[other, workers] / walls["stored", workers]
                print(f"workers {workers}: stored is x{ratio:.2f} the speed of {other}")
    ledger.engine.dispose()


if __name__ == "__main__":
    main()
