"""Pure time arithmetic: ISO parsing, UTC day buckets, merging spans and freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

DAY_MS = 86_400_000


@dataclass(frozen=True, order=True)
class Span:
    """A half-open interval [start_ms, end_ms) in epoch milliseconds."""

    start_ms: int
    end_ms: int

    @property
    def empty(self) -> bool:
        return self.end_ms <= self.start_ms


def parse_iso(text: str) -> int:
    """Parse ISO 8601 (with `Z`, an offset, or none meaning UTC) to epoch milliseconds."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def to_iso(epoch_ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with a `Z`, to the millisecond when needed."""
    if epoch_ms % 1000:
        return db_time(epoch_ms)
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_label(epoch_ms: int) -> str:
    """The UTC date (YYYY-MM-DD) containing this instant."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def day_spans(span: Span) -> list[Span]:
    """The whole UTC days that overlap `span`, in order."""
    first = span.start_ms - span.start_ms % DAY_MS
    return [Span(day, day + DAY_MS) for day in range(first, span.end_ms, DAY_MS)]


def merge(spans: list[Span]) -> list[Span]:
    """Sort spans and join those that touch or overlap; empty spans vanish."""
    merged: list[Span] = []
    for span in sorted(s for s in spans if not s.empty):
        if merged and span.start_ms <= merged[-1].end_ms:
            merged[-1] = Span(merged[-1].start_ms, max(merged[-1].end_ms, span.end_ms))
        else:
            merged.append(span)
    return merged



def settled_until(now_ms: int, freshness_seconds: int) -> int:
    """Data before this instant is old enough to be stored as settled."""
    return now_ms - freshness_seconds * 1000


def days_in(span: Span) -> float:
    """Length of the span in days (fractional)."""
    return (span.end_ms - span.start_ms) / DAY_MS


def db_time(epoch_ms: int) -> str:
    """Fixed-width ISO 8601 UTC with milliseconds, so stored times sort as text."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
