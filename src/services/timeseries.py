"""`EnhancedTimeseriesService`: route a request, then serve it directly, from the cache, or as a job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from .access import TokenAccess
from .aggregate import TextValuesError
from .cache import CacheStatus, PointObject, R2CacheService, clip, month_spans, point_key, subtract, with_data
from .config import Settings
from .errors import BadRequest, TooLarge
from .flightdeck import FetchResult, FlightDeckClient
from .jobs import JobTicket, QueueService
from .planning import SampleBudget
from .ports import Defer
from .query import Route, SeriesQuery
from .routing import choose_route, estimate_samples, exact_samples
from .series import PointSeries, Series
from .shaping import NO_SHAPING, Shaping
from .timerange import Span, merge, parse_iso, settled_until

# Identical misses in flight in this isolate share one upstream fetch.
_INFLIGHT: dict[tuple, asyncio.Future] = {}


@dataclass(frozen=True)
class CachedObjects:
    """A request's cache objects by (point, month start), None where absent or unreadable, and the
    time spent decoding them (it overlaps the reads: `r2` in Server-Timing is the wait for both)."""

    objects: dict[tuple[str, int], PointObject | None]
    decode_seconds: float


@dataclass(frozen=True)
class ReadAhead:
    """What `read_ahead` started: the caller's remembered access answer and the cache objects."""

    access: asyncio.Future
    objects: asyncio.Future

    def cancel(self) -> None:
        """Stop what is still reading; the outcome of what finished is dropped (a read that failed for
        a request that no longer needs it is no error)."""
        for future in (self.access, self.objects):
            if not future.cancel() and not future.cancelled():
                future.exception()


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
        access: TokenAccess,
        defer: Defer,
        now_ms: Callable[[], int],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.client = client
        self.cache = cache
        self.jobs = jobs
        self.access = access
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

    def read_ahead(self, query: SeriesQuery) -> ReadAhead | None:
        """Start what a request the cached route would serve reads, the caller's remembered access
        answer (D1) and the cache objects (R2, decoded as they arrive), so that these reads overlap the
        rate-limit check; `serve` uses them once every check has passed."""
        if choose_route(query, estimate_samples(query, self.settings), self.settings) is not Route.CACHED:
            return None
        return ReadAhead(asyncio.ensure_future(self.access.remembered(query.site, query.points)),
                         asyncio.ensure_future(self._read_objects(query)))

    async def serve(
        self, query: SeriesQuery, *, request_id: str, timeout: float | None = None, shaping: Shaping = NO_SHAPING,
        ahead: ReadAhead | None = None,
    ) -> SeriesResult | JobTicket:
        """Route by estimated size (what must be read); queued requests return the job that serves them.

        Every route first checks the token's access to the site and keeps only the points of the site
        this token may read: a point of another site, or one FlightDeck refuses to this token, is a
        per-point error, never fetched, read from the cache or cached. A shaped answer
        may read up to MAX_READ_SAMPLES (held in memory while it is computed) and return up to
        MAX_RESPONSE_SAMPLES; an unshaped one reads what it returns. `ahead` is `read_ahead`'s reads.
        """
        started = self.clock()
        # One D1 statement when remembered (access, the site's points, this token's refusals); else
        # one FlightDeck call with the caller's token. Forbidden when it may not read the site.
        per_day = await self.access.readable(query.site, query.points, ahead.access if ahead else None)
        checked = self.clock() - started
        foreign = {name: f"{name!r} is not a point of site {query.site!r} this token may read"
                   for name in query.points if name not in per_day}
        known = replace(query, points=tuple(name for name in query.points if name in per_day))
        if not known.points:
            empty = {name: PointSeries() for name in query.points}
            return SeriesResult(query, query.route or Route.DIRECT, 0, empty, foreign, CacheStatus.BYPASS)
        estimate = estimate_samples(known, self.settings)
        read_limit = self.settings.max_read_samples if shaping.active else self.settings.max_response_samples
        route = self._route(known, estimate, per_day, read_limit)
        if route is Route.QUEUED:
            return await self.jobs.submit(known, estimate, request_id, foreign)
        budget = SampleBudget(read_limit)
        if route is Route.DIRECT:
            result = await self._serve_direct(known, estimate, per_day, timeout, budget)
        else:
            result = await self._serve_cached(known, estimate, per_day, timeout, budget,
                                              ahead.objects if ahead else None)
        refused = sorted(self.client.refused.intersection(known.points))
        if refused:  # FlightDeck refused them to this token just now: nothing cached of them is served
            self.defer(self.access.refuse(query.site, refused))
            result.series.update({name: PointSeries() for name in refused})
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
        budget: SampleBudget, ahead: Awaitable[CachedObjects] | None = None,
    ) -> SeriesResult:
        """Serve each point from its cached spans; fetch only the (point, span) pairs missing, one
        batched fetch for the points that miss the same spans."""
        timings: dict[str, float] = {}
        cached, hit_keys = await self._read_cached(query, timings, ahead)

        now = self.now_ms()
        coverage = {name: clip([s for obj in objs for s in obj.coverage(now)], query.span)
                    for name, objs in cached.items()}
        budget.take(sum(obj.samples.count(s.start_ms, s.end_ms) for name, objs in cached.items()
                        for obj in objs for s in clip(coverage[name], obj.month)))
        groups: dict[tuple[Span, ...], list[str]] = {}
        for name in query.points:
            missing = tuple(subtract(query.span, coverage[name]))
            if missing:
                groups.setdefault(missing, []).append(name)
        if any(coverage.values()):
            self.defer(self.cache.record_hits(hit_keys))
        fetched = FetchResult({}, {})
        if groups:
            started = self.clock()
            parts = await asyncio.gather(*(
                self._fetch_coalesced(replace(query, points=tuple(names)), list(spans), timeout, per_day, budget)
                for spans, names in groups.items()))
            timings["upstream"] = self.clock() - started
            for part, _ in parts:  # the groups hold disjoint points: no sample is copied
                fetched = FetchResult({**fetched.series, **part.series}, {**fetched.errors, **part.errors})
            led_spans = {name: list(spans) for (spans, names), (_, led) in zip(groups.items(), parts) if led
                         for name in names}
            self.defer(self._store_points(query.site, fetched, led_spans, now))

        series = {name: _assemble(query.span, coverage[name], cached[name], fetched.series.get(name))
                  for name in query.points}
        status = CacheStatus.HIT if not groups else CacheStatus.PARTIAL if any(coverage.values()) else CacheStatus.MISS
        return SeriesResult(query, Route.CACHED, estimate, series, fetched.errors, status, timings)

    async def _read_cached(
        self, query: SeriesQuery, timings: dict[str, float], ahead: Awaitable[CachedObjects] | None = None,
    ) -> tuple[dict[str, list[PointObject]], list[str]]:
        """Each point's cached month objects, their samples cut to the query's span, and their keys.

        Objects read ahead for points the checks then dropped are never looked at.
        """
        started = self.clock()
        found = await (ahead or self._read_objects(query))
        timings.update(r2=self.clock() - started, decode=found.decode_seconds)
        cached: dict[str, list[PointObject]] = {name: [] for name in query.points}
        keys = []
        for name in query.points:
            for month in month_spans(query.span):
                obj = found.objects.get((name, month.start_ms))
                if obj is not None:
                    keys.append(obj.key)
                    cached[name].append(obj)
        return cached, keys

    async def _read_objects(self, query: SeriesQuery) -> CachedObjects:
        """Every (point, month) object of the request, each decoded as soon as it arrives, and the
        time spent decoding.

        A month object may hold weeks the query does not ask for; only the query's days are decoded,
        so concurrent requests (coalesced followers wait out the leader's fetch) do not each hold whole months.
        """
        decoding = 0.0

        async def read(name: str, month: Span) -> PointObject | None:
            nonlocal decoding
            found = await self.cache.fetch(point_key(query.site, name, month))
            started = self.clock()
            obj = self.cache.parse(found, query.site, name, month, query.span)
            decoding += self.clock() - started
            return obj

        slots = [(name, month) for name in query.points for month in month_spans(query.span)]
        found = await asyncio.gather(*(read(name, month) for name, month in slots))
        return CachedObjects({(name, month.start_ms): obj for (name, month), obj in zip(slots, found)}, decoding)

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

    async def _store_points(
        self, site: str, fetched: FetchResult, fetched_spans: dict[str, list[Span]], now: int,
    ) -> None:
        """Write each point-month whose coverage grew; runs after the response, via waitUntil.

        Each month object is read again here, whole, and grown: the request kept only its own span of it.
        Only the leader of coalesced fetches writes, and only points that came back without error; a
        point with no sample where others have some is kept as `recent` only (the short TTL).
        What is older than the freshness window joins the settled spans (day-parts holding samples
        only); what is newer, or empty, is kept as `recent`, valid for RECENT_CACHE_TTL_SECONDS.
        """
        settled = settled_until(now, self.settings.freshness_seconds)
        if not any(len(fetched.series.get(name, ())) for name in fetched_spans):
            return  # an answer with no sample at all (a transient 404, no data yet) is not stored
        for name, spans in fetched_spans.items():
            if name in fetched.errors:
                continue
            fresh = fetched.series.get(name, PointSeries())
            for month in month_spans(Span(spans[0].start_ms, spans[-1].end_ms)):
                before = self.cache.parse(await self.cache.fetch(point_key(site, name, month)), site, name, month)
                grown = _grown(site, name, month, before, clip(spans, month), fresh, settled,
                               now, self.settings.recent_cache_ttl_seconds)
                if grown is not None:
                    await self.cache.put(grown)


def _grown(
    site: str, name: str, month: Span, before: PointObject | None, spans: list[Span], fresh: PointSeries,
    settled: int, now: int, recent_seconds: int,
) -> PointObject | None:
    """The point-month object with what was fetched in `spans` added, or None when nothing new can be kept.

    Settled day-parts holding samples join `covered`; empty settled day-parts and unsettled spans
    join `recent`, which expires RECENT_CACHE_TTL_SECONDS after its oldest part was fetched.
    """
    settled_part = clip(spans, Span(month.start_ms, settled))
    kept = with_data(settled_part, fresh)
    fetched_recent = merge([*(gap for part in settled_part for gap in subtract(part, kept)),
                            *clip(spans, Span(max(settled, month.start_ms), month.end_ms))])
    if not kept and not fetched_recent:
        return None
    old_recent = before.live_recent(now) if before else []
    expires = before.recent_expires if old_recent and before else now + recent_seconds * 1000
    recent = merge([*old_recent, *fetched_recent])
    covered = merge([*(before.covered if before else ()), *kept])
    old_pieces = before.coverage(now) if before else []
    samples = PointSeries()
    for piece in merge([*covered, *recent]):
        for part, held in _split(piece, old_pieces):
            source = before.samples if held and before else fresh
            samples.extend(source.window(part.start_ms, part.end_ms))
    return PointObject(site, name, month, samples, tuple(covered), tuple(recent), expires if recent else 0)


def _split(piece: Span, old: list[Span]) -> list[tuple[Span, bool]]:
    """`piece` in time order as (part, True when the old object holds it)."""
    held = [(s, True) for s in clip(old, piece)]
    new = [(s, False) for s in subtract(piece, old)]
    return sorted(held + new, key=lambda item: item[0].start_ms)


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


def _assemble(span: Span, coverage: list[Span], cached: list[PointObject], fetched: PointSeries | None) -> PointSeries:
    """A point's samples in `span`, in time order: each covered part from its object, the rest fetched."""
    fresh = fetched or PointSeries()
    by_month = {obj.month.start_ms: obj for obj in cached}
    out = PointSeries()
    for part, held in _split(span, coverage):
        if not held:
            out.extend(fresh.window(part.start_ms, part.end_ms))
            continue
        for month in month_spans(part):
            for piece in clip([part], month):
                out.extend(by_month[month.start_ms].samples.window(piece.start_ms, piece.end_ms))
    return out
