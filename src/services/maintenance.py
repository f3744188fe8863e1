"""The cron run: fail stale jobs, drop expired cache objects and job results, delete old rows.

Bounded and idempotent. The bound is a budget of operations (each D1 statement or batch and each
R2 call is a subrequest), not of objects: a run stays far inside the 1,000 subrequests an
invocation may make to Cloudflare services even when every step has work. D1 drives the
deletions (so stats stay true); R2 sweeps by prefix then catch objects whose rows are gone and
objects of the cache's earlier layout,
continuing across runs from a cursor in D1, and never touch an object younger than
`ORPHAN_GRACE_SECONDS` (its D1 row may not be written yet).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from .cache import LEGACY_PREFIX, R2CacheService
from .cache import PREFIX as CACHE_PREFIX
from .config import Settings
from .jobs import valid_job_id
from .ports import ObjectStore
from .repositories import (
    MAX_BOUND,
    AccessRepository,
    AnalyticsRepository,
    CatalogRepository,
    JobRepository,
    SweepCursorRepository,
)

JOBS_PREFIX = "jobs/"


class Budget:
    """Operations left for this run."""

    def __init__(self, operations: int) -> None:
        self.left = operations

    def spend(self, operations: int) -> None:
        self.left -= operations


class Maintenance:
    """What `scheduled()` does; every step stops when the run's operation budget is spent."""

    def __init__(
        self, settings: Settings, store: ObjectStore, cache: R2CacheService, jobs: JobRepository,
        analytics: AnalyticsRepository, access: AccessRepository, catalog: CatalogRepository,
        cursors: SweepCursorRepository, now_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.store = store
        self.cache = cache
        self.jobs = jobs
        self.analytics = analytics
        self.access = access
        self.catalog = catalog
        self.cursors = cursors
        self.now_ms = now_ms

    async def run(self) -> dict[str, int]:
        budget = Budget(self.settings.cleanup_max_operations)
        steps: list[tuple[str, Callable[[int, Budget], Awaitable[int]]]] = [
            ("staleJobsFailed", self._fail_stale_jobs),
            ("cacheObjectsExpired", self._expire_cache),
            ("cacheOrphansDeleted", self._sweep_cache_orphans),
            ("legacyCacheDeleted", self._sweep_legacy_cache),
            ("jobResultsPurged", self._purge_job_results),
            ("jobOrphansDeleted", self._sweep_job_orphans),
            ("jobRowsDeleted", self._delete_old_jobs),
            ("rowsDeleted", self._delete_old_rows),
        ]
        now = self.now_ms()
        report = {}
        for name, step in steps:
            report[name] = await step(now, budget) if budget.left > 0 else 0
        report["operations"] = self.settings.cleanup_max_operations - budget.left
        return report

    async def _fail_stale_jobs(self, now: int, budget: Budget) -> int:
        failed = await self.jobs.fail_stale(now, self.settings.job_lease_seconds,
                                            self.settings.job_retention_seconds, max(1, budget.left - 1))
        budget.spend(1 + len(failed))
        return len(failed)

    async def _expire_cache(self, now: int, budget: Budget) -> int:
        budget.spend(3)  # select, R2 delete, D1 delete
        return await self.cache.cleanup()

    async def _purge_job_results(self, now: int, budget: Budget) -> int:
        limit = min(self.settings.cleanup_max_objects, max(1, (budget.left - 1) // 3))
        budget.spend(1)
        purged = 0
        for job in await self.jobs.expired_results(now, limit):
            listed = await self.store.list_page(job["result_prefix"] or f"{JOBS_PREFIX}{job['id']}/",
                                                self.settings.cleanup_max_objects)
            await self.store.delete([item.key for item in listed])
            budget.spend(2)
            if len(listed) < self.settings.cleanup_max_objects:
                await self.jobs.mark_purged(job["id"], now)
                budget.spend(1)
                purged += 1
        return purged

    async def _sweep_cache_orphans(self, now: int, budget: Budget) -> int:
        """Delete cache objects that D1 no longer tracks (a row lost, or a write cut short)."""

        async def untracked(keys: list[str]) -> list[str]:
            tracked = set(await self.cache.meta.existing(keys))
            budget.spend(-(-len(keys) // MAX_BOUND))  # one statement per chunk
            return [key for key in keys if key not in tracked]

        return await self._sweep("cache", CACHE_PREFIX, now, budget, untracked)

    async def _sweep_legacy_cache(self, now: int, budget: Budget) -> int:
        """Delete objects of the earlier set-per-day layout (never read since), and their rows."""

        async def legacy(keys: list[str]) -> list[str]:
            await self.cache.meta.delete(keys)
            budget.spend(1)
            return keys

        return await self._sweep("legacy", LEGACY_PREFIX, now, budget, legacy)

    async def _sweep_job_orphans(self, now: int, budget: Budget) -> int:
        """Delete job objects whose job row is gone or already purged."""

        async def unowned(keys: list[str]) -> list[str]:
            ids = sorted({key.split("/")[1] for key in keys if key.count("/") >= 2})
            owned = await self.jobs.unpurged([i for i in ids if valid_job_id(i)])
            budget.spend(-(-len(ids) // MAX_BOUND))
            return [key for key in keys if key.count("/") < 2 or key.split("/")[1] not in owned]

        return await self._sweep("jobs", JOBS_PREFIX, now, budget, unowned)

    async def _sweep(
        self, name: str, prefix: str, now: int, budget: Budget,
        orphans_of: Callable[[list[str]], Awaitable[Sequence[str]]],
    ) -> int:
        """One page of an R2 sweep from where the last run stopped; objects inside the grace period stay."""
        limit = self.settings.cleanup_max_objects
        listed = await self.store.list_page(prefix, limit, await self.cursors.get(name))
        budget.spend(4)  # cursor read, list, delete, cursor write
        settled = now - self.settings.orphan_grace_seconds * 1000
        old = [item.key for item in listed if item.uploaded_ms < settled]
        orphans = list(await orphans_of(old)) if old else []
        await self.store.delete(orphans)
        await self.cursors.set(name, listed[-1].key if len(listed) == limit else None, now)
        return len(orphans)

    async def _delete_old_jobs(self, now: int, budget: Budget) -> int:
        budget.spend(2)
        before = now - self.settings.job_row_retention_seconds * 1000
        return await self.jobs.delete_old(before, self.settings.cleanup_max_objects)

    async def _delete_old_rows(self, now: int, budget: Budget) -> int:
        budget.spend(3)
        before = now - self.settings.job_row_retention_seconds * 1000
        analytics = await self.analytics.delete_old(before, self.settings.cleanup_max_objects)
        return analytics + await self.access.delete_expired(now) + await self.catalog.delete_expired(now)
