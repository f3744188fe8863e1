"""Build the services from the platform's parts; one `Services` per invocation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial

from .access import AccessService, TokenAccess, token_hash
from .cache import R2CacheService
from .config import Settings
from .consumer import JobConsumer
from .events import JobEvents
from .flightdeck import FlightDeckClient
from .health import HealthService
from .jobs import QueueService
from .maintenance import Maintenance
from .ports import Database, Defer, MessageQueue, ObjectStore, RateLimiter, Transport
from .query import Priority
from .ratelimits import RateLimits
from .repositories import (
    AccessRepository,
    AnalyticsRepository,
    CacheMetadataRepository,
    CatalogRepository,
    JobRepository,
    SweepCursorRepository,
    WarmingRepository,
)
from .stats import StatsService
from .timeseries import EnhancedTimeseriesService
from .warming import Warming


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Platform:
    """What the runtime provides: D1, R2, the job queues, outgoing HTTP, waitUntil, rate limiters
    (by binding name) and the `WARMING_TOKEN` secret, the FlightDeck credential cache warming uses."""

    db: Database
    store: ObjectStore
    queues: dict[Priority, MessageQueue]
    transport: Transport
    defer: Defer
    limiters: Mapping[str, RateLimiter] = field(default_factory=dict)
    warming_token: str | None = field(default=None, repr=False)  # a credential: never in a repr or a log


class Services:
    """The service graph for one invocation."""

    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        now_ms: Callable[[], int] = wall_ms,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.platform = platform
        self.now_ms = now_ms
        self.clock = clock
        self.jobs_repo = JobRepository(platform.db)
        self.analytics = AnalyticsRepository(platform.db)
        self.cache = R2CacheService(platform.store, CacheMetadataRepository(platform.db), settings, now_ms)
        self.access_repo = AccessRepository(platform.db)
        self.catalog_repo = CatalogRepository(platform.db)
        self.access = AccessService(self.access_repo, self.catalog_repo, settings, now_ms)
        self.rate_limits = RateLimits(platform.limiters)
        self.warming_repo = WarmingRepository(platform.db)

    def client(
        self, token: str, transport: Transport | None = None, settings: Settings | None = None,
    ) -> FlightDeckClient:
        """A FlightDeck client for the token, over the Worker's transport and settings unless given others."""
        return FlightDeckClient(transport or self.platform.transport, settings or self.settings, token,
                                sleep=self.sleep, clock=self.clock)

    def jobs(self, token: str) -> QueueService:
        return QueueService(self.settings, self.jobs_repo, self.platform.queues, self.platform.store,
                            token_hash(token), token, self.now_ms)

    def timeseries(self, token: str, client: FlightDeckClient, defer: Defer | None = None) -> EnhancedTimeseriesService:
        access = TokenAccess(self.access, client, token_hash(token))
        return EnhancedTimeseriesService(self.settings, client, self.cache, self.jobs(token), access,
                                         defer or self.platform.defer, self.now_ms, self.clock)

    def warming(self) -> Warming:
        token = self.platform.warming_token or ""

        def service_for(transport: Transport, defer: Defer) -> EnhancedTimeseriesService:
            return self.timeseries(token, self.client(token, transport), defer)

        return Warming(self.settings, self.warming_repo, self.cache, self.platform.transport,
                       service_for if token else None, self.now_ms)

    def consumer(self) -> JobConsumer:
        # A consumer holds a part and its calls' pages in memory: smaller pages, fewer at once.
        sized = replace(self.settings, upstream_page_samples=self.settings.job_page_samples,
                        upstream_concurrency=self.settings.job_upstream_concurrency)
        return JobConsumer(sized, self.jobs_repo, self.platform.store, partial(self.client, settings=sized),
                           self.access, self.platform.queues, self.now_ms)

    def job_events(self) -> JobEvents:
        return JobEvents(self.settings, self.jobs_repo, self.sleep, self.clock)

    def maintenance(self) -> Maintenance:
        return Maintenance(self.settings, self.platform.store, self.cache, self.jobs_repo, self.analytics,
                           self.access_repo, self.catalog_repo, SweepCursorRepository(self.platform.db),
                           self.now_ms)

    def stats(self) -> StatsService:
        return StatsService(self.cache.meta, self.analytics, self.jobs_repo, self.now_ms, self.warming_repo)

    def health(self) -> HealthService:
        return HealthService(self.settings, self.jobs_repo, self.platform.store,
                             self.platform.queues[Priority.NORMAL], self.platform.transport)
