"""`GET /timeseries/query`: the Building Vitals app's chart path, in the app's own shapes.

The app sends `site_name`, one comma-joined `point_names`, epoch-millisecond times and an optional
`interval`; it reads `samples`, `point_names` and `metadata`, and takes any 2xx as data, so this
path never answers 202: it is served now, from the same engine as `/api/timeseries`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from .aggregate import INTERVALS_MS, Agg, TextValuesError, aggregate
from .app import Services
from .appengine import caller_engine, serve_now
from .cache import CacheStatus
from .errors import BadRequest, ServiceError, TooLarge
from .ports import ApiRequest, ApiResponse
from .query import SeriesQuery, split_names, valid_site, within_years
from .render import format_samples
from .series import PointSeries, Series
from .timerange import DAY_MS, Span, parse_iso
from .timeseries import SeriesResult
from .web import JSON, caller_token

MAX_POINTS = 100
MIN_RANGE_MS = 60_000
MAX_RANGE_DAYS = 365
MAX_END_AHEAD_MS = DAY_MS
RAW_INTERVAL = "1min"
CHUNK_SAMPLES = 5_000
TOO_LARGE_CODE = "too_large_narrow_range_raise_interval_or_use_queued"
TOO_LARGE_HINT = ("narrow the time range or the points, raise interval (5min, 1hr, 1day), or ask "
                  "/api/timeseries?route=queued for a background job")
SOURCES = {CacheStatus.HIT: ["cache"], CacheStatus.PARTIAL: ["cache", "flightdeck"]}


@dataclass(frozen=True)
class ChartQuery:
    """A validated `/timeseries/query` request."""

    series: SeriesQuery
    interval: str


def parse_chart_query(params: Mapping[str, str], now_ms: int) -> ChartQuery:
    """Validate the app's parameters with the app's own rules; every problem is a 400."""
    points = split_names(params.get("point_names", ""), "point_names")
    if len(points) > MAX_POINTS:
        raise BadRequest(f"at most {MAX_POINTS} points per query", field="point_names")
    site = valid_site((params.get("site_name") or "").strip() or _site_of(points[0]), "site_name")
    start, end = parse_time(params, "start_time"), parse_time(params, "end_time")
    if end - start < MIN_RANGE_MS:
        raise BadRequest("the range must cover at least 1 minute", field="end_time")
    if end - start > MAX_RANGE_DAYS * DAY_MS:
        raise BadRequest(f"the range may cover at most {MAX_RANGE_DAYS} days", field="end_time")
    if start > now_ms:
        raise BadRequest("start_time is in the future", field="start_time")
    if end > now_ms + MAX_END_AHEAD_MS:
        raise BadRequest("end_time is more than a day ahead", field="end_time")
    interval = (params.get("interval") or RAW_INTERVAL).strip()
    if interval not in INTERVALS_MS:
        raise BadRequest(f"interval must be one of {', '.join(INTERVALS_MS)}", field="interval")
    return ChartQuery(SeriesQuery(site, points, Span(start, end)), interval)


def _site_of(point: str) -> str:
    """The app's own rule: the site is the second segment of the first point name."""
    parts = point.split("/")
    if len(parts) < 3 or not parts[1]:
        raise BadRequest("site_name is required", field="site_name")
    return parts[1]


def parse_time(params: Mapping[str, str], name: str) -> int:
    """Epoch milliseconds (what the app sends) or ISO 8601."""
    raw = (params.get(name) or "").strip()
    if not raw:
        raise BadRequest(f"{name} is required", field=name)
    if raw.isdigit():
        return within_years(int(raw), name)
    try:
        return within_years(parse_iso(raw), name)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(f"{name} must be epoch milliseconds or ISO 8601: {raw!r}", field=name) from exc


def bucketed(series: Series, interval: str) -> Series:
    """Raw samples for `1min`; otherwise bucket averages (the last value for text points)."""
    if interval == RAW_INTERVAL:
        return series
    width = INTERVALS_MS[interval]
    return {name: _bucket_average(points, width) for name, points in series.items()}


def _bucket_average(points: PointSeries, width: int) -> PointSeries:
    """One scan for text: `aggregate` refuses AVG of text values, which then take the bucket's last."""
    try:
        return aggregate(points, width, Agg.AVG)
    except TextValuesError:
        return aggregate(points, width, Agg.LAST)


def sample_objects(name: str, points: PointSeries) -> str:
    """`{"point_name","timestamp","value"},…` for one point's samples, without brackets."""
    head = '{"point_name":' + json.dumps(name) + ',"timestamp":'
    return format_samples(points, head.replace("%", "%%") + '%d,"value":%s},')[:-1]


async def body_chunks(query: ChartQuery, series: Series, metadata: dict) -> AsyncIterator[bytes]:
    """The 200 body, a slice of samples at a time: 100 long names × a week is tens of megabytes."""
    head = {"site_name": query.series.site, "point_names": list(query.series.points)}
    yield (json.dumps(head, separators=(",", ":"))[:-1] + ',"samples":[').encode()
    first = True
    for name in sorted(series):
        for part in series[name].chunks(CHUNK_SAMPLES):
            yield (("" if first else ",") + sample_objects(name, part)).encode()
            first = False
    yield ('],"metadata":' + json.dumps(metadata, separators=(",", ":")) + "}").encode()


def metadata(result: SeriesResult, sample_count: int, interval: str, query_ms: int) -> dict:
    """What the app reads from `data.metadata`, plus how the engine served the request."""
    sources = SOURCES.get(result.cache_status, ["flightdeck"])
    meta = {
        "source": "mixed" if len(sources) > 1 else sources[0], "sources": sources,
        "sample_count": sample_count, "total_samples": result.samples, "query_time_ms": query_ms,
        "cache_hit": result.cache_status is CacheStatus.HIT, "interval": interval,
        "route": result.route.value, "cache_status": result.cache_status.value,
    }
    if result.errors:
        meta["errors"] = result.errors
    return meta


def app_error(error: ServiceError, query_ms: int) -> ApiResponse:
    """The app's error shape: `{"error": "…", "error_code": "…", "query_time_ms": n}`."""
    code, message = error.code, error.message
    if isinstance(error, TooLarge):
        code, message = TOO_LARGE_CODE, f"{message}: {TOO_LARGE_HINT}"
    headers = {"content-type": JSON, "x-query-time-ms": str(query_ms), **error.headers()}
    body = {"error": message, "error_code": code, "query_time_ms": query_ms}
    return ApiResponse(error.status, json.dumps(body, separators=(",", ":")).encode(), headers)


async def handle_query(
    services: Services, request: ApiRequest, params: Mapping[str, str], request_id: str, record: dict
) -> ApiResponse:
    """Serve one `/timeseries/query` request; errors come back in the app's shape."""
    started = time.monotonic()
    record["route"] = "query"
    try:
        token = caller_token(request)
        query = parse_chart_query(params, services.now_ms())
        record.update(site=query.series.site, points=len(query.series.points))
        result = await serve_now(services.settings, caller_engine(services, token), query.series, request_id, record)
    except ServiceError as exc:
        record["error"] = exc.code
        return app_error(exc, _elapsed_ms(started))
    record.update(engineRoute=result.route.value, cacheStatus=result.cache_status.value,
                  estimatedSamples=result.estimate, samples=result.samples)
    series = bucketed(result.series, query.interval)
    count = sum(len(points) for points in series.values())
    query_ms = _elapsed_ms(started)
    hit = result.cache_status is CacheStatus.HIT
    return ApiResponse(200, body_chunks(query, series, metadata(result, count, query.interval, query_ms)), {
        "content-type": JSON, "x-query-time-ms": str(query_ms), "x-cache-hit": "true" if hit else "false",
        "x-route-type": result.route.value, "x-cache-status": result.cache_status.value,
    })


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
