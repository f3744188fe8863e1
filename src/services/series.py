"""The timeseries model: a point's samples as time and value columns; values as FlightDeck sends them."""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

Value = int | float | str


@dataclass
class PointSeries:
    """One point's samples: parallel lists of epoch-ms timestamps and values, sorted by time."""

    times: list[int] = field(default_factory=list)
    values: list[Value] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)

    def extend(self, other: PointSeries) -> None:
        self.times.extend(other.times)
        self.values.extend(other.values)

    def window(self, start_ms: int, end_ms: int) -> PointSeries:
        """The samples with start_ms <= time < end_ms (times must be sorted)."""
        lo = bisect_left(self.times, start_ms)
        hi = bisect_left(self.times, end_ms)
        return PointSeries(self.times[lo:hi], self.values[lo:hi])


Series = dict[str, PointSeries]


def parse_value(text: object) -> Value:
    """FlightDeck sends values as strings; numeric ones become int or float, the rest stay text."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text if math.isfinite(text) else str(text)
    raw = str(text).strip()
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return str(text)
    return number if math.isfinite(number) else str(text)
