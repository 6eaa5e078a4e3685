"""RFM segments: which of the programme's segments a member is in, from three figures.

Recency is the days from the last purchase's local day to the day of the run (None: never
bought, so every recency test is false); frequency the sales in the 365 days up to that day;
monetary what they paid in those days, fen, net of returns. The first segment (file order)
whose tests all hold wins; none: the empty segment.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from engine.rules import Segment, SegmentTest

__all__ = ["WINDOW_DAYS", "segment_of"]

WINDOW_DAYS = 365

_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}


def _holds(test: SegmentTest, recency: int | None, frequency: int, monetary: int) -> bool:
    value = {"recency": recency, "frequency": frequency, "monetary": monetary}[test.measure]
    return value is not None and _OPS[test.op](value, test.value)


def segment_of(segments: tuple[Segment, ...], recency: int | None, frequency: int, monetary: int) -> str:
    for segment in segments:
        if all(_holds(t, recency, frequency, monetary) for t in segment.tests):
            return segment.id
    return ""
