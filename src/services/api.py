"""The route table and its handlers: every request becomes one JSON response and one log line."""

from __future__ import annotations

import asyncio
import json
import re
import time
import traceback
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from .access import token_hash
from .app import Services
from .appengine import path_site
from .apppages import handle_paginated
from .appproxy import forward_configured_points, forward_sites
from .appquery import handle_query
from .errors import ClientClosedRequest, Forbidden, NotFound, ServiceError, Unauthorized
from .events import seen_outcome
from .formats import CONTENT_TYPES, Format, choose_format, render_as, stream_as, writer_for
from .jobs import JobTicket
from .log import log_event
from .openapi import document
from .ports import ApiRequest, ApiResponse
from .query import Route, SeriesQuery, parse_optional_span, parse_points, parse_series_query, parse_site
from .repositories import RequestRecord
from .routing import choose_route, estimate_samples
from .shaping import Shaping, parse_shaping
from .timeseries import SeriesResult
from .web import caller_token, cors_headers, error_response, json_response, preflight, server_timing

POLL_INTERVAL_MS = 5_000
# Routes limited by RATE_LIMIT_LIGHT, apart from the data routes, so that polling a job never locks
# its owner out of their data. Any other route (a new one too) counts as a data route.
# Routes whose handler starts before the rate-limit verdict, to overlap side-effect-free work (cache
# reads) with it; they await `Call.admitted()` before anything else.
EARLY_ROUTES = frozenset({"timeseries"})
LIGHT_ROUTES = frozenset({"health", "app_health", "stats", "job_list", "job_status", "job_events", "job_cancel",
                          "openapi"})


@dataclass
class Call:
    """One request in flight: what the handler learned, for the log line and analytics."""

    request: ApiRequest
    path: str
    params: dict[str, str]
    request_id: str
    args: dict[str, str] = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    limits: asyncio.Future | None = None

    async def admitted(self) -> None:
        """Wait for the rate-limit check (a 429 raises here)."""
        if self.limits is not None:
            await self.limits


ROUTES: list[tuple[str, re.Pattern, str]] = [
    ("GET", re.compile(r"/openapi.json"), "openapi"),
    ("GET", re.compile(r"/api/health"), "health"),
    ("GET", re.compile(r"/api/stats"), "stats"),
    ("GET", re.compile(r"/api/timeseries"), "timeseries"),
    ("DELETE", re.compile(r"/api/cache"), "invalidate"),
    ("GET", re.compile(r"/api/jobs"), "job_list"),
    ("GET", re.compile(r"/api/jobs/(?P<job>[^/]+)"), "job_status"),
    ("GET", re.compile(r"/api/jobs/(?P<job>[^/]+)/result"), "job_result"),
    ("GET", re.compile(r"/api/jobs/(?P<job>[^/]+)/events"), "job_events"),
    ("DELETE", re.compile(r"/api/jobs/(?P<job>[^/]+)"), "job_cancel"),
    # The Building Vitals app's own paths (appquery, apppages, appproxy).
    ("GET", re.compile(r"/health"), "app_health"),
    ("GET", re.compile(r"/timeseries/query"), "app_query"),
    ("GET", re.compile(r"/api/sites/(?P<site>[^/]+)/timeseries/paginated"), "app_paginated"),
    ("GET", re.compile(r"/api/sites"), "app_sites"),
    ("GET", re.compile(r"/api/sites/(?P<site>[^/]+)/configured_points"), "app_configured_points"),
]


async def unless_gone(work: Awaitable[ApiResponse], gone: asyncio.Event) -> ApiResponse:
    """Await `work`, cancelling it the moment the client disconnects: cancellation reaches every
    upstream call under it (the transport aborts its fetch) and stops any not yet started."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise ClientClosedRequest("The client disconnected before the answer was ready")
    return task.result()


class Api:
    """Dispatches requests to handlers; errors become JSON in one place."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    async def handle(self, request: ApiRequest) -> ApiResponse:
        started = time.monotonic()
        url = urlsplit(request.url)
        path = url.path.rstrip("/") or "/"
        params = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        request_id = uuid.uuid4().hex
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            return preflight(origin, self.settings.allowed_origins)
        call = Call(request, path, params, request_id)
        try:
            response = await unless_gone(self._dispatch(call), request.gone)
        except ServiceError as exc:
            response = error_response(exc)
            call.record["error"] = exc.code
        except Exception as exc:
            log_event("request.exception", requestId=request_id, error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
            response = json_response(500, {"error": {"code": "internal", "message": "Internal error",
                                                     "requestId": request_id}})
        cors = cors_headers(origin, self.settings.allowed_origins)
        if "vary" in cors and "vary" in response.headers:  # an answer chosen by Accept varies on both
            cors["vary"] = f"{response.headers['vary']}, {cors['vary']}"
        response.headers.update(cors)
        response.headers["x-request-id"] = request_id
        self._finish(call, response, round((time.monotonic() - started) * 1000))
        return response

    async def _dispatch(self, call: Call) -> ApiResponse:
        allowed = []
        for method, pattern, name in ROUTES:
            match = pattern.fullmatch(call.path)
            if match is None:
                continue
            allowed.append(method)
            if method == call.request.method or (method == "GET" and call.request.method == "HEAD"):
                call.args = match.groupdict()
                call.limits = asyncio.ensure_future(self._limit(call, name))
                try:
                    if name not in EARLY_ROUTES:
                        await call.admitted()
                    return await getattr(self, name)(call)
                except ServiceError:
                    await call.admitted()  # a refused request is a 429, whatever else is wrong with it
                    raise
                finally:
                    await asyncio.gather(call.limits, return_exceptions=True)
        if allowed:
            return json_response(405, {"error": {"code": "method_not_allowed",
                                                 "message": f"use {', '.join(sorted(set(allowed)))}"}},
                                 {"allow": ", ".join(sorted(set(allowed)))})
        raise NotFound(f"no route for {call.path}")

    async def _limit(self, call: Call, name: str) -> None:
        started = time.monotonic()
        try:
            await self._check_limits(call, name)
        finally:
            call.record["rateLimitMs"] = round((time.monotonic() - started) * 1000, 1)

    async def _check_limits(self, call: Call, name: str) -> None:
        limits = self.services.rate_limits
        digest = _token_digest(call.request)
        if name in LIGHT_ROUTES or digest is None:  # without a token a data route only answers 401
            client = call.request.headers.get("cf-connecting-ip", "unknown")
            await limits.check_light(f"token:{digest}" if digest else f"client:{client}")
            return
        site = path_site(call.args["site"]) if "site" in call.args else call.params.get("site", "").strip()
        await limits.check_data(digest, site)

    def _finish(self, call: Call, response: ApiResponse, duration_ms: int) -> None:
        record = call.record
        log_event("request", requestId=call.request_id, method=call.request.method, path=call.path,
                  status=response.status, durationMs=duration_ms, **record)
        analytics = RequestRecord(
            request_id=call.request_id, method=call.request.method, path=call.path,
            status_code=response.status, duration_ms=duration_ms, route_type=record.get("route"),
            cache_status=record.get("cacheStatus"), site=record.get("site"),
            points_count=record.get("points"), estimated_samples=record.get("estimatedSamples"),
            actual_samples=record.get("samples"), upstream_calls=record.get("upstreamCalls"),
            job_id=record.get("jobId"),
        )
        self.services.platform.defer(self._record(analytics))

    async def _record(self, analytics: RequestRecord) -> None:
        try:
            await self.services.analytics.record(analytics, self.services.now_ms())
        except Exception as exc:  # analytics must never fail a request
            log_event("analytics.write_failed", requestId=analytics.request_id, error=str(exc))

    # -- handlers ------------------------------------------------------------------------------

    async def openapi(self, call: Call) -> ApiResponse:
        return json_response(200, document(self.settings.version), {"cache-control": "public, max-age=300"})

    async def health(self, call: Call) -> ApiResponse:
        deep = call.params.get("deep", "").lower() in ("1", "true", "yes")
        token = caller_token(call.request) if deep else None
        healthy, body = await self.services.health().check(deep, token)
        return json_response(200 if healthy else 503, body)

    async def stats(self, call: Call) -> ApiResponse:
        return json_response(200, await self.services.stats().stats())

    async def timeseries(self, call: Call) -> ApiResponse:
        started = time.monotonic()
        token = caller_token(call.request)
        query = parse_series_query(call.params, self.settings)
        shaping = parse_shaping(call.params, self.settings)
        fmt = self._format(call)
        if call.request.method == "HEAD":
            await call.admitted()
            return self._head(query)
        client = self.services.client(token)
        service = self.services.timeseries(token, client)
        call.record.update(site=query.site, points=len(query.points))
        ahead = service.read_ahead(query)
        try:
            await call.admitted()
            served = await service.serve(query, request_id=call.request_id, shaping=shaping, ahead=ahead)
        finally:
            if ahead is not None:
                ahead.cancel()
            call.record.update(client.stats.log_fields())
        if isinstance(served, JobTicket):
            return self._queued(call, served)
        if served.route is Route.CACHED:
            self.services.platform.defer(self._note_demand(query))
        return self._series(call, served, shaping, fmt, started)

    def _head(self, query: SeriesQuery) -> ApiResponse:
        """HEAD validates and names the route it would take, with no side effect: no upstream call,
        no job, no cache read or write."""
        route = choose_route(query, estimate_samples(query, self.settings), self.settings)
        return ApiResponse(200, b"", {"content-type": "application/json; charset=utf-8",
                                      "x-route-type": route.value})

    async def _note_demand(self, query: SeriesQuery) -> None:
        try:
            await self.services.warming().note(query)
        except Exception as exc:  # warming's bookkeeping must never fail a request
            log_event("warming.note_failed", site=query.site, error=f"{type(exc).__name__}: {exc}")

    def _format(self, call: Call) -> Format:
        fmt = choose_format(call.params.get("format"), call.request.headers.get("accept"))
        call.record["format"] = fmt.value
        return fmt

    def _series(self, call: Call, result: SeriesResult, shaping: Shaping, fmt: Format, started: float) -> ApiResponse:
        render_started = time.monotonic()
        meta = {
            "requestId": call.request_id, "routeType": result.route.value,
            "cacheHit": result.cache_status.value == "hit", "cacheStatus": result.cache_status.value,
            "site": result.query.site, "pointsCount": len(result.query.points),
            "estimatedSamples": result.estimate, "samplesCount": result.samples,
            "upstreamCalls": call.record.get("upstreamCalls", 0),
        }
        if shaping.active:
            meta.update(shaping.meta(result.samples_read, result.samples))
        meta["duration"] = round((time.monotonic() - started) * 1000, 1)
        # JSON, the dashboards' format, is rendered whole (its cost shows in Server-Timing); the row
        # formats are 3 to 5 times larger and stream, so no answer holds all of their text at once.
        body = render_as(fmt, result.series, result.errors, meta) if fmt is Format.JSON else stream_as(
            fmt, result.series, result.errors, meta)
        timings = {"ratelimit": call.record["rateLimitMs"] / 1000, **result.timings,
                   "render": time.monotonic() - render_started,
                   "total": time.monotonic() - started}
        call.record.update(route=result.route.value, cacheStatus=result.cache_status.value,
                           estimatedSamples=result.estimate, samples=result.samples,
                           pointErrors=len(result.errors) or None)
        headers = {
            "content-type": CONTENT_TYPES[fmt], "vary": "Accept",
            "x-route-type": result.route.value,
            "x-cache-status": result.cache_status.value,
            "server-timing": server_timing(timings),
        }
        if result.errors and fmt in (Format.CSV, Format.NDJSON):  # rows have no place for them
            headers["x-point-errors"] = json.dumps(result.errors)
        return ApiResponse(200, body, headers)

    def _queued(self, call: Call, ticket: JobTicket) -> ApiResponse:
        job = ticket.job
        status_url = f"/api/jobs/{ticket.job_id}"
        call.record.update(route="queued", cacheStatus="bypass", jobId=ticket.job_id,
                           estimatedSamples=job["estimated_size"], jobCreated=ticket.created)
        body = {
            "status": job["status"], "jobId": ticket.job_id,
            "message": ("Request queued for background processing" if ticket.created
                        else "An identical job already exists; returning it"),
            "statusUrl": status_url, "pollInterval": POLL_INTERVAL_MS,
            "estimatedSize": job["estimated_size"], "requestId": call.request_id,
        }
        if job["status"] == "completed":
            body["resultUrl"] = f"{status_url}/result"
        return json_response(202, body, {
            "location": status_url, "retry-after": str(POLL_INTERVAL_MS // 1000),
            "x-route-type": "queued", "x-cache-status": "bypass",
        })

    async def invalidate(self, call: Call) -> ApiResponse:
        token = caller_token(call.request)
        site = parse_site(call.params)
        points = parse_points(call.params["points"], self.settings) if call.params.get("points") else None
        span = parse_optional_span(call.params)
        client = self.services.client(token)
        # Only points this token may read, the cache being shared; with no points, Forbidden unless it reads the site.
        readable = await self.services.access.readable(client, token_hash(token), site, points or ())
        if unreadable := [name for name in points or () if name not in readable]:
            raise Forbidden(f"this token may not read {', '.join(map(repr, unreadable))} at site {site!r}")
        dropped = await self.services.cache.invalidate(site, points, span)
        call.record.update(site=site, invalidated=dropped)
        return json_response(200, {"success": True, "deleted": dropped, "site": site})

    async def job_list(self, call: Call) -> ApiResponse:
        jobs = self.services.jobs(caller_token(call.request))
        return json_response(200, {"jobs": await jobs.list_jobs()})

    async def job_status(self, call: Call) -> ApiResponse:
        jobs = self.services.jobs(caller_token(call.request))
        call.record["jobId"] = call.args["job"]
        return json_response(200, await jobs.get_job_status(call.args["job"]))

    async def job_events(self, call: Call) -> ApiResponse:
        jobs = self.services.jobs(caller_token(call.request))
        job = await jobs.own_job(call.args["job"])
        call.record["jobId"] = job["id"]
        last_event_id = call.request.headers.get("last-event-id")
        if seen_outcome(job, last_event_id):
            return ApiResponse(204, b"")  # EventSource stops reconnecting on a 204
        return ApiResponse(200, self.services.job_events().stream(job, last_event_id), {
            "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache",
        })

    async def job_cancel(self, call: Call) -> ApiResponse:
        jobs = self.services.jobs(caller_token(call.request))
        call.record["jobId"] = call.args["job"]
        return json_response(200, await jobs.cancel_job(call.args["job"]))

    async def job_result(self, call: Call) -> ApiResponse:
        jobs = self.services.jobs(caller_token(call.request))
        shaping = parse_shaping(call.params, self.settings)
        fmt = self._format(call)
        job = await jobs.result_job(call.args["job"])
        call.record.update(jobId=job["id"], samples=job["samples_count"])
        meta = {"requestId": call.request_id, "routeType": "queued", "cacheHit": False, "cacheStatus": "bypass",
                "jobId": job["id"], "site": job["site"], "samplesCount": job["samples_count"],
                "startTime": job["start_time"], "endTime": job["end_time"]}
        return ApiResponse(200, jobs.result_chunks(job, meta, writer_for(fmt), shaping), {
            "content-type": CONTENT_TYPES[fmt], "vary": "Accept", "x-route-type": "queued",
            "x-cache-status": "bypass",
        })

    # -- the Building Vitals app's paths ---------------------------------------------------------

    async def app_health(self, call: Call) -> ApiResponse:
        healthy, _ = await self.services.health().check(False, None)
        return json_response(200 if healthy else 503, {"status": "healthy" if healthy else "unhealthy"})

    async def app_query(self, call: Call) -> ApiResponse:
        return await handle_query(self.services, call.request, call.params, call.request_id, call.record)

    async def app_paginated(self, call: Call) -> ApiResponse:
        site = path_site(call.args["site"])
        return await handle_paginated(self.services, call.request, site, call.params, call.request_id, call.record)

    async def app_sites(self, call: Call) -> ApiResponse:
        return await forward_sites(self.services, call.request, call.params)

    async def app_configured_points(self, call: Call) -> ApiResponse:
        return await forward_configured_points(self.services, call.request, path_site(call.args["site"]), call.params)


def _token_digest(request: ApiRequest) -> str | None:
    """The hash of the caller's token, or None when the request carries none."""
    try:
        return token_hash(caller_token(request))
    except Unauthorized:
        return None
