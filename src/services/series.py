"""The timeseries model: a point's samples as time and value columns; values as FlightDeck sends them."""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator

Value = int | float | str


class PointSeries:
    """One point's samples: parallel lists of epoch-ms timestamps and values, sorted by time.

    A series read from the cache also carries each value's JSON text (`texts`): rendering JSON then
    copies text instead of formatting numbers (the largest cost of a cache hit under Pyodide), and
    `values` is parsed from the texts only when something asks for it.
    """

    __slots__ = ("_texts", "_values", "times")

    def __init__(
        self, times: list[int] | None = None, values: list[Value] | None = None, *, texts: list[str] | None = None
    ) -> None:
        self.times: list[int] = [] if times is None else times
        self._values = values if values is not None or texts is not None else []
        self._texts = texts

    @property
    def values(self) -> list[Value]:
        if self._values is None:
            self._values = json.loads("[" + ",".join(self._texts or ()) + "]")
        return self._values

    @property
    def texts(self) -> list[str] | None:
        """Each value's JSON text, when the series came from the cache; else None."""
        return self._texts

    def __len__(self) -> int:
        return len(self.times)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PointSeries):
            return NotImplemented
        return self.times == other.times and self.values == other.values

    def __repr__(self) -> str:
        return f"PointSeries(times={self.times!r}, values={self.values!r})"

    def extend(self, other: PointSeries) -> None:
        """Append `other`'s samples; the texts are kept when both sides have them (or this one is empty)."""
        if not self.times:
            self.times = list(other.times)
            self._values = None if other._values is None else list(other._values)
            self._texts = None if other._texts is None else list(other._texts)
            return
        if self._texts is not None and other._texts is not None:
            self._texts.extend(other._texts)
            if self._values is not None:
                self._values.extend(other.values)
        else:
            self.values.extend(other.values)
            self._texts = None
        self.times.extend(other.times)

    def slice(self, lo: int, hi: int) -> PointSeries:
        """The samples at positions lo to hi (exclusive)."""
        return PointSeries(
            self.times[lo:hi],
            None if self._values is None else self._values[lo:hi],
            texts=None if self._texts is None else self._texts[lo:hi],
        )

    def chunks(self, size: int) -> Iterator[PointSeries]:
        """The samples in consecutive slices of at most `size` (none for an empty series)."""
        for lo in range(0, len(self.times), size):
            yield self.slice(lo, lo + size)

    def window(self, start_ms: int, end_ms: int) -> PointSeries:
        """The samples with start_ms <= time < end_ms (times must be sorted)."""
        return self.slice(bisect_left(self.times, start_ms), bisect_left(self.times, end_ms))

    def count(self, start_ms: int, end_ms: int) -> int:
        """How many samples `window` would hold, without copying them."""
        return bisect_left(self.times, end_ms) - bisect_left(self.times, start_ms)


Series = dict[str, PointSeries]


def any_text(values: Iterable[object]) -> bool:
    """True when any value is text (a multistate point, or a sensor's `"nan"`): one scan in C."""
    return str in set(map(type, values))


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
