"""Price stored sales under the candidate, and read or price them under the baseline, in workers.

Each worker compiles the candidate and the baseline versions once (from their source text:
compiled programs hold generated code and do not pickle), then takes batches of stored
sales and returns one :class:`Summary` per batch, so only totals cross process boundaries.
Each worker also times its stages (read, decode, before, after, add up) in CPU seconds for the
benchmark: on a shared machine, wall time would count the neighbours' work too.

**Before** is what the sale really got when the version that priced it is the baseline (no
``--against``) and its stored reply carries the explanation (the till asked for ``explain``):
that reply is read, not priced again; it is the answer of that very version, budget caps
included. Otherwise (``--against``, a reply without the per-line discounts, or
``reprice_before``) the baseline prices the stored request again. Both sides are priced within
the budgets and limits the sale saw (the ``usage`` it stored), so the same ruleset changes nothing.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from engine.compiled import CompiledRuleset
from engine.errors import InvalidRequest
from engine.usage import UsageLeft
from server.backtest.budgets import campaign_sources
from server.backtest.requests import engine_request
from server.backtest.sales import StoredSale
from server.backtest.summary import Outcome, Summary, outcome_of, stored_outcome

__all__ = ["Timings", "Versions", "replay", "replay_batch", "replay_period"]

Sources = dict[str, tuple[str, str] | None]  # digest -> (name, source text)


@dataclass(frozen=True, slots=True)
class Versions:
    """The sources a worker compiles: the candidate, and the baseline per digest or one ``against``."""

    candidate: tuple[str, str]  # (file name, source text)
    baseline: Sources
    against: tuple[str, str] | None = None
    reprice_before: bool = False  # price every sale under its baseline even when its reply is stored


@dataclass
class Timings:
    """CPU seconds each stage took, summed over the workers' batches."""

    stages: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("decode", "before", "after", "add"), 0.0)
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
        self.campaign_of = campaign_sources(self.candidate.ruleset)
        self.against = build(*versions.against) if versions.against else None
        self.read_stored = self.against is None and not versions.reprice_before
        self.baseline: dict[str, CompiledRuleset | None] = {}
        if self.against is None:
            for digest, found in versions.baseline.items():
                compiled = build(f"{found[0]}.rules", found[1]) if found else None
                self.baseline[digest] = (
                    compiled if compiled is not None and compiled.digest == digest else None
                )

    def batch(self, rows: list[StoredSale]) -> tuple[Summary, Timings]:
        summary, timings = Summary(campaign_of=self.campaign_of), Timings()
        t = timings.stages
        clock = time.process_time  # CPU seconds: on a shared machine wall time counts the neighbours
        loads = json.loads
        for tid, day, digest, stored, reply in rows:
            t0 = clock()
            data = loads(stored)
            wire = data["request"]
            try:
                request = engine_request(wire)
            except InvalidRequest as exc:
                summary.fail("stored", f"{exc.field}: {exc.message}")
                continue
            usage = data.get("usage")
            if usage is not None:
                request = replace(request, usage=UsageLeft(usage["blocked"], usage["money_left"]))
            t1 = clock()
            before = self._stored(digest, wire, reply) if self.read_stored else None
            if before is None:
                baseline = self.against or self.baseline.get(digest)
                if baseline is None:
                    summary.fail("before", f"version {digest[:12]} is not stored")
                    continue
                try:
                    before = outcome_of(baseline.evaluate(request))
                except InvalidRequest as exc:
                    summary.fail("before", f"{exc.field}: {exc.message}")
                    continue
            t2 = clock()
            try:
                after = outcome_of(self.candidate.evaluate(request))
            except InvalidRequest as exc:
                summary.fail("after", f"{exc.field}: {exc.message}")
                continue
            t3 = clock()
            summary.add(tid, day, before, after)
            t4 = clock()
            t["decode"] += t1 - t0
            t["before"] += t2 - t1
            t["after"] += t3 - t2
            t["add"] += t4 - t3
        return summary, timings

    def _stored(self, digest: str, wire: dict, reply: str) -> Outcome | None:
        """The stored reply as the before side, when it is the explained answer of a known version."""
        if not wire.get("explain"):
            return None
        data = json.loads(reply)
        if not data.get("lines") or data.get("ruleset", {}).get("digest", digest) != digest:
            return None
        return stored_outcome(data)


_PRICER: _Pricer | None = None
_LEDGER: object | None = None  # a worker's own connection to the ledger (replay_period)
_DONE: Any = None  # sales priced so far, shared by the workers, for the progress bar


def _init(versions: Versions, url: str | None = None, done: Any = None) -> None:
    global _PRICER, _LEDGER, _DONE
    _PRICER = _Pricer(versions)
    if url is not None:
        from server.storage.store import Ledger

        _LEDGER = Ledger.open(url, migrate=False)
    _DONE = done


def replay_day(day: date) -> tuple[Summary, Timings]:
    """A worker's job in :func:`replay_period`: one local day read from the ledger and priced."""
    from server.backtest.sales import period_sales

    assert _PRICER is not None and _LEDGER is not None, "replay_day runs in a worker of replay_period()"
    total, timings = Summary(campaign_of=_PRICER.campaign_of), Timings()
    read = 0.0
    clock = time.process_time
    t0 = clock()
    for rows in period_sales(_LEDGER, day, day, batch=500):  # type: ignore[arg-type]
        read += clock() - t0
        summary, spent = _PRICER.batch(rows)
        total.merge(summary)
        timings.merge(spent)
        with _DONE.get_lock():
            _DONE.value += len(rows)
        t0 = clock()
    timings.stages["read"] = timings.stages.get("read", 0.0) + read
    return total, timings


def replay_period(
    versions: Versions,
    url: str,
    days: list[date],
    workers: int,
    progress: Callable[[int], None] = lambda n: None,
) -> tuple[Summary, Timings]:
    """The sales of ``days``, each day read and priced by a worker with its own connection.

    Nothing but a date goes to a worker and nothing but totals come back: no sale crosses a
    process boundary. Each day is read in its own transaction (the past does not change).
    """
    total, timings = Summary(), Timings()
    context = multiprocessing.get_context("spawn")  # no fork of a process holding database connections
    done = context.Value("q", 0)
    shown = 0
    with context.Pool(workers, initializer=_init, initargs=(versions, url, done)) as pool:
        results = pool.imap(replay_day, days)  # in day order: the sample is the same every run
        while True:
            try:
                summary, spent = results.next(timeout=0.25)
            except multiprocessing.TimeoutError:
                summary = None
            except StopIteration:
                break
            if summary is not None:
                total.merge(summary)
                timings.merge(spent)
            now = done.value
            if now > shown:
                progress(now - shown)
                shown = now
    if done.value > shown:
        progress(done.value - shown)
    return total, timings


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
