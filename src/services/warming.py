"""Cache warming in the cron: fetch yesterday's data for the point sets asked for most, before anyone asks.

The cron has no caller, so it has no token. A token that succeeded on a site's cached route is
kept for `warming_token_ttl_seconds`, sealed with AES-GCM under the `WARMING_KEY` Worker secret
(bound to its site and token hash): D1 never holds it in plaintext, and without the secret it
neither opens nor is stored. Each run spends at most `warming_max_calls` FlightDeck calls (the
transport refuses the next) and stops at FlightDeck's first 429.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .access import token_hash
from .cache import CacheStatus, day_key, points_hash
from .config import Settings
from .errors import Forbidden, ServiceError, Unauthorized
from .log import log_event
from .planning import plan_calls
from .ports import Defer, HttpRequest, HttpResponse, Sealer, Transport
from .query import Route, SeriesQuery
from .repositories import CacheMetadataRepository, WarmingRepository
from .timerange import DAY_MS, Span, day_label, db_time, settled_until
from .timeseries import EnhancedTimeseriesService

TOKEN_REFRESH_MS = 3_600_000  # a token is re-sealed at most hourly, not on every request
WARMING_REQUEST_ID = "warming"

# Builds the cached-route service for a token over a given transport, its writes handed to `defer`.
ServiceFactory = Callable[[str, Transport, Defer], EnhancedTimeseriesService]


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
    """Notes demand and successful tokens as requests are served; warms missing settled days in the cron."""

    def __init__(
        self, settings: Settings, repo: WarmingRepository, cache_meta: CacheMetadataRepository,
        sealer: Sealer | None, transport: Transport, service_for: ServiceFactory, now_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.cache_meta = cache_meta
        self.sealer = sealer
        self.transport = transport
        self.service_for = service_for
        self.now_ms = now_ms

    async def note(self, query: SeriesQuery, token: str) -> None:
        """After a request served on the cached route: count its demand, keep its token sealed."""
        now = self.now_ms()
        names = sorted(query.points)
        await self.repo.count_request(query.site, points_hash(names), day_label(now), json.dumps(names))
        if self.sealer is None:
            return
        digest = token_hash(token)
        seen = await self.repo.token_seen_at(query.site, digest)
        if seen is None or seen < db_time(now - TOKEN_REFRESH_MS):
            sealed = await self.sealer.seal(token, _context(query.site, digest))
            await self.repo.remember_token(query.site, digest, sealed, now)

    def days(self) -> list[Span]:
        """The last `warming_days` settled UTC days, newest first."""
        settled = settled_until(self.now_ms(), self.settings.freshness_seconds)
        end = settled - settled % DAY_MS
        return [Span(end - k * DAY_MS, end - (k - 1) * DAY_MS) for k in range(1, self.settings.warming_days + 1)]

    async def run(self) -> dict:
        """One cron run, within the budget; returns what it did for the cron's log line."""
        report = WarmingReport()
        if self.sealer is None:
            report.stopped = "no WARMING_KEY secret"
            return report.as_log()
        now = self.now_ms()
        since = day_label(now - self.settings.warming_lookback_days * DAY_MS)
        await self.repo.forget_before(now - self.settings.warming_token_ttl_seconds * 1000, since)
        budget = BudgetedTransport(self.transport, self.settings.warming_max_calls)
        try:
            for row in await self.repo.top_sets(since, self.settings.warming_max_sets):
                report.sets += 1
                report.warmed += await self._warm_set(row["site"], tuple(json.loads(row["points"])), budget)
        except BudgetSpent:
            report.stopped = "budget"
        except UpstreamThrottled:
            report.stopped = "flightdeck_429"
        report.calls = budget.calls
        return report.as_log()

    async def _warm_set(self, site: str, points: tuple[str, ...], budget: BudgetedTransport) -> int:
        missing = [day for day in self.days() if not await self._cached(site, points, day)]
        if not missing:
            return 0
        token = await self._token(site)
        if token is None:
            return 0
        pending: list[Awaitable[None]] = []
        service = self.service_for(token, budget, pending.append)
        warmed = 0
        for day in missing:
            if not budget.affords(len(plan_calls(points, day, self.settings.upstream_page_samples, None))):
                raise BudgetSpent()
            query = SeriesQuery(site, points, day, Route.CACHED)
            try:
                result = await service.serve(query, request_id=WARMING_REQUEST_ID)
            except (Unauthorized, Forbidden):
                await self.repo.forget_token(site, token_hash(token))  # no longer succeeds: never used again
                return warmed
            except ServiceError as exc:
                log_event("warming.failed", site=site, day=day_label(day.start_ms), error=exc.code)
                continue
            while pending:
                await pending.pop(0)
            if result.cache_status is not CacheStatus.HIT and await self._cached(site, points, day):
                await self.repo.record_warmed(day_key(site, points, day), site, day_label(day.start_ms), self.now_ms())
                warmed += 1
        return warmed

    async def _cached(self, site: str, points: tuple[str, ...], day: Span) -> bool:
        covered = await self.cache_meta.covered_until(day_key(site, points, day))
        return covered is not None and covered >= day.end_ms

    async def _token(self, site: str) -> str | None:
        row = await self.repo.latest_token(site)
        if row is None:
            return None
        try:
            return await self.sealer.open(row["sealed"], _context(site, row["token_hash"]))  # type: ignore[union-attr]
        except ValueError:  # sealed under another WARMING_KEY: useless now
            await self.repo.forget_token(site, row["token_hash"])
            return None


def _context(site: str, digest: str) -> str:
    return f"{site}|{digest}"
