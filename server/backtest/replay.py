"""Price stored sales twice, before and after, in worker processes.

Each worker compiles the candidate and the baseline versions once (from their source text:
compiled programs hold generated code and do not pickle), then takes batches of stored
sales and returns one :class:`Summary` per batch, so only totals cross process boundaries.
Each worker also times its stages (parse, before, after, add up) for the benchmark.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from server.backtest.requests import parse_stored
from server.backtest.sales import StoredSale
from server.backtest.summary import Summary
from server.wire.request import request_from_proto

__all__ = ["Timings", "Versions", "replay", "replay_batch"]

Sources = dict[str, tuple[str, str] | None]  # digest -> (name, source text)


@dataclass(frozen=True, slots=True)
class Versions:
    """The sources a worker compiles: the candidate, and the baseline per digest or one ``against``."""

    candidate: tuple[str, str]  # (file name, source text)
    baseline: Sources
    against: tuple[str, str] | None = None


@dataclass
class Timings:
    """Seconds each stage took, summed over the workers' batches."""

    stages: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("parse", "before", "after", "add"), 0.0)
    )

    def merge(self, other: Timings) -> None:
        for k, v in other.stages.items():
            self.stages[k] = self.stages.get(k, 0.0) + v


class _Pricer:
    def __init__(self, versions: Versions) -> None:
        import dsl
        from engine.compiled import compile_ruleset

        def build(name: str, text: str) -> CompiledRuleset:
            return compile_ruleset(dsl.load(text, name))

        self.candidate = build(*versions.candidate)
        self.against = build(*versions.against) if versions.against else None
        self.baseline: dict[str, CompiledRuleset | None] = {}
        if self.against is None:
            for digest, found in versions.baseline.items():
                compiled = build(f"{found[0]}.rules", found[1]) if found else None
                self.baseline[digest] = (
                    compiled if compiled is not None and compiled.digest == digest else None
                )

    def batch(self, rows: list[StoredSale]) -> tuple[Summary, Timings]:
        summary, timings = Summary(), Timings()
        t = timings.stages
        clock = time.perf_counter
        for tid, day, digest, stored in rows:
            t0 = clock()
            msg = parse_stored(json.loads(stored)["request"])
            try:
                request = request_from_proto(msg)
            except InvalidRequest as exc:
                summary.fail("stored", f"{exc.field}: {exc.message}")
                continue
            t1 = clock()
            baseline = self.against or self.baseline.get(digest)
            if baseline is None:
                summary.fail("before", f"version {digest[:12]} is not stored")
                continue
            try:
                before = baseline.evaluate(request)
            except InvalidRequest as exc:
                summary.fail("before", f"{exc.field}: {exc.message}")
                continue
            t2 = clock()
            try:
                after = self.candidate.evaluate(request)
            except InvalidRequest as exc:
                summary.fail("after", f"{exc.field}: {exc.message}")
                continue
            t3 = clock()
            summary.add(tid, day, before, after)
            t4 = clock()
            t["parse"] += t1 - t0
            t["before"] += t2 - t1
            t["after"] += t3 - t2
            t["add"] += t4 - t3
        return summary, timings


_PRICER: _Pricer | None = None


def _init(versions: Versions) -> None:
    global _PRICER
    _PRICER = _Pricer(versions)


def replay_batch(rows: list[StoredSale]) -> tuple[Summary, Timings]:
    """A worker's job: one batch priced before and after (the pricer was built by the initializer)."""
    assert _PRICER is not None, "replay_batch runs in a worker started by replay()"
    return _PRICER.batch(rows)


def replay(
    versions: Versions,
    batches: Iterable[list[StoredSale]],
    workers: int,
    progress: Callable[[int], None] = lambda n: None,
) -> tuple[Summary, Timings]:
    """Every batch priced before and after, by ``workers`` processes (0: in this process)."""
    total, timings = Summary(), Timings()
    if workers <= 0:
        pricer = _Pricer(versions)
        results: Iterator[tuple[Summary, Timings]] = (pricer.batch(rows) for rows in batches)
        for summary, spent in results:
            total.merge(summary)
            timings.merge(spent)
            progress(summary.sales)
        return total, timings
    context = multiprocessing.get_context("spawn")  # no fork of a process holding database connections
    with context.Pool(workers, initializer=_init, initargs=(versions,)) as pool:
        for summary, spent in pool.imap(replay_batch, batches):
            total.merge(summary)
            timings.merge(spent)
            progress(summary.sales)
    return total, timings
