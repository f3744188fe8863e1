"""`R2CacheService`: one compressed object per site, point and UTC month, tracked in D1.

The unit of reuse is the point: a request is served from every cached (point, span) whatever other
points it names. Keys are `points/<YYYY-MM>/<sha256 of site, point and month>`: only a month and
hex digits, so nothing from a request can leave the prefix, and cleanup can go by month. A month
per object keeps the R2 work of a request at points × months touched (a 50-point, 30-day hit reads
at most 100 objects), where a day per object would read 1,500.

An object's metadata says which spans of its month it covers: `covered`, settled spans (older than
the freshness window when written, and holding samples), and `recent`, spans fetched lately that
are either unsettled (the tail of a request ending now) or settled but empty: they count as covered
only until `recentExpires` (RECENT_CACHE_TTL_SECONDS after the first of them was fetched), never
join `covered`, and are fetched again once expired.
Objects of the earlier set-per-day layout (`timeseries/`) are never read, and the cron sweeps them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from .codec import FORMAT_VERSION, decode, encode
from .config import Settings
from .log import log_event
from .ports import ObjectStore, StoredObject
from .repositories import CacheEntry, CacheMetadataRepository
from .series import PointSeries
from .timerange import Span, day_label, day_spans, merge, to_iso

PREFIX = "points/"
LEGACY_PREFIX = "timeseries/"


class CacheStatus(str, Enum):
    """One vocabulary for how the cache served a request (header, _meta and analytics)."""

    HIT = "hit"
    PARTIAL = "partial"
    MISS = "miss"
    BYPASS = "bypass"


def month_spans(span: Span) -> list[Span]:
    """The whole UTC months that overlap `span`, in order."""
    months = []
    start = _month_start(span.start_ms)
    while start < span.end_ms:
        moment = datetime.fromtimestamp(start / 1000, tz=UTC)
        following = moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
        end = int(following.timestamp() * 1000)
        months.append(Span(start, end))
        start = end
    return months


def _month_start(epoch_ms: int) -> int:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return int(moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def subtract(span: Span, covered: Sequence[Span]) -> list[Span]:
    """The parts of `span` that no span of `covered` holds."""
    missing, cursor = [], span.start_ms
    for part in merge(list(covered)):
        if part.end_ms <= cursor or part.start_ms >= span.end_ms:
            continue
        if part.start_ms > cursor:
            missing.append(Span(cursor, part.start_ms))
        cursor = max(cursor, part.end_ms)
    if cursor < span.end_ms:
        missing.append(Span(cursor, span.end_ms))
    return missing


def clip(spans: Sequence[Span], bound: Span) -> list[Span]:
    """Each span cut to `bound`; the empty ones dropped."""
    cut = (Span(max(s.start_ms, bound.start_ms), min(s.end_ms, bound.end_ms)) for s in spans)
    return [s for s in cut if not s.empty]


def points_hash(points: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(points)).encode()).hexdigest()


def point_key(site: str, point: str, month: Span) -> str:
    """The canonical, collision-free key of a point's month object."""
    identity = json.dumps([site, point, month.start_ms], separators=(",", ":"))
    return f"{PREFIX}{day_label(month.start_ms)[:7]}/{hashlib.sha256(identity.encode()).hexdigest()}"


def object_keys(site: str, points: Sequence[str], span: Span) -> list[str]:
    """The keys of the objects a request for `points` over `span` reads: one per point and UTC month."""
    return [point_key(site, name, month) for name in points for month in month_spans(span)]


@dataclass(frozen=True)
class PointObject:
    """A point's samples in one month: complete over `covered`, and over `recent` while it lasts."""

    site: str
    point: str
    month: Span
    samples: PointSeries
    covered: tuple[Span, ...]
    recent: tuple[Span, ...] = ()
    recent_expires: int = 0

    def live_recent(self, now_ms: int) -> list[Span]:
        """The recent spans, while they have not expired."""
        return list(self.recent) if now_ms < self.recent_expires else []

    def coverage(self, now_ms: int) -> list[Span]:
        """The spans this object answers for at `now_ms`: the settled ones, plus the recent ones until they expire."""
        return merge([*self.covered, *self.live_recent(now_ms)])

    @property
    def key(self) -> str:
        return point_key(self.site, self.point, self.month)


class R2CacheService:
    """Reads and writes point-month objects in R2 and their rows in `cache_metadata`."""

    def __init__(
        self, store: ObjectStore, meta: CacheMetadataRepository, settings: Settings, now_ms: Callable[[], int]
    ) -> None:
        self.store = store
        self.meta = meta
        self.settings = settings
        self.now_ms = now_ms

    async def fetch(self, key: str) -> StoredObject | None:
        """The raw object, or None when absent or when R2 fails (logged: a broken cache never fails a request)."""
        try:
            return await self.store.get(key)
        except Exception as exc:
            log_event("cache.read_failed", key=key, error=f"{type(exc).__name__}: {exc}")
            return None

    def parse(
        self, found: StoredObject | None, site: str, point: str, month: Span, window: Span | None = None,
    ) -> PointObject | None:
        """Decode a fetched object (only `window`'s samples when given); one that cannot be decoded, or
        holds another point, counts as a miss."""
        if found is None:
            return None
        try:
            info = found.metadata
            series = decode(found.body, window)
            if list(series) != [point] or int(info["monthStart"]) != month.start_ms:
                raise ValueError("the object holds another point or month")
            return PointObject(
                site=site, point=point, month=month, samples=series[point],
                covered=_spans(info["covered"]), recent=_spans(info.get("recent") or "[]"),
                recent_expires=int(info.get("recentExpires") or 0),
            )
        except (ValueError, KeyError, TypeError) as exc:
            log_event("cache.decode_failed", key=found.key, error=f"{type(exc).__name__}: {exc}")
            return None

    async def read(self, site: str, point: str, month: Span) -> PointObject | None:
        return self.parse(await self.fetch(point_key(site, point, month)), site, point, month)

    async def record_hits(self, keys: list[str]) -> None:
        """Count a read of these objects in D1; a failure is logged, never raised."""
        try:
            await self.meta.record_hits(keys, self.now_ms())
        except Exception as exc:
            log_event("cache.hits_failed", keys=len(keys), error=f"{type(exc).__name__}: {exc}")

    async def put(self, obj: PointObject) -> None:
        """Store a point-month object and its metadata row; a failure is logged, never raised."""
        try:
            await self._put(obj)
        except Exception as exc:
            log_event("cache.write_failed", key=obj.key, error=f"{type(exc).__name__}: {exc}")

    async def _put(self, obj: PointObject) -> None:
        now = self.now_ms()
        encoded = encode({obj.point: obj.samples})
        original = encoded.raw_size
        # Only recent spans (nothing settled) are asked again soon; settled spans keep the long TTL.
        ttl = self.settings.cache_ttl_seconds if obj.covered else self.settings.recent_cache_ttl_seconds
        metadata = {
            "site": obj.site,
            "points": "1",
            "samples": str(encoded.samples),
            "generated": to_iso(now),
            "monthStart": str(obj.month.start_ms),
            "covered": _spans_text(obj.covered),
            "rawSize": str(original),
            "compressedSize": str(len(encoded.body)),
            "ratio": f"{len(encoded.body) / original:.6f}" if original else "0",
            "codec": encoded.codec,
            "formatVersion": str(FORMAT_VERSION),
        }
        if obj.recent:
            metadata.update(recent=_spans_text(obj.recent), recentExpires=str(obj.recent_expires))
        await self.store.put(obj.key, encoded.body, metadata)
        await self.meta.upsert(
            CacheEntry(
                cache_key=obj.key, site=obj.site, points_hash=points_hash([obj.point]),
                day=day_label(obj.month.start_ms), points_count=1, samples_count=encoded.samples,
                original_size=original, compressed_size=len(encoded.body), codec=encoded.codec,
                covered_until=max((s.end_ms for s in obj.covered), default=obj.month.start_ms),
                expires_ms=now + ttl * 1000,
            ),
            now,
        )

    async def covers(self, site: str, points: Sequence[str], span: Span) -> bool:
        """Whether every point's settled spans hold all of `span` (one R2 read per point and month; only
        the span's days are decoded)."""
        for point in points:
            for month in month_spans(span):
                obj = self.parse(await self.fetch(point_key(site, point, month)), site, point, month, span)
                if obj is None or any(subtract(part, obj.covered) for part in clip([span], month)):
                    return False
        return True

    async def invalidate(self, site: str, points: Sequence[str] | None, span: Span | None) -> int:
        """Drop a site's objects (optionally some points, optionally the months of a span) from R2 and D1."""
        first = day_label(month_spans(span)[0].start_ms) if span else None
        last = day_label(span.end_ms - 1) if span else None
        dropped = 0
        for digest in [points_hash([p]) for p in dict.fromkeys(points)] if points else [None]:
            while keys := await self.meta.matching(site, digest, first, last, self.settings.cleanup_max_objects):
                await self.drop(keys)
                dropped += len(keys)
        return dropped

    async def cleanup(self, max_age_seconds: int | None = None) -> int:
        """Delete expired objects (or all older than `max_age_seconds`), at most one bounded round."""
        now = self.now_ms()
        limit = self.settings.cleanup_max_objects
        if max_age_seconds is None:
            keys = await self.meta.expired(now, limit)
        else:
            keys = await self.meta.older_than(now - max_age_seconds * 1000, limit)
        await self.drop(keys)
        return len(keys)

    async def drop(self, keys: list[str]) -> None:
        """Delete these objects and their rows."""
        if keys:
            await self.store.delete(keys)  # R2 first: a row without an object is harmless, and retried
            await self.meta.delete(keys)



def with_data(spans: Sequence[Span], samples: PointSeries) -> list[Span]:
    """Each span cut at UTC days, keeping only the day-parts holding a sample: an empty answer (a
    transient 404, data not yet backfilled) is cheap to ask again and is never stored as covered."""
    kept = []
    for span in spans:
        for day in clip(day_spans(span), span):
            if samples.count(day.start_ms, day.end_ms):
                kept.append(day)
    return merge(kept)


def _spans(text: str) -> tuple[Span, ...]:
    return tuple(Span(int(start), int(end)) for start, end in json.loads(text))


def _spans_text(spans: Sequence[Span]) -> str:
    return json.dumps([[s.start_ms, s.end_ms] for s in spans], separators=(",", ":"))
