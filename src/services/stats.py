"""Statistics for `GET /api/stats`, computed from D1 only (never by listing R2)."""

from __future__ import annotations

from collections.abc import Callable

from .jobmodel import ACTIVE
from .repositories import AnalyticsRepository, CacheMetadataRepository, JobRepository, WarmingRepository
from .timerange import DAY_MS, db_time


class StatsService:
    """Cache totals, jobs by status and the last 24 hours of requests by route."""

    def __init__(
        self, cache: CacheMetadataRepository, analytics: AnalyticsRepository, jobs: JobRepository,
        now_ms: Callable[[], int], warming: WarmingRepository,
    ) -> None:
        self.warming = warming
        self.cache = cache
        self.analytics = analytics
        self.jobs = jobs
        self.now_ms = now_ms

    async def stats(self) -> dict:
        since_ms = self.now_ms() - DAY_MS
        return {
            "cache": await self._cache(since_ms),
            "jobs": await self._jobs(),
            "requests": await self._requests(since_ms),
            "warming": await self._warming(),
            "window": {"requestsSince": db_time(since_ms)},
        }

    async def _cache(self, since_ms: int) -> dict:
        row = await self.cache.totals()
        lookups = await self.analytics.cache_lookups(since_ms)
        total = lookups.get("lookups") or 0
        return {
            "totalObjects": row.get("objects", 0),
            "totalSizeMB": round((row.get("bytes") or 0) / 1_048_576, 3),
            "totalSamples": row.get("samples", 0),
            "oldestEntry": row.get("oldest"),
            "newestEntry": row.get("newest"),
            "objectHits": row.get("hits", 0),
            "lookups24h": total,
            "hits24h": lookups.get("hits") or 0,
            "partialHits24h": lookups.get("partial") or 0,
            "hitRate": round((lookups.get("hits") or 0) / total, 4) if total else None,
        }

    async def _warming(self) -> dict:
        row = await self.warming.totals()
        return {"objectsWarmed": row.get("objects", 0), "hitsServed": row.get("hits", 0),
                "lastWarmed": row.get("last_warmed")}

    async def _jobs(self) -> dict:
        by_status = await self.jobs.count_by_status()
        return {
            "total_jobs": sum(by_status.values()),
            "completed": by_status.get("completed", 0),
            "failed": by_status.get("failed", 0),
            "active": sum(by_status.get(status, 0) for status in ACTIVE),
            "cancelled": by_status.get("cancelled", 0),
            "byStatus": by_status,
        }

    async def _requests(self, since_ms: int) -> list[dict]:
        rows = await self.analytics.by_route(since_ms)
        return [
            {"route_type": row["route_type"], "count": row["count"],
             "avg_duration": round(row["avg_duration"] or 0, 1), "cache_hits": row["cache_hits"]}
            for row in rows
        ]


