"""Downsampling for charts: at most N real samples of a point, chosen by largest-triangle-three-buckets.

Pure functions over parallel lists of times and values; they return the indices of the samples
kept, in time order, so a caller keeps the very samples FlightDeck sent. LTTB (Steinarsson 2013)
keeps the first and last samples and, from each of N - 2 equal buckets between them, the sample
that makes the largest triangle with the sample kept before it and the mean of the next bucket:
peaks and troughs survive. Text points have no triangles; they keep their changes of state.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, repeat
from operator import add, mul, ne, sub

from .series import any_text

MIN_POINTS = 2


def downsample_indices(times: Sequence[int], values: Sequence[object], max_points: int) -> list[int]:
    """Indices of at most `max_points` samples: LTTB for numeric points, changes of state for text."""
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}")
    if len(times) <= max_points:
        return list(range(len(times)))
    if any_text(values):
        return state_change_indices(values, max_points)
    return lttb_indices(times, values, max_points)  # type: ignore[arg-type]


def lttb_indices(times: Sequence[int], values: Sequence[float], max_points: int) -> list[int]:
    """Largest-triangle-three-buckets over (time, value); first and last always kept."""
    count = len(times)
    if count <= max_points:
        return list(range(count))
    if max_points == MIN_POINTS:
        return [0, count - 1]
    # Times as float offsets from the first: small exact numbers, cheaper than epoch-ms integers.
    times = list(map(float, map(sub, times, repeat(times[0]))))
    every = (count - 2) / (max_points - 2)
    kept = [0]
    anchor = 0
    for bucket in range(max_points - 2):
        lo = int(bucket * every) + 1
        hi = int((bucket + 1) * every) + 1
        next_hi = min(int((bucket + 2) * every) + 1, count)
        span = next_hi - hi
        mean_t = sum(times[hi:next_hi]) / span
        mean_v = sum(values[hi:next_hi]) / span
        at, av = times[anchor], values[anchor]
        # Twice the triangle's area, up to sign: (at - mean_t)(v - av) + (mean_v - av)(t - at),
        # computed with map() so the per-sample work runs in C (Pyodide runs Python loops slowly).
        dt, dv = at - mean_t, mean_v - av
        rise = map(mul, repeat(dt), map(sub, values[lo:hi], repeat(av)))
        run = map(mul, repeat(dv), map(sub, times[lo:hi], repeat(at)))
        areas = list(map(abs, map(add, rise, run)))
        anchor = lo + areas.index(max(areas))
        kept.append(anchor)
    kept.append(count - 1)
    return kept


def state_change_indices(values: Sequence[object], max_points: int) -> list[int]:
    """The first sample, each change of value and the last; spread evenly when more than `max_points`."""
    count = len(values)
    changes = [0, *compress(range(1, count), map(ne, values[1:], values[:-1]))]
    if changes[-1] != count - 1:
        changes.append(count - 1)
    if len(changes) <= max_points:
        return changes
    step = (len(changes) - 1) / (max_points - 1)
    return [changes[round(k * step)] for k in range(max_points)]
