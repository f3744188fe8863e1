"""Planning policy: cutting requests into upstream calls and job parts; how many samples a response holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from .errors import TooLarge
from .timerange import DAY_MS, Span, days_in

DENSEST_SAMPLES_PER_DAY = 1_440  # a 1-minute collect_interval
MIN_WINDOW_MS = 3_600_000

PerDay = Mapping[str, int]
T = TypeVar("T")


def chunks(values: Sequence[T], size: int) -> Iterator[list[T]]:
    """`values` in consecutive lists of at most `size` (a job's batches, the values one D1 statement binds)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def density(per_day: PerDay | None, name: str) -> int:
    """A point's samples a day: known from its collect_interval, else the densest interval."""
    return (per_day or {}).get(name, DENSEST_SAMPLES_PER_DAY)


def pack(points: Sequence[str], weight: Callable[[str], float], budget: float) -> list[tuple[str, ...]]:
    """Consecutive groups of points whose summed weight stays within `budget` (at least one each)."""
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    load = 0.0
    for name in points:
        if current and load + weight(name) > budget:
            groups.append(tuple(current))
            current, load = [], 0.0
        current.append(name)
        load += weight(name)
    if current:
        groups.append(tuple(current))
    return groups


def plan_calls(
    points: Sequence[str], span: Span, page_samples: int, per_day: PerDay | None = None
) -> list[tuple[tuple[str, ...], Span]]:
    """Cut a request into (point group, time window) calls of at most ~page_samples samples."""
    calls = []
    for group in pack(points, lambda name: density(per_day, name), page_samples):
        daily = sum(density(per_day, name) for name in group)
        window = max(MIN_WINDOW_MS, page_samples * DAY_MS // daily)
        for start in range(span.start_ms, span.end_ms, window):
            calls.append((group, Span(start, min(span.end_ms, start + window))))
    return calls


def part_groups(
    points: Sequence[str], span: Span, part_samples: int, per_day: PerDay | None = None
) -> list[tuple[str, ...]]:
    """Split a job batch's points so each part's samples over the whole span stay under `part_samples`."""
    days = days_in(span)
    return pack(points, lambda name: density(per_day, name) * days, part_samples)


class SampleBudget:
    """How many samples one response may hold: cached and fetched samples both count against it."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0

    def take(self, samples: int) -> None:
        self.used += samples
        if self.limit is not None and self.used > self.limit:
            raise TooLarge(
                f"the request holds more than {self.limit:,} samples; ask with route=queued for a background job"
            )
