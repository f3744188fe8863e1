"""Statistics for `GET /api/stats`, computed from D1 only (never by listing R2)."""

from __future__ import annotations

from collections.abc import Callable

from .bindings import Database
from .repositories import ACTIVE
from .timerange import DAY_MS, db_time


class StatsService:
    """Cache totals, jobs by status and the last 24 hours of requests by route."""

    def __init__(self, db: Database, now_ms: Callable[[], int]) -> None:
        self.db = db
        self.now_ms = now_ms

    async def stats(self) -> dict:
        since = db_time(self.now_ms() - DAY_MS)
        return {
            "cache": await self._cache(since),
            "jobs": await self._jobs(),
            "requests": await self._requests(since),
            "window": {"requestsSince": since},
        }

    async def _cache(self, since: str) -> dict:
        row = await self.db.first(
            "SELECT COUNT(*) AS objects, COALESCE(SUM(compressed_size), 0) AS bytes,"
            " COALESCE(SUM(samples_count), 0) AS samples, MIN(created_at) AS oldest, MAX(created_at) AS newest,"
            " COALESCE(SUM(hit_count), 0) AS hits FROM cache_metadata"
        ) or {}
        lookups = await self.db.first(
            "SELECT COUNT(*) AS lookups, COALESCE(SUM(cache_status = 'hit'), 0) AS hits,"
            " COALESCE(SUM(cache_status = 'partial'), 0) AS partial FROM request_analytics"
            " WHERE cache_status IN ('hit', 'partial', 'miss') AND created_at >= ?", (since,)
        ) or {}
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

    async def _jobs(self) -> dict:
        rows = await self.db.all("SELECT status, COUNT(*) AS n FROM queue_jobs GROUP BY status")
        by_status = {row["status"]: row["n"] for row in rows}
        return {
            "total_jobs": sum(by_status.values()),
            "completed": by_status.get("completed", 0),
            "failed": by_status.get("failed", 0),
            "active": sum(by_status.get(status, 0) for status in ACTIVE),
            "cancelled": by_status.get("cancelled", 0),
            "byStatus": by_status,
        }

    async def _requests(self, since: str) -> list[dict]:
        rows = await self.db.all(
            "SELECT route_type, COUNT(*) AS count, AVG(duration_ms) AS avg_duration,"
            " COALESCE(SUM(cache_status = 'hit'), 0) AS cache_hits FROM request_analytics"
            " WHERE route_type IS NOT NULL AND created_at >= ? GROUP BY route_type ORDER BY route_type",
            (since,),
        )
        return [
            {"route_type": row["route_type"], "count": row["count"],
             "avg_duration": round(row["avg_duration"] or 0, 1), "cache_hits": row["cache_hits"]}
            for row in rows
        ]


