"""Bucket aggregation of one point's samples: pure, no I/O.

Buckets are aligned to UTC multiples of the interval (a day bucket starts at midnight UTC) and
each non-empty bucket gives one sample timestamped with the bucket's start. Text values accept
only `first`, `last` and `count`; the numeric aggregates refuse them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from enum import Enum

from .series import PointSeries, Value, any_text

MINUTE_MS = 60_000

INTERVALS_MS: dict[str, int] = {
    "1min": MINUTE_MS,
    "5min": 5 * MINUTE_MS,
    "1hr": 60 * MINUTE_MS,
    "1day": 1_440 * MINUTE_MS,
}


class Agg(str, Enum):
    """How a bucket's samples become one value."""

    AVG = "avg"
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    COUNT = "count"
    FIRST = "first"
    LAST = "last"


TEXT_AGGS = frozenset({Agg.FIRST, Agg.LAST, Agg.COUNT})

_REDUCERS: dict[Agg, Callable[[Sequence[Value]], Value]] = {
    Agg.AVG: lambda values: sum(values) / len(values),  # type: ignore[arg-type]
    Agg.MIN: min,  # type: ignore[dict-item]
    Agg.MAX: max,  # type: ignore[dict-item]
    Agg.SUM: sum,  # type: ignore[dict-item]
    Agg.COUNT: len,
    Agg.FIRST: lambda values: values[0],
    Agg.LAST: lambda values: values[-1],
}


class TextValuesError(ValueError):
    """A numeric aggregate was asked of text values."""


def bucket_start(epoch_ms: int, interval_ms: int) -> int:
    """The start of the UTC-aligned bucket holding this instant."""
    return epoch_ms - epoch_ms % interval_ms


def aggregate(points: PointSeries, interval_ms: int, agg: Agg) -> PointSeries:
    """One sample per non-empty bucket, stamped with the bucket start; times must be sorted."""
    if interval_ms <= 0:
        raise ValueError("interval_ms must be positive")
    if agg not in TEXT_AGGS and any_text(points.values):
        raise TextValuesError(f"{agg.value} needs numeric values; text points accept first, last or count")
    reduce = _REDUCERS[agg]
    out = PointSeries()
    times, values = points.times, points.values
    index = 0
    while index < len(times):
        start = bucket_start(times[index], interval_ms)
        stop = bisect_left(times, start + interval_ms, index)
        out.times.append(start)
        out.values.append(reduce(values[index:stop]))
        index = stop
    return out
