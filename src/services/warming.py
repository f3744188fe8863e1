"""Cache warming in the cron: fetch yesterday's data for the point sets asked for most, before anyone asks.

The cron has no caller, so it warms with a service credential, the `WARMING_TOKEN` Worker secret:
callers' tokens are never kept. Each run first checks the credential's access to each site it would
warm (through the access service every request uses), skips a site it may not read, and stops at
FlightDeck's first 401 or 429. It spends at most `warming_max_calls` FlightDeck calls (the transport
refuses the next), access checks included.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .cache import CacheStatus, R2CacheService, month_spans, point_key, points_hash
from .config import Settings
from .errors import Forbidden, ServiceError, Unauthorized
from .log import log_event
from .planning import plan_calls
from .ports import Defer, HttpRequest, HttpResponse, Transport
from .query import Route, SeriesQuery
from .repositories import WarmingRepository
from .timerange import DAY_MS, Span, day_label, settled_until
from .timeseries import EnhancedTimeseriesService

WARMING_REQUEST_ID = "warming"

# Builds the cached-route service for the warming credential over a given transport, its writes handed to `defer`.
ServiceFactory = Callable[[Transport, Defer], EnhancedTimeseriesService]


class BudgetSpent(Exception):
    """The run's budget of upstream calls is used up."""


class UpstreamThrottled(Exception):
    """FlightDeck answered 429: warming waits for the next run."""


class BudgetedTransport:
    """A `Transport` that refuses calls past `limit` and stops at FlightDeck's first 429.

    Its exceptions are not transport errors, so the client neither retries nor splits on them.
    """

    def __init__(self, transport: Transport, limit: int) -> None:
        self.transport = transport
        self.limit = limit
        self.calls = 0

    def affords(self, calls: int) -> bool:
        return self.calls + calls <= self.limit

    async def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        if self.calls >= self.limit:
            raise BudgetSpent()
        self.calls += 1
        response = await self.transport.send(request, timeout)
        if response.status == 429:
            raise UpstreamThrottled()
        return response


@dataclass
class WarmingReport:
    sets: int = 0
    calls: int = 0
    warmed: int = 0
    stopped: str | None = None

    def as_log(self) -> dict:
        return {"warmingSets": self.sets, "warmingCalls": self.calls, "objectsWarmed": self.warmed,
                "warmingStopped": self.stopped}


class Warming:
    """Notes demand as requests are served; warms missing settled days in the cron with `WARMING_TOKEN`."""

    def __init__(
        self, settings: Settings, repo: WarmingRepository, cache: R2CacheService,
        transport: Transport, service_for: ServiceFactory | None, now_ms: Callable[[], int],
    ) -> None:
        """`service_for` is None when the `WARMING_TOKEN` secret is not set: then nothing is warmed."""
        self.settings = settings
        self.repo = repo
        self.cache = cache
        self.transport = transport
        self.service_for = service_for
        self.now_ms = now_ms

    async def note(self, query: SeriesQuery) -> None:
        """After a request served on the cached route: count its demand (no token is kept)."""
        names = sorted(query.points)
        await self.repo.count_request(query.site, points_hash(names), day_label(self.now_ms()), json.dumps(names))

    def days(self) -> list[Span]:
        """The last `warming_days` settled UTC days, newest first."""
        settled = settled_until(self.now_ms(), self.settings.freshness_seconds)
        end = settled - settled % DAY_MS
        return [Span(end - k * DAY_MS, end - (k - 1) * DAY_MS) for k in range(1, self.settings.warming_days + 1)]

    async def run(self) -> dict:
        """One cron run, within the budget; returns what it did for the cron's log line."""
        report = WarmingReport()
        if self.service_for is None:
            report.stopped = "no WARMING_TOKEN secret"
            return report.as_log()
        since = day_label(self.now_ms() - self.settings.warming_lookback_days * DAY_MS)
        await self.repo.forget_before(since)
        budget = BudgetedTransport(self.transport, self.settings.warming_max_calls)
        pending: list[Awaitable[None]] = []
        service = self.service_for(budget, pending.append)
        try:
            for row in await self.repo.top_sets(since, self.settings.warming_max_sets):
                report.sets += 1
                points = tuple(json.loads(row["points"]))
                for day in await self._missing(service, row["site"], points):
                    report.warmed += await self._warm_day(service, pending, budget, row["site"], points, day)
        except BudgetSpent:
            report.stopped = "budget"
        except UpstreamThrottled:
            report.stopped = "flightdeck_429"
        except Unauthorized:  # a revoked or expired credential: every further call would fail the same way
            log_event("warming.unauthorized", message="FlightDeck rejected WARMING_TOKEN; the run stops")
            report.stopped = "flightdeck_401"
        report.calls = budget.calls
        return report.as_log()

    async def _missing(self, service: EnhancedTimeseriesService, site: str, points: tuple[str, ...]) -> list[Span]:
        """The set's days to warm, newest first: those the cache lacks, and none when `WARMING_TOKEN` may
        not read the site (asked only when a day is missing)."""
        missing = [day for day in self.days() if not await self._cached(site, points, day)]
        if missing:
            try:
                await service.access.require(site)
            except Forbidden:
                log_event("warming.site_skipped", site=site, reason="WARMING_TOKEN may not read the site")
                return []
        return missing

    async def _warm_day(
        self, service: EnhancedTimeseriesService, pending: list[Awaitable[None]], budget: BudgetedTransport,
        site: str, points: tuple[str, ...], day: Span,
    ) -> int:
        """Fetch one settled day the cache lacked; 1 if it was warmed."""
        if not budget.affords(len(plan_calls(points, day, self.settings.upstream_page_samples, None))):
            raise BudgetSpent()
        try:
            result = await service.serve(SeriesQuery(site, points, day, Route.CACHED), request_id=WARMING_REQUEST_ID)
        except Unauthorized:
            raise
        except ServiceError as exc:  # a point the token may not read, an upstream error: the next run retries
            log_event("warming.failed", site=site, day=day_label(day.start_ms), error=exc.code)
            return 0
        while pending:
            await pending.pop(0)
        if result.cache_status is CacheStatus.HIT or not await self._cached(site, points, day):
            return 0
        keys = [point_key(site, point, month) for point in points for month in month_spans(day)]
        await self.repo.record_warmed(keys, site, day_label(day.start_ms), self.now_ms())
        return 1

    async def _cached(self, site: str, points: tuple[str, ...], day: Span) -> bool:
        return await self.cache.covers(site, points, day)
