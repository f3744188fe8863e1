"""`EnhancedTimeseriesService`: route a request, then serve it directly, from the cache, or as a job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from .aggregate import TextValuesError
from .cache import CacheStatus, DayObject, R2CacheService, day_key, spans_to_fetch
from .config import Settings
from .errors import BadRequest, TooLarge
from .flightdeck import FetchResult, FlightDeckClient, all_or_cancel
from .jobs import JobTicket, QueueService
from .planning import SampleBudget
from .ports import Defer
from .query import Route, SeriesQuery
from .routing import choose_route, estimate_samples, exact_samples
from .series import PointSeries, Series
from .shaping import NO_SHAPING, Shaping
from .timerange import Span, day_spans, parse_iso, settled_until

# Identical misses in flight in this isolate share one upstream fetch.
_INFLIGHT: dict[tuple, asyncio.Future] = {}


@dataclass
class SeriesResult:
    """Samples served for a request, how they were served, and what it cost."""

    query: SeriesQuery
    route: Route
    estimate: int
    series: Series
    errors: dict[str, str]
    cache_status: CacheStatus
    timings: dict[str, float] = field(default_factory=dict)
    samples_read: int = 0

    @property
    def samples(self) -> int:
        return sum(len(points) for points in self.series.values())

    def shaped(self, shaping: Shaping, limit: int) -> SeriesResult:
        """The result with each point shaped; more than `limit` samples left is a 413."""
        series = {}
        for name, points in self.series.items():
            try:
                series[name] = shaping.apply(points)
            except TextValuesError as exc:
                raise BadRequest(f"{name} holds text: {exc}", field="agg") from exc
        result = replace(self, series=series, samples_read=self.samples)
        if result.samples > limit:
            raise TooLarge(f"the answer holds more than {limit:,} samples; ask with a smaller max_points or interval, "
                           "fewer points, or route=queued")
        return result


class EnhancedTimeseriesService:
    """The orchestration of one caller's timeseries requests."""

    def __init__(
        self,
        settings: Settings,
        client: FlightDeckClient,
        cache: R2CacheService,
        jobs: QueueService,
        require_access: Callable[[str], Awaitable[None]],
        densities: Callable[[str, Sequence[str]], Awaitable[dict[str, int]]],
        defer: Defer,
        now_ms: Callable[[], int],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.client = client
        self.cache = cache
        self.jobs = jobs
        self.require_access = require_access
        self.densities = densities
        self.defer = defer
        self.now_ms = now_ms
        self.clock = clock

    async def fetch_timeseries(
        self,
        site: str,
        points: Sequence[str],
        start: str | int,
        end: str | int,
        *,
        user_id: str | None = None,
        timeout: float | None = None,
        route: str | None = None,
    ) -> SeriesResult | JobTicket:
        """The original design's entry point: times as ISO text or epoch ms."""
        span = Span(*(parse_iso(t) if isinstance(t, str) else int(t) for t in (start, end)))
        query = SeriesQuery(site, tuple(dict.fromkeys(points)), span, Route(route) if route else None)
        return await self.serve(query, request_id=user_id or "", timeout=timeout)

    async def serve(
        self, query: SeriesQuery, *, request_id: str, timeout: float | None = None, shaping: Shaping = NO_SHAPING
    ) -> SeriesResult | JobTicket:
        """Route by estimated size (what must be read); queued requests return the job that serves them.

        Every route first checks the token's access to the site and keeps only the points the site
        has: a point of another site is a per-point error, never fetched or cached. A shaped answer
        may read up to MAX_READ_SAMPLES (held in memory while it is computed) and return up to
        MAX_RESPONSE_SAMPLES; an unshaped one reads what it returns.
        """
        started = self.clock()
        # Both answers are usually remembered in D1: ask at once. The point list is fetched with the
        # caller's token, so it never reaches a token FlightDeck refuses; a refusal cancels it.
        _, per_day = await all_or_cancel([self.require_access(query.site), self.densities(query.site, query.points)])
        checked = self.clock() - started
        foreign = {name: f"{name!r} is not a point of site {query.site!r}"
                   for name in query.points if name not in per_day}
        known = replace(query, points=tuple(name for name in query.points if name in per_day))
        if not known.points:
            empty = {name: PointSeries() for name in query.points}
            return SeriesResult(query, query.route or Route.DIRECT, 0, empty, foreign, CacheStatus.BYPASS)
        estimate = estimate_samples(known, self.settings)
        read_limit = self.settings.max_read_samples if shaping.active else self.settings.max_response_samples
        route = self._route(known, estimate, per_day, read_limit)
        if route is Route.QUEUED:
            return await self.jobs.submit(known, estimate, request_id)
        budget = SampleBudget(read_limit)
        if route is Route.DIRECT:
            result = await self._serve_direct(known, estimate, per_day, timeout, budget)
        else:
            result = await self._serve_cached(known, estimate, per_day, timeout, budget)
        started = self.clock()
        result = result.shaped(shaping, self.settings.max_response_samples)
        result.timings["shape"] = self.clock() - started
        result.query = query
        result.timings = {"auth": checked, **result.timings}
        result.series.update({name: PointSeries() for name in foreign})
        result.errors.update(foreign)
        return result

    def _route(self, query: SeriesQuery, estimate: int, per_day: dict[str, int], limit: int) -> Route:
        """The estimate's route, unless the real sample count (from collect_interval) cannot be read:
        then a job or a 413, decided before any upstream call."""
        route = choose_route(query, estimate, self.settings)
        if route is Route.QUEUED or exact_samples(query, per_day) <= limit:
            return route
        if query.route is None:
            return Route.QUEUED
        raise TooLarge(f"the request holds more than {limit:,} samples; ask with route=queued for a background job")

    async def _serve_direct(
        self, query: SeriesQuery, estimate: int, per_day: dict[str, int], timeout: float | None,
        budget: SampleBudget,
    ) -> SeriesResult:
        started = self.clock()
        fetched = await self.client.fetch_series(query.points, query.span, timeout, per_day, budget)
        timings = {"upstream": self.clock() - started}
        return SeriesResult(query, Route.DIRECT, estimate, fetched.series, fetched.errors, CacheStatus.BYPASS,
                            timings)

    async def _serve_cached(
        self, query: SeriesQuery, estimate: int, per_day: dict[str, int], timeout: float | None,
        budget: SampleBudget,
    ) -> SeriesResult:
        timings: dict[str, float] = {}
        started = self.clock()
        days = day_spans(query.span)
        keys = [day_key(query.site, query.points, day) for day in days]
        stored = await asyncio.gather(*(self.cache.fetch(key) for key in keys))
        timings["r2"] = self.clock() - started

        started = self.clock()
        found = [self.cache.parse(obj) for obj in stored]
        cached = {day.start_ms: obj for day, obj in zip(days, found) if obj is not None}
        timings["decode"] = self.clock() - started
        budget.take(sum(len(points) for obj in cached.values() for points in obj.series.values()))

        settled = settled_until(self.now_ms(), self.settings.freshness_seconds)
        covered = {start: obj.covered_until for start, obj in cached.items()}
        wanted = spans_to_fetch(query.span, covered, settled)
        fetched = FetchResult({}, {})
        if cached:
            self.defer(self.cache.record_hits([key for key, obj in zip(keys, found) if obj is not None]))
        if wanted:
            started = self.clock()
            fetched, led = await self._fetch_coalesced(query, wanted, timeout, per_day, budget)
            timings["upstream"] = self.clock() - started
            if led and not fetched.errors:  # the leader of coalesced requests writes, once
                self.defer(self._store_days(query, keys, days, cached, fetched.series, wanted, settled))

        series = _assemble(query, days, cached, fetched.series)
        status = CacheStatus.HIT if not wanted else CacheStatus.PARTIAL if cached else CacheStatus.MISS
        return SeriesResult(query, Route.CACHED, estimate, series, fetched.errors, status, timings)

    async def _fetch_coalesced(
        self, query: SeriesQuery, wanted: list[Span], timeout: float | None, per_day: dict[str, int],
        budget: SampleBudget,
    ) -> tuple[FetchResult, bool]:
        """Fetch the wanted spans, or share an identical fetch in flight; True when this one fetched."""
        identity = (query.site, tuple(sorted(query.points)), tuple(wanted))
        pending = _INFLIGHT.get(identity)
        if pending is not None:
            shared = await _follow(pending, timeout or self.settings.upstream_timeout_seconds)
            if shared is not None:
                return shared, False
            return await self._fetch_spans(query, wanted, timeout, per_day, budget), True
        pending = asyncio.get_running_loop().create_future()
        _INFLIGHT[identity] = pending
        try:
            fetched = await self._fetch_spans(query, wanted, timeout, per_day, budget)
        except asyncio.CancelledError:
            pending.cancel()
            raise
        except BaseException as exc:
            pending.set_exception(exc)
            pending.exception()  # mark retrieved: followers may be none
            raise
        finally:
            if _INFLIGHT.get(identity) is pending:
                del _INFLIGHT[identity]
        pending.set_result(fetched)
        return fetched, True

    async def _fetch_spans(
        self, query: SeriesQuery, wanted: list[Span], timeout: float | None, per_day: dict[str, int],
        budget: SampleBudget,
    ) -> FetchResult:
        fetched = FetchResult({}, {})
        for span in wanted:
            part = await self.client.fetch_series(query.points, span, timeout, per_day, budget)
            fetched = _join(fetched, part)
        return fetched

    async def _store_days(
        self, query: SeriesQuery, keys: list[str], days: list[Span], cached: dict[int, DayObject],
        fetched: Series, wanted: list[Span], settled: int,
    ) -> None:
        """Write each day whose settled coverage grew; runs after the response, via waitUntil.

        A day with no sample at all is not stored: an empty answer (a transient 404, data not yet
        backfilled) is cheap to ask again and must never be served as a hit for the cache's lifetime.
        """
        for key, day in zip(keys, days):
            before = cached.get(day.start_ms)
            have = before.covered_until if before else day.start_ms
            reach = max((s.end_ms for s in wanted if s.start_ms <= have < s.end_ms), default=have)
            until = min(reach, settled, day.end_ms)
            if until <= have:
                continue
            series = {
                name: _concat(before.series.get(name) if before else None, fetched[name].window(have, until))
                for name in query.points
            }
            if not any(len(points) for points in series.values()):
                continue
            await self.cache.put(key, DayObject(query.site, tuple(sorted(query.points)), day, series, until))


async def _follow(pending: asyncio.Future, timeout: float) -> FetchResult | None:
    """The leader's result, or None when it failed, was cancelled or took longer than `timeout`:
    a follower never hangs on a leader, and never fails because of the leader's own failure."""
    done, _ = await asyncio.wait({pending}, timeout=timeout)
    if not done or pending.cancelled() or pending.exception() is not None:
        return None
    return pending.result()


def _join(a: FetchResult, b: FetchResult) -> FetchResult:
    series = {name: PointSeries(list(p.times), list(p.values)) for name, p in a.series.items()}
    for name, part in b.series.items():
        series.setdefault(name, PointSeries()).extend(part)
    return FetchResult(series, {**a.errors, **b.errors})


def _concat(first: PointSeries | None, second: PointSeries) -> PointSeries:
    if first is None:
        return second
    return PointSeries(first.times + second.times, first.values + second.values)


def _assemble(query: SeriesQuery, days: list[Span], cached: dict[int, DayObject], fetched: Series) -> Series:
    """Each point's samples in time order: per day the cached part, then what was fetched after it."""
    out: Series = {}
    for name in query.points:
        points = PointSeries()
        fresh = fetched.get(name, PointSeries())
        for day in days:
            obj = cached.get(day.start_ms)
            have = obj.covered_until if obj else day.start_ms
            if obj is not None and name in obj.series:
                points.extend(obj.series[name].window(day.start_ms, have))
            points.extend(fresh.window(have, day.end_ms))
        out[name] = points.window(query.span.start_ms, query.span.end_ms)
    return out
