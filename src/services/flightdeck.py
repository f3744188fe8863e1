"""The FlightDeck client: plan calls → fetch series → retry → one request.

Endpoint choice, reasoned from the spec (`make bench` does not compare endpoints): the site's
paginated endpoint returns *every* point of the site, so a 10-point request at the simulator's
182-point demo HQ would move ~18× the samples it needs; per-point GETs cost one call per point; the batch
POST answers several named points in one call. So one point uses the per-point GET, several use
the batch POST, and both are cut into time windows that keep each response near
`upstream_page_samples` samples, so no call ever returns an unbounded page. Windows assume the
densest 1-minute interval unless the caller knows each point's `collect_interval` (jobs do).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlencode

from .config import Settings
from .errors import (
    Forbidden,
    NotFound,
    RateLimited,
    ServiceError,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .planning import DENSEST_SAMPLES_PER_DAY, PerDay, SampleBudget, plan_calls
from .ports import HttpRequest, HttpResponse, Transport, TransportError
from .series import PointSeries, Series, parse_value
from .timerange import Span, parse_iso, to_iso

POINTS_PAGE = 10_000
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 8.0
RETRY_AFTER_CAP_SECONDS = 30.0
RETRYABLE = {429, 500, 502, 503, 504}
UPSTREAM_RETRY_AFTER_SECONDS = 30  # told to our caller when FlightDeck's 429 names no Retry-After

T = TypeVar("T")


@dataclass
class UpstreamStats:
    """What a request cost upstream, for logs, Server-Timing and analytics."""

    calls: int = 0
    retries: int = 0
    bytes: int = 0

    def log_fields(self) -> dict[str, int]:
        """The cost as the request's log line and analytics name it."""
        return {"upstreamCalls": self.calls, "upstreamBytes": self.bytes, "upstreamRetries": self.retries}


@dataclass
class FetchResult:
    """Samples per point, and the error of each point whose calls failed."""

    series: Series
    errors: dict[str, str]


def parse_samples(payload: object, wanted: set[str] | None = None) -> Series:
    """`{point_samples: [{name, value, time}]}` → columns per point, sorted by time."""
    series: Series = {}
    parsed_times: dict[str, int] = {}
    samples = payload.get("point_samples") if isinstance(payload, dict) else None
    for sample in samples or ():
        name = sample.get("name")
        if wanted is not None and name not in wanted:
            continue
        stamp = sample["time"]
        epoch = parsed_times.get(stamp)
        if epoch is None:
            epoch = parsed_times[stamp] = parse_iso(stamp)
        target = series.get(name)
        if target is None:
            target = series[name] = PointSeries()
        target.times.append(epoch)
        target.values.append(parse_value(sample.get("value")))
    for name, points in series.items():
        if any(a > b for a, b in zip(points.times, points.times[1:])):
            order = sorted(range(len(points.times)), key=points.times.__getitem__)
            series[name] = PointSeries([points.times[i] for i in order], [points.values[i] for i in order])
    return series


async def all_or_cancel(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """`gather`, except that the first failure cancels the rest: a request that is already lost
    (budget exceeded, token refused) stops its other upstream calls instead of finishing them."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class FlightDeckClient:
    """Talks to FlightDeck on behalf of one caller's token."""

    def __init__(
        self,
        transport: Transport,
        settings: Settings,
        token: str,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.settings = settings
        self._token = token
        self._sleep = sleep
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.upstream_concurrency)
        self.stats = UpstreamStats()
        self.call_limit: int | None = None
        self.refused: set[str] = set()  # points a data call answered 403 for: FlightDeck refuses them to this token

    async def get_json(self, path: str, query: dict) -> object:
        """One read-only GET under the base URL (retried like every call); FlightDeck's 404 is NotFound."""
        try:
            return await self._request("GET", path, query)
        except _NoData as exc:
            raise NotFound(f"FlightDeck has nothing at {path}") from exc

    async def samples_per_day(self, site: str) -> dict[str, int]:
        """Every point of the site this token may see, with its samples a day from `collect_interval`
        (densest when unknown).

        One call per 10,000 points; a 403 (the token may not read the site) raises Forbidden, a 404 (no
        such site, or a transient answer) NotFound.
        """
        per_day: dict[str, int] = {}
        page, pages = 1, 1
        while page <= pages:
            path = f"/sites/{quote(site, safe='')}/points"
            try:
                payload = await self._request("GET", path, {"page": page, "per_page": POINTS_PAGE})
            except _NoData as exc:  # never an empty site: a remembered empty list would refuse every point
                raise NotFound(f"FlightDeck knows no site {site!r}") from exc
            for item in payload.get("items") or ():  # type: ignore[union-attr]
                interval = item.get("collect_interval")
                if item.get("name"):
                    known = isinstance(interval, int) and interval > 0
                    per_day[item["name"]] = -(-86_400 // interval) if known else DENSEST_SAMPLES_PER_DAY
            pages = int(payload.get("pages") or 1)  # type: ignore[union-attr]
            page += 1
        return per_day

    async def fetch_series(
        self, points: Sequence[str], span: Span, timeout: float | None = None, per_day: PerDay | None = None,
        budget: SampleBudget | None = None,
    ) -> FetchResult:
        """All samples of `points` in `span`; a point whose calls fail carries the error, the rest return.

        A point FlightDeck refuses to this token (403 on its own call) carries that error and joins
        `refused`; the call fails as a whole only when every point failed for another reason.
        A `budget` raises TooLarge as soon as the samples exceed it, before memory runs out.
        """
        budget = budget or SampleBudget(None)
        calls = plan_calls(points, span, self.settings.upstream_page_samples, per_day)
        deadline = self._clock() + (timeout or self.settings.upstream_timeout_seconds)
        parts = await all_or_cancel(self._fetch_group(group, window, deadline, budget) for group, window in calls)
        series: Series = {name: PointSeries() for name in points}
        errors: dict[str, ServiceError] = {}
        for part in parts:
            errors.update(part.errors)  # type: ignore[arg-type]
            for name, samples in part.series.items():
                series[name].extend(samples)
        failed = [error for error in errors.values() if not isinstance(error, Forbidden)]
        if failed and len(errors) == len(points):
            raise failed[0]
        for name in errors:
            series[name] = PointSeries()
        return FetchResult(series, {name: error.message for name, error in errors.items()})

    async def _fetch_group(
        self, group: tuple[str, ...], window: Span, deadline: float, budget: SampleBudget
    ) -> FetchResult:
        """One call for the group; if it fails, one call per point, so a bad point (or one FlightDeck
        refuses to this token: a batch naming it is refused whole) fails alone."""
        try:
            return FetchResult(await self._fetch_call(group, window, deadline, budget), {})
        except (UpstreamError, Forbidden) as error:
            if len(group) == 1:
                if isinstance(error, Forbidden):
                    self.refused.add(group[0])
                    error = Forbidden("FlightDeck refuses this point to this token")
                return FetchResult({}, {group[0]: error})  # type: ignore[dict-item]
        singles = await all_or_cancel(self._fetch_group((name,), window, deadline, budget) for name in group)
        return FetchResult(
            {name: part for single in singles for name, part in single.series.items()},
            {name: error for single in singles for name, error in single.errors.items()},
        )

    async def _fetch_call(self, group: tuple[str, ...], window: Span, deadline: float, budget: SampleBudget) -> Series:
        query = {"start_time": to_iso(window.start_ms), "end_time": to_iso(window.end_ms)}
        async with self._slots:
            try:
                if len(group) == 1:
                    path = f"/points/{quote(group[0], safe='')}/timeseries"
                    payload = await self._request("GET", path, query, deadline=deadline)
                else:
                    body = {"points": [{"name": name} for name in group]}
                    payload = await self._request("POST", "/points/get_timeseries", query, body, deadline)
            except _NoData:
                return {}
        series = parse_samples(payload, set(group))
        budget.take(sum(len(p) for p in series.values()))
        return series

    async def _request(
        self, method: str, path: str, query: dict, body: object = None, deadline: float | None = None
    ) -> object:
        """One logical call: retried on 429, 5xx and broken responses with backoff and jitter."""
        deadline = deadline if deadline is not None else self._clock() + self.settings.upstream_timeout_seconds
        attempt = 0
        while True:
            try:
                return await self._attempt(method, path, query, body, deadline)
            except _Retryable as retryable:
                if attempt >= self.settings.upstream_max_retries:
                    raise retryable.final() from retryable
                if retryable.retry_after is not None and self._clock() + retryable.retry_after >= deadline:
                    raise retryable.come_back_later() from retryable
                delay = self._backoff(attempt, retryable.retry_after)
                if self._clock() + delay >= deadline:
                    raise self._timeout() from retryable
                attempt += 1
                self.stats.retries += 1
                await self._sleep(delay)

    async def _attempt(self, method: str, path: str, query: dict, body: object, deadline: float) -> object:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise self._timeout()
        request = HttpRequest(
            method,
            f"{self.settings.flightdeck_base_url.rstrip('/')}{path}?{urlencode(query)}",
            {"authorization": f"Bearer {self._token}", "accept": "application/json",
             **({"content-type": "application/json"} if body is not None else {})},
            json.dumps(body).encode() if body is not None else None,
        )
        if self.call_limit is not None and self.stats.calls >= self.call_limit:
            raise CallBudgetExhausted(f"{self.call_limit} upstream calls used")
        self.stats.calls += 1
        try:
            response = await asyncio.wait_for(self.transport.send(request, remaining), remaining)
        except TimeoutError as exc:
            raise self._timeout() from exc
        except TransportError as exc:
            if self._clock() >= deadline:
                raise self._timeout() from exc
            raise _Retryable(UpstreamError(f"FlightDeck connection failed: {exc}")) from exc
        self.stats.bytes += len(response.body)
        return self._interpret(response)

    def _interpret(self, response: HttpResponse) -> object:
        status = response.status
        if status == 404:
            raise _NoData()
        if status == 401:
            raise Unauthorized("FlightDeck rejected the token")
        if status == 403:
            raise Forbidden("the token may not read this site or point")
        if status in RETRYABLE:
            retry_after = _retry_after(response.headers.get("retry-after"))
            if status == 429:
                wait = math.ceil(retry_after) if retry_after is not None else UPSTREAM_RETRY_AFTER_SECONDS
                raise _Retryable(RateLimited("FlightDeck is rate limiting requests", retry_after=wait), retry_after)
            raise _Retryable(UpstreamError(f"FlightDeck answered {status}"), retry_after)
        if status >= 400:
            raise UpstreamError(f"FlightDeck answered {status}")
        try:
            return response.json()
        except ValueError as exc:
            raise _Retryable(UpstreamError("FlightDeck sent an incomplete response")) from exc

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt) * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP_SECONDS))
        return delay

    def _timeout(self) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"FlightDeck did not answer within {self.settings.upstream_timeout_seconds:g} s"
        )


class CallBudgetExhausted(Exception):
    """The client's `call_limit` is spent; the caller continues the work in another invocation."""


class _NoData(Exception):
    """FlightDeck's 404: no data for the period (or no such point)."""


class _Retryable(Exception):
    def __init__(self, error: ServiceError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after

    def final(self) -> ServiceError:
        return self.error

    def come_back_later(self) -> ServiceError:
        """FlightDeck asked for a wait longer than our deadline: pass its answer on, with its Retry-After."""
        wait = math.ceil(self.retry_after or 0)
        if isinstance(self.error, RateLimited):
            return RateLimited(f"FlightDeck is rate limiting requests; retry after {wait} s", retry_after=wait)
        return UpstreamUnavailable(f"FlightDeck is unavailable; retry after {wait} s", retry_after=wait)


def _retry_after(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None
