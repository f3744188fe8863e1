"""The simulator's truth: which samples exist, generated lazily in a fixed order.

Times are epoch seconds for samples and epoch milliseconds for range bounds; ranges are
half-open `[start, end)` and clipped to `[DATA_START, now)`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from .catalog import Point, point, site_points
from .signals import in_outage, value


def epoch_ms(moment: datetime) -> int:
    """A datetime as epoch milliseconds; naive means UTC, as in the API."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


DATA_START_MS = epoch_ms(datetime(2025, 1, 1))
RAW_STEP = 60
BUCKET_STEP = 300


def clip(start_ms: int, end_ms: int) -> tuple[int, int]:
    """The part of `[start_ms, end_ms)` that can hold data: after 2025-01-01 and before now."""
    return max(start_ms, DATA_START_MS), min(end_ms, int(time.time() * 1000))


def _first_multiple(ms: int, step: int) -> int:
    """The first epoch second at or after `ms` that is a multiple of `step`."""
    return -(-ms // (step * 1000)) * step


def iter_point(p: Point, start_ms: int, end_ms: int) -> Iterator[tuple[int, str]]:
    """Raw `(epoch_s, value)` samples of `p` in the range, oldest first."""
    if not p.collect_enabled:
        return
    lo, hi = clip(start_ms, end_ms)
    t = _first_multiple(lo, p.interval)
    while t * 1000 < hi:
        if not in_outage(p, t):
            yield t, value(p, t)
        t += p.interval


def samples(site_name: str, point_name: str, start: datetime, end: datetime) -> list[tuple[int, str]]:
    """Raw `(epoch_ms, value)` samples of a point of a site in `[start, end)`."""
    p = point(point_name)
    if p is None or p.site != site_name:
        return []
    return [(t * 1000, v) for t, v in iter_point(p, epoch_ms(start), epoch_ms(end))]


def _bucket(p: Point, t: int, lo: int, hi: int) -> str | None:
    """The 5-minute bucket starting at `t`: the mean of its samples in range (the last for text)."""
    values = [v for _, v in iter_point(p, max(lo, t * 1000), min(hi, (t + BUCKET_STEP) * 1000))]
    if not values:
        return None
    if p.kind == "mode":
        return values[-1]
    return f"{sum(map(float, values)) / len(values):.{p.decimals + 1}f}"


@functools.cache
def _candidates(site_name: str, step: int, phase: int) -> tuple[Point, ...]:
    """Enabled points that may have a sample in a step starting at a time with `t % 900 == phase`."""
    return tuple(
        p for p in site_points(site_name) if p.collect_enabled and (p.interval <= step or phase % p.interval == 0)
    )


def iter_site(
    site_name: str,
    start_ms: int,
    end_ms: int,
    raw: bool,
    position: tuple[int, int] | None = None,
) -> Iterator[tuple[int, int, Point, str]]:
    """Every sample of a site ordered by (time, name), as `(epoch_s, index, point, value)`.

    Raw mode walks 1-minute steps; bucket mode walks 5-minute buckets labelled by their start.
    `(epoch_s, index)` is a resumable position: pass it back as `position` to continue there.
    """
    step = RAW_STEP if raw else BUCKET_STEP
    lo, hi = clip(start_ms, end_ms)
    t, index = position or (_first_multiple(lo, step) if raw else lo // (step * 1000) * step, 0)
    while t * 1000 < hi:
        points = _candidates(site_name, step, t % 900)
        for i in range(index, len(points)):
            p = points[i]
            sample = _bucket(p, t, lo, hi) if not raw else None if in_outage(p, t) else value(p, t)
            if sample is not None:
                yield t, i, p, sample
        t, index = t + step, 0
