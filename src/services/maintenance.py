"""The cron run: drop expired cache objects and job results, delete old rows; bounded and idempotent.

D1 drives the deletions (so stats stay true); a short R2 sweep by prefix then catches objects
whose rows are gone, and a row whose object is gone is harmless (it reads as a miss).
"""

from __future__ import annotations

from collections.abc import Callable

from .cache import PREFIX as CACHE_PREFIX
from .cache import R2CacheService
from .config import Settings
from .jobs import valid_job_id
from .ports import ObjectStore
from .repositories import AccessRepository, AnalyticsRepository, JobRepository

JOBS_PREFIX = "jobs/"


class Maintenance:
    """What `scheduled()` does; every step is bounded by `cleanup_max_objects`."""

    def __init__(
        self, settings: Settings, store: ObjectStore, cache: R2CacheService, jobs: JobRepository,
        analytics: AnalyticsRepository, access: AccessRepository, now_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.analytics = analytics
        self.access = access
        self.store = store
        self.cache = cache
        self.jobs = jobs
        self.now_ms = now_ms

    async def run(self) -> dict[str, int]:
        now = self.now_ms()
        limit = self.settings.cleanup_max_objects
        rows_before = now - self.settings.job_row_retention_seconds * 1000
        return {
            "cacheObjectsExpired": await self.cache.cleanup(),
            "cacheOrphansDeleted": await self._sweep_cache_orphans(limit),
            "jobResultsPurged": await self._purge_job_results(now, limit),
            "jobOrphansDeleted": await self._sweep_job_orphans(limit),
            "jobRowsDeleted": await self.jobs.delete_old(rows_before, limit),
            "analyticsRowsDeleted": await self.analytics.delete_old(rows_before, limit),
            "accessRowsDeleted": await self.access.delete_expired(now),
        }

    async def _purge_job_results(self, now: int, limit: int) -> int:
        purged = 0
        for job in await self.jobs.expired_results(now, limit):
            keys = await self.store.list_keys(job["result_prefix"] or f"{JOBS_PREFIX}{job['id']}/", limit)
            await self.store.delete(keys)
            if len(keys) < limit:
                await self.jobs.mark_purged(job["id"], now)
                purged += 1
        return purged

    async def _sweep_cache_orphans(self, limit: int) -> int:
        """Delete cache objects that D1 no longer tracks (a row lost, or a write cut short)."""
        keys = await self.store.list_keys(CACHE_PREFIX, limit)
        tracked = set(await self.cache.meta.existing(keys))
        orphans = [key for key in keys if key not in tracked]
        await self.store.delete(orphans)
        return len(orphans)

    async def _sweep_job_orphans(self, limit: int) -> int:
        """Delete job objects whose job row is gone or already purged."""
        keys = await self.store.list_keys(JOBS_PREFIX, limit)
        ids = {key.split("/")[1] for key in keys if key.count("/") >= 2}
        orphans: set[str] = set()
        for job_id in ids:
            job = await self.jobs.get(job_id) if valid_job_id(job_id) else None
            if job is None or job["purged_at"]:
                orphans.add(job_id)
        doomed = [key for key in keys if key.split("/")[1] in orphans]
        await self.store.delete(doomed)
        return len(doomed)
