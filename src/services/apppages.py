"""`GET /api/sites/{site}/timeseries/paginated`: FlightDeck's own paged contract, served through the cache.

Pages are built from what the engine serves, whole UTC days at a time (the cache's unit): as many
days as one page holds at the points' collect_interval, at least one. They are merged in
FlightDeck's order (time, then point name), so a request holds about a page plus one day of
samples. A cursor names the next sample `(time, point)` and the request it belongs to (a digest
of site, span, raw_data and point filter): canonical base64url JSON, refused with a 400 when
altered or sent with another request. It grants nothing: access is checked on every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter

from .access import TokenAccess
from .aggregate import INTERVALS_MS, bucket_start
from .app import Services
from .appengine import caller_engine, serve_now
from .appquery import bucketed, parse_time
from .cache import CacheStatus
from .errors import BadRequest, NotFound
from .formats import iso_stamps
from .planning import density
from .ports import ApiRequest, ApiResponse
from .query import SeriesQuery, split_names
from .repositories import CatalogRepository
from .series import Series, Value
from .timerange import DAY_MS, Span
from .web import JSON, caller_token

PAGE_SIZES = (3, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 300000, 500000)
DEFAULT_PAGE_SIZE = 10_000
MAX_PAGE_SAMPLES = 100_000  # larger page sizes are answered in pages of this size (has_more stays honest)
CURSOR_VERSION = 1
# Upstream calls one page may make. A wide, mostly empty range would otherwise walk every day in one
# request (30 years is ~11,000 calls, past the subrequest limit): the page ends early with a cursor.
MAX_FETCHES_PER_PAGE = 8

Position = tuple[int, str]
Item = tuple[int, str, Value]


@dataclass(frozen=True)
class PageQuery:
    """A validated paginated request; `points` is None for every point of the site."""

    site: str
    span: Span
    raw: bool
    page_size: int
    points: tuple[str, ...] | None
    position: Position | None = None

    @property
    def digest(self) -> str:
        identity = [self.site, self.span.start_ms, self.span.end_ms, self.raw, self.points]
        return hashlib.sha256(json.dumps(identity, separators=(",", ":")).encode()).hexdigest()[:32]

    @property
    def first_ms(self) -> int:
        """Where samples may start: 5-minute buckets are labelled by their start, before start_time."""
        return self.span.start_ms if self.raw else bucket_start(self.span.start_ms, INTERVALS_MS["5min"])


@dataclass
class Page:
    """One page's samples, the position of the sample after it (None at the end), and how days were served."""

    items: list[Item]
    following: Position | None
    statuses: set[CacheStatus] = field(default_factory=set)


def encode_cursor(query: PageQuery, position: Position) -> str:
    """The opaque cursor of `position` within this request."""
    state = json.dumps([CURSOR_VERSION, query.digest, *position], separators=(",", ":"))
    return base64.urlsafe_b64encode(state.encode()).decode().rstrip("=")


def decode_cursor(query: PageQuery, cursor: str) -> Position:
    """The position in a cursor made for this very request; anything else is a 400."""
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("cursor is not one this service issued", field="cursor") from exc
    valid = (isinstance(state, list) and len(state) == 4 and state[:2] == [CURSOR_VERSION, query.digest]
             and type(state[2]) is int and isinstance(state[3], str)
             and query.first_ms <= state[2] < query.span.end_ms)
    position = (state[2], state[3]) if valid else None
    if position is None or encode_cursor(query, position) != cursor:
        raise BadRequest("cursor does not belong to this site, range, raw_data and point_names", field="cursor")
    return position


def parse_page_query(site: str, params: Mapping[str, str]) -> PageQuery:
    """FlightDeck's parameters plus an optional `point_names` filter; every problem is a 400."""
    span = Span(parse_time(params, "start_time"), parse_time(params, "end_time"))
    if span.empty:
        raise BadRequest("end_time must be after start_time", field="end_time")
    raw_text = (params.get("raw_data") or "true").strip().lower()
    if raw_text not in ("true", "false", "1", "0"):
        raise BadRequest("raw_data must be true or false", field="raw_data")
    size_text = (params.get("page_size") or str(DEFAULT_PAGE_SIZE)).strip()
    if not size_text.isdigit() or int(size_text) not in PAGE_SIZES:
        raise BadRequest(f"page_size must be one of {', '.join(map(str, PAGE_SIZES))}", field="page_size")
    names = params.get("point_names")
    points = tuple(sorted(split_names(names, "point_names"))) if names is not None else None
    query = PageQuery(site, span, raw_text in ("true", "1"), int(size_text), points)
    cursor = params.get("cursor")
    if cursor:
        return PageQuery(query.site, span, query.raw, query.page_size, points, decode_cursor(query, cursor))
    return query


def merged(series: Series) -> Iterator[Item]:
    """Every sample of the series in FlightDeck's order: time, then point name."""
    streams = (zip(points.times, repeat(name), points.values) for name, points in sorted(series.items()))
    return heapq.merge(*streams, key=itemgetter(0, 1))


async def build_page(
    query: PageQuery, fetch: Callable[[Span], Awaitable[tuple[Series, CacheStatus]]], days_per_fetch: int = 1
) -> Page:
    """Fill one page from the position on, `days_per_fetch` UTC days a call, and find the sample after it.

    After MAX_FETCHES_PER_PAGE calls the page ends where the walk stopped, possibly empty, with a cursor there.
    """
    limit = min(query.page_size, MAX_PAGE_SAMPLES)
    begin = max(query.position[0] if query.position else query.first_ms, query.span.start_ms)
    page = Page([], None)
    for _ in range(MAX_FETCHES_PER_PAGE):
        if begin >= query.span.end_ms:
            return page
        stop = min(query.span.end_ms, begin - begin % DAY_MS + days_per_fetch * DAY_MS)
        series, status = await fetch(Span(begin, stop))
        page.statuses.add(status)
        for item in merged(series):
            if query.position is not None and item[:2] < query.position:
                continue
            if len(page.items) == limit:
                page.following = item[:2]
                return page
            page.items.append(item)
        begin = stop
    if begin < query.span.end_ms:
        page.following = (begin, "")
    return page


def days_per_fetch(points: tuple[str, ...], per_day: Mapping[str, int], page_size: int) -> int:
    """Whole days whose samples fit in one page (at least one): few sparse points need few calls."""
    daily = sum(density(per_day, name) for name in points)
    return max(1, min(page_size, MAX_PAGE_SAMPLES) // max(1, daily))


def page_body(query: PageQuery, page: Page) -> bytes:
    """`{"point_samples": [{name, value, time}], "next_cursor", "has_more"}`, values as strings."""
    names: dict[str, str] = {}
    rows = []
    stamps = iso_stamps([t for t, _, _ in page.items])
    for (_, name, value), stamp in zip(page.items, stamps):
        quoted = names.get(name) or names.setdefault(name, json.dumps(name))
        rows.append('{"name":' + quoted + ',"value":' + json.dumps(str(value)) + ',"time":"' + stamp + '"}')
    following = encode_cursor(query, page.following) if page.following else None
    tail = '],"next_cursor":' + json.dumps(following) + ',"has_more":' + json.dumps(following is not None) + "}"
    return ('{"point_samples":[' + ",".join(rows) + tail).encode()


def overall_status(statuses: set[CacheStatus]) -> CacheStatus:
    """One cache status for a page served from several days."""
    if len(statuses) == 1:
        return next(iter(statuses))
    return CacheStatus.PARTIAL if CacheStatus.HIT in statuses or CacheStatus.PARTIAL in statuses else CacheStatus.MISS


async def readable_points(catalog: CatalogRepository, access: TokenAccess, site: str, now_ms: int) -> dict[str, int]:
    """Samples a day of every point of the site the token may read, judged as the engine judges them.

    Remembered (D1 only): the site's list, less the points the token's remembered answer leaves out.
    Otherwise `require` asks FlightDeck once (a refusal is a 403) and remembers, and D1 is read again;
    should that still miss (another token's answer changed the site's list meanwhile), the token's own
    list is asked for.
    """
    async def remembered() -> dict[str, int] | None:
        site_list = await catalog.current(site, now_ms)
        known = None if site_list is None else await access.remembered(site, sorted(site_list.per_day))
        return known[1] if known is not None and known[0] else None

    per_day = await remembered()
    if per_day is None:
        await access.require(site)  # a remembered refusal raises here without a FlightDeck call
        per_day = await remembered()
    return per_day if per_day is not None else await access.client.samples_per_day(site)


async def handle_paginated(
    services: Services, request: ApiRequest, site: str, params: Mapping[str, str], request_id: str, record: dict
) -> ApiResponse:
    """Serve one page on one engine: it checks access and serves each day from the cache or upstream, and its
    client's running totals are the page's upstream cost."""
    token = caller_token(request)
    query = parse_page_query(site, params)
    record.update(route="paginated", site=site)
    engine = caller_engine(services, token)
    if query.points is None:
        per_day = await readable_points(services.catalog_repo, engine.access, site, services.now_ms())
    else:
        per_day = await engine.access.readable(site, query.points)
    points = query.points or tuple(sorted(per_day))
    if not points:
        raise NotFound(f"site {site!r} has no points")
    record["points"] = len(points)

    async def fetch(span: Span) -> tuple[Series, CacheStatus]:
        result = await serve_now(services.settings, engine, SeriesQuery(site, points, span), request_id, record)
        return (result.series if query.raw else bucketed(result.series, "5min")), result.cache_status

    page = await build_page(query, fetch, days_per_fetch(points, per_day, query.page_size))
    if not page.items and page.following is None and query.position is None:
        raise NotFound("No data for time period")
    status = overall_status(page.statuses)
    record.update(cacheStatus=status.value, samples=len(page.items))
    return ApiResponse(200, page_body(query, page), {"content-type": JSON, "x-cache-status": status.value})
