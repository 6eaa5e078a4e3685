"""Tiny timing helpers: per-call samples, percentiles in microseconds."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

__all__ = ["percentiles", "sample"]


def sample(fn: Callable[[], object], *, calls: int, warmup: int = 200) -> list[int]:
    """Nanoseconds of each of ``calls`` calls of ``fn`` (GC paused, as a server's hot path would be)."""
    for _ in range(warmup):
        fn()
    out = []
    clock = time.perf_counter_ns
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(calls):
            t0 = clock()
            fn()
            out.append(clock() - t0)
    finally:
        if enabled:
            gc.enable()
    return out


def percentiles(samples: list[int]) -> tuple[float, float]:
    """(p50, p99) in microseconds. Floats are fine here: these are timings, never money."""
    ordered = sorted(samples)
    n = len(ordered)
    return ordered[n // 2] / 1000, ordered[min(n - 1, (n * 99) // 100)] / 1000
