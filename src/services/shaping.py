"""What an answer's samples become before they are written: `max_points=` downsampling (pure).

Shaping happens after the samples are fetched or read from the cache, so the cache and job
results keep raw samples and any shaping of them is one request away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .config import Settings
from .downsample import MIN_POINTS, downsample_indices
from .errors import BadRequest
from .series import PointSeries


@dataclass(frozen=True)
class Shaping:
    """How to shape each point's samples; the default leaves them as they are."""

    max_points: int | None = None

    @property
    def active(self) -> bool:
        return self.max_points is not None

    def apply(self, samples: PointSeries) -> PointSeries:
        """One point's samples, shaped."""
        if self.max_points is None or len(samples) <= self.max_points:
            return samples
        kept = downsample_indices(samples.times, samples.values, self.max_points)
        return PointSeries([samples.times[i] for i in kept], [samples.values[i] for i in kept])

    def meta(self, before: int, after: int) -> dict:
        """What `_meta` says was applied, and the samples before and after."""
        return {"maxPoints": self.max_points, "samplesBefore": before, "samplesAfter": after}


def parse_shaping(params: Mapping[str, str], settings: Settings) -> Shaping:
    """`max_points=N` (2 to MAX_RESPONSE_SAMPLES); a bad value is a 400 naming the field."""
    raw = (params.get("max_points") or "").strip()
    if not raw:
        return Shaping()
    top = settings.max_response_samples
    if not raw.isdigit() or not MIN_POINTS <= int(raw) <= top:
        raise BadRequest(f"max_points must be a whole number from {MIN_POINTS} to {top}", field="max_points")
    return Shaping(max_points=int(raw))


NO_SHAPING = Shaping()
