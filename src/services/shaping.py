"""What an answer's samples become before they are written: `interval=` + `agg=` buckets, then
`max_points=` downsampling (pure).

Shaping happens after the samples are fetched or read from the cache, so the cache and job
results keep raw samples and any shaping of them is one request away.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .aggregate import Agg, aggregate
from .config import Settings
from .downsample import MIN_POINTS, downsample_indices
from .errors import BadRequest
from .series import PointSeries
from .timerange import DAY_MS

SECOND_MS = 1_000
UNIT_MS = {"": SECOND_MS, "s": SECOND_MS, "m": 60 * SECOND_MS, "h": 3_600 * SECOND_MS, "d": DAY_MS}
INTERVAL = re.compile(r"(\d+)([smhd]?)")


@dataclass(frozen=True)
class Shaping:
    """How to shape each point's samples; the default leaves them as they are."""

    max_points: int | None = None
    interval: str | None = None
    interval_ms: int | None = None
    agg: Agg | None = None

    @property
    def active(self) -> bool:
        return self.max_points is not None or self.interval_ms is not None

    def apply(self, samples: PointSeries) -> PointSeries:
        """One point's samples, bucketed then downsampled; `TextValuesError` for text under a numeric agg."""
        if self.interval_ms is not None and self.agg is not None:
            samples = aggregate(samples, self.interval_ms, self.agg)
        if self.max_points is None or len(samples) <= self.max_points:
            return samples
        kept = downsample_indices(samples.times, samples.values, self.max_points)
        return PointSeries([samples.times[i] for i in kept], [samples.values[i] for i in kept])

    def meta(self, before: int, after: int) -> dict:
        """What `_meta` says was applied, and the samples before and after."""
        return {"interval": self.interval, "agg": self.agg.value if self.agg else None,
                "maxPoints": self.max_points, "samplesBefore": before, "samplesAfter": after}


NO_SHAPING = Shaping()


def parse_shaping(params: Mapping[str, str], settings: Settings) -> Shaping:
    """`interval=` (`1m`, `5m`, `15m`, `1h`, `1d` or seconds) with `agg=` (avg by default), and
    `max_points=N` (2 to MAX_RESPONSE_SAMPLES); a bad value is a 400 naming its field."""
    interval, agg = _text(params, "interval"), _text(params, "agg")
    if agg and not interval:
        raise BadRequest("agg needs an interval (interval=1h&agg=avg)", field="agg")
    return Shaping(
        max_points=_max_points(_text(params, "max_points"), settings),
        interval=interval or None,
        interval_ms=_interval_ms(interval, settings) if interval else None,
        agg=_agg(agg or Agg.AVG.value) if interval else None,
    )


def _text(params: Mapping[str, str], name: str) -> str:
    return (params.get(name) or "").strip().lower()


def _max_points(raw: str, settings: Settings) -> int | None:
    if not raw:
        return None
    top = settings.max_response_samples
    if not raw.isdigit() or not MIN_POINTS <= int(raw) <= top:
        raise BadRequest(f"max_points must be a whole number from {MIN_POINTS} to {top}", field="max_points")
    return int(raw)


def _interval_ms(raw: str, settings: Settings) -> int:
    match = INTERVAL.fullmatch(raw)
    interval_ms = int(match.group(1)) * UNIT_MS[match.group(2)] if match else 0
    if not SECOND_MS <= interval_ms <= settings.max_range_days * DAY_MS:
        raise BadRequest(
            f"interval must be 1m, 5m, 15m, 1h, 1d, a number with s/m/h/d, or seconds, from 1 s to "
            f"{settings.max_range_days} days; got {raw!r}", field="interval")
    return interval_ms


def _agg(raw: str) -> Agg:
    try:
        return Agg(raw)
    except ValueError:
        raise BadRequest(f"agg must be one of {', '.join(a.value for a in Agg)}", field="agg") from None
