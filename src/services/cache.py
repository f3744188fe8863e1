"""`R2CacheService`: one compressed object per site, point set and UTC day, tracked in D1.

Keys are `timeseries/<YYYY-MM-DD>/<sha256 of site, sorted points and the day's span>`: only a
date and hex digits, so nothing from a request can leave the prefix, and cleanup can go by date.
An object covers its day from midnight up to `coveredUntil`; data newer than the freshness
window is never stored, so today's object grows as the day settles.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from .codec import FORMAT_VERSION, decode, encode
from .config import Settings
from .log import log_event
from .ports import ObjectStore, StoredObject
from .repositories import CacheEntry, CacheMetadataRepository
from .series import Series
from .timerange import DAY_MS, Span, day_label, day_spans, merge, to_iso

PREFIX = "timeseries/"


class CacheStatus(str, Enum):
    """One vocabulary for how the cache served a request (header, _meta and analytics)."""

    HIT = "hit"
    PARTIAL = "partial"
    MISS = "miss"
    BYPASS = "bypass"


@dataclass(frozen=True)
class DayObject:
    """One day's samples for a site and point set, complete from the day's start to `covered_until`."""

    site: str
    points: tuple[str, ...]
    day: Span
    series: Series
    covered_until: int


def points_hash(points: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(points)).encode()).hexdigest()


def day_key(site: str, points: Sequence[str], day: Span) -> str:
    """The canonical, collision-free key of a day object."""
    identity = json.dumps([site, sorted(points), day.start_ms, day.end_ms], separators=(",", ":"))
    return f"{PREFIX}{day_label(day.start_ms)}/{hashlib.sha256(identity.encode()).hexdigest()}"


def spans_to_fetch(span: Span, covered: dict[int, int], settled_ms: int) -> list[Span]:
    """What to ask upstream: per day, from what is covered to the end needed (whole settled days)."""
    wanted = []
    for day in day_spans(span):
        have = covered.get(day.start_ms, day.start_ms)
        need = min(day.end_ms, span.end_ms)
        if have < need:
            wanted.append(Span(have, max(need, min(day.end_ms, settled_ms))))
    return merge(wanted)


class R2CacheService:
    """Reads and writes day objects in R2 and their rows in `cache_metadata`."""

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

    def parse(self, found: StoredObject | None) -> DayObject | None:
        """Decode a fetched object; one that cannot be decoded is logged and counts as a miss."""
        if found is None:
            return None
        try:
            info = found.metadata
            series = decode(found.body)
            day_start = int(info["dayStart"])
            return DayObject(
                site=info.get("site", ""),
                points=tuple(sorted(series)),
                day=Span(day_start, day_start + DAY_MS),
                series=series,
                covered_until=int(info["coveredUntil"]),
            )
        except (ValueError, KeyError) as exc:
            log_event("cache.decode_failed", key=found.key, error=f"{type(exc).__name__}: {exc}")
            return None

    async def record_hits(self, keys: list[str]) -> None:
        """Count a read of these objects in D1; a failure is logged, never raised."""
        try:
            await self.meta.record_hits(keys, self.now_ms())
        except Exception as exc:
            log_event("cache.hits_failed", keys=len(keys), error=f"{type(exc).__name__}: {exc}")

    async def put(self, key: str, day: DayObject) -> None:
        """Store a day object and its metadata row; a failure is logged, never raised."""
        try:
            await self._put(key, day)
        except Exception as exc:
            log_event("cache.write_failed", key=key, error=f"{type(exc).__name__}: {exc}")

    async def _put(self, key: str, day: DayObject) -> None:
        now = self.now_ms()
        encoded = encode(day.series)
        original = encoded.raw_size
        # Kept long only when the day is closed and every point has data: an empty point may be a
        # transient 404 or data not backfilled yet, so it is asked again after the short TTL.
        settled = day.covered_until >= day.day.end_ms and all(len(p) for p in day.series.values())
        ttl = self.settings.cache_ttl_seconds if settled else self.settings.recent_cache_ttl_seconds
        metadata = {
            "site": day.site,
            "points": str(len(day.points)),
            "samples": str(encoded.samples),
            "generated": to_iso(now),
            "dayStart": str(day.day.start_ms),
            "coveredUntil": str(day.covered_until),
            "rawSize": str(original),
            "compressedSize": str(len(encoded.body)),
            "ratio": f"{len(encoded.body) / original:.6f}" if original else "0",
            "codec": encoded.codec,
            "formatVersion": str(FORMAT_VERSION),
        }
        await self.store.put(key, encoded.body, metadata)
        await self.meta.upsert(
            CacheEntry(
                cache_key=key, site=day.site, points_hash=points_hash(day.points),
                day=day_label(day.day.start_ms), points_count=len(day.points), samples_count=encoded.samples,
                original_size=original, compressed_size=len(encoded.body), codec=encoded.codec,
                covered_until=day.covered_until, expires_ms=now + ttl * 1000,
            ),
            now,
        )

    async def invalidate(self, site: str, points: Sequence[str] | None, span: Span | None) -> int:
        """Drop a site's objects (optionally one point set, optionally some days) from R2 and D1."""
        first = day_label(span.start_ms) if span else None
        last = day_label(span.end_ms - 1) if span else None
        digest = points_hash(points) if points else None
        dropped = 0
        while keys := await self.meta.matching(site, digest, first, last, self.settings.cleanup_max_objects):
            await self._drop(keys)
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
        await self._drop(keys)
        return len(keys)

    async def _drop(self, keys: list[str]) -> None:
        if keys:
            await self.store.delete(keys)  # R2 first: a row without an object is harmless, and retried
            await self.meta.delete(keys)
