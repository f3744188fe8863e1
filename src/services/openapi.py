"""The OpenAPI 3.1 document of the whole API, served at `GET /openapi.json`.

Each route is one entry of `paths()` (the app's own paths: `app_paths()`), built from the small
helpers above it: adding a route is adding one entry, plus its response schema in `apischemas.py`
when it has a new shape. A unit test checks that the entries and `api.ROUTES` name the same paths,
and the end-to-end tests validate every response they receive against this document.
"""

from __future__ import annotations

from functools import cache

from .aggregate import INTERVALS_MS, Agg
from .apischemas import ref, schemas, string_enum
from .apppages import PAGE_SIZES
from .appproxy import PER_PAGE
from .cache import CacheStatus
from .formats import Format
from .query import Priority, Route

EXAMPLE_SITE = "demo-hq"
EXAMPLE_POINT = "acme/demo-hq/ahu-1:supply-air-temp"
EXAMPLE_JOB = "3f2b8c1d9e4a5b6c7d8e9f0a1b2c3d4e"


def json_content(schema: dict, example: object = None) -> dict:
    media: dict = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def query(name: str, description: str, schema: dict | None = None, *, required: bool = False,
          example: object = None) -> dict:
    parameter = {"name": name, "in": "query", "required": required, "description": description,
                 "schema": schema or {"type": "string"}}
    if example is not None:
        parameter["example"] = example
    return parameter


def job_id_parameter() -> dict:
    return {"name": "job", "in": "path", "required": True, "description": "the job id a 202 answered",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "example": EXAMPLE_JOB}


def errors(*statuses: int) -> dict:
    """Error responses by status, each the one error body; 500 is possible everywhere."""
    return {str(status): {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
            for status in (*statuses, 500)}


def operation(operation_id: str, summary: str, tag: str, responses: dict, *, parameters: tuple[dict, ...] = (),
              secured: bool = True, description: str = "") -> dict:
    """One operation; `secured` ones take the caller's FlightDeck token and may answer 401.

    Every route passes a rate limit first, so every operation may answer 429.
    """
    responses = {**errors(*((401, 429) if secured else (429,))), **responses}
    entry: dict = {"operationId": operation_id, "summary": summary, "tags": [tag], "parameters": list(parameters),
                   "responses": dict(sorted(responses.items()))}
    if description:
        entry["description"] = description
    entry["security"] = [{"aceToken": []}, {"bearerToken": []}] if secured else []
    return entry


def static_page(operation_id: str, summary: str, description: str) -> dict:
    """A page served from the Worker's static assets (`[assets]` in wrangler.toml), not by `api.py`."""
    return {"get": {"operationId": operation_id, "summary": summary, "description": description,
                    "tags": ["pages"], "security": [], "x-static-asset": True,
                    "responses": {"200": {"description": "the page",
                                          "content": {"text/html": {"schema": {"type": "string"}}}}}}}


SERIES_PARAMETERS = (
    query("site", "the FlightDeck site", required=True, example=EXAMPLE_SITE),
    query("points", "comma-separated point names (at most MAX_POINTS)", required=True, example=EXAMPLE_POINT),
    query("start_time", "ISO 8601, with or without an offset (UTC if none)",
          {"type": "string", "format": "date-time"}, required=True, example="2025-11-10T00:00:00Z"),
    query("end_time", "ISO 8601, after start_time, at most MAX_RANGE_DAYS later",
          {"type": "string", "format": "date-time"}, required=True, example="2025-11-10T06:00:00Z"),
)

SHAPING_PARAMETERS = (
    query("max_points", "at most this many samples per point, chosen by LTTB (the ends kept)",
          {"type": "integer", "minimum": 2}, example=1000),
    query("interval", "bucket width: 1m, 5m, 15m, 1h, 1d, a number with s/m/h/d, or seconds", example="1h"),
    query("agg", "with interval: how a bucket becomes one value (avg by default)",
          string_enum(Agg)),
    query("format", "the answer's format; without it the Accept header chooses (406 if it names none of these)",
          string_enum(Format)),
)


def series_content(example: object = None) -> dict:
    """A series answer in each format: JSON, or rows `point,timestamp,value` (ISO 8601 UTC), or MessagePack."""
    rows = {"schema": {"type": "string"}}
    return {**json_content(ref("SeriesResponse"), example),
            "text/csv": {**rows, "example": "point,timestamp,value\nacme/demo-hq/ahu-1:supply-air-temp,"
                                            "2025-11-10T00:00:00Z,55.4\n"},
            "application/x-ndjson": rows,
            "application/msgpack": {"schema": {"type": "string", "contentMediaType": "application/msgpack"}}}


SERIES_EXAMPLE = {
    "data": {EXAMPLE_POINT: {"samples": [[1762732800000, 55.4], [1762732860000, 55.5]], "count": 2, "error": None}},
    "_meta": {"requestId": "9b1f0c2a4d5e6f708192a3b4c5d6e7f8", "routeType": "direct", "cacheHit": False,
              "cacheStatus": "bypass", "duration": 412.3},
}


def paths() -> dict:
    """Every route: one entry each."""
    return {
        "/": static_page("operationsPage", "Operations page",
                         "Health, cache and job figures, your jobs, and a query form that plots the answer."),
        "/docs": static_page("docsPage", "Interactive documentation", "Swagger UI on /openapi.json."),
        "/openapi.json": {"get": operation("getOpenApi", "This document", "meta", {
            "200": {"description": "the OpenAPI 3.1 document", "content": json_content({"type": "object"})},
        }, secured=False)},
        "/api/health": {"get": operation("getHealth", "Health of R2, D1 and the queue", "operations", {
            "200": {"description": "every check passed", "content": json_content(ref("Health"))},
            "503": {"description": "a check failed; its entry says why", "content": json_content(ref("Health"))},
            **errors(401),
        }, parameters=(query("deep", "also call FlightDeck and probe writes: needs a token FlightDeck accepts "
                             "(401 otherwise); without it, reads only and no token",
                             {"type": "string", "enum": ["0", "1"]}),), secured=False)},
        "/api/stats": {"get": operation("getStats", "Cache, job and request figures (last 24 h)", "operations", {
            "200": {"description": "the figures", "content": json_content(ref("Stats"))},
        }, secured=False)},
        "/api/timeseries": {"get": operation(
            "getTimeseries", "Samples of some points of a site over a time range", "timeseries", {
                "200": {"description": "the samples (routes `direct` and `cached`)",
                        "headers": {name: {"$ref": f"#/components/headers/{name}"}
                                    for name in ("X-Route-Type", "X-Cache-Status", "Server-Timing")},
                        "content": series_content(SERIES_EXAMPLE)},
                "202": {"description": "queued as a background job (route `queued`): poll `statusUrl`",
                        "headers": {"Location": {"schema": {"type": "string"}},
                                    "Retry-After": {"schema": {"type": "string"}}},
                        "content": json_content(ref("JobTicket"))},
                **errors(400, 403, 404, 406, 409, 413, 429, 502, 503, 504),
            },
            parameters=(*SERIES_PARAMETERS, *SHAPING_PARAMETERS,
                        query("route", "force a route instead of the estimate's choice", string_enum(Route)),
                        query("priority", "queue priority of a job", string_enum(Priority))),
            description="Routed by the estimate `points × days × SAMPLES_PER_POINT_PER_DAY`: under "
                        "DIRECT_MAX_SAMPLES fetched now, up to CACHED_MAX_SAMPLES served from the R2 cache, "
                        "above that queued as a job (202). Every route serves a point only to a token FlightDeck "
                        "lets read it: a point of another site, one missing from the site's point list FlightDeck "
                        "gives this token, or one FlightDeck answered 403 for with this token (remembered for "
                        "ACCESS_TTL_SECONDS) has no samples and its `error` set, whatever the cache holds.")},
        "/api/cache": {"delete": operation("invalidateCache", "Drop cached objects of a site", "operations", {
            "200": {"description": "what was dropped", "content": json_content(ref("Invalidated"))},
            **errors(400, 403, 429, 502, 503, 504),
        }, parameters=(query("site", "the site", required=True, example=EXAMPLE_SITE),
                       query("points", "only these points (comma-separated), each one this token may read (else 403)",
                             example=EXAMPLE_POINT),
                       query("start_time", "with end_time: only the UTC months this range touches",
                             {"type": "string", "format": "date-time"}, example="2025-11-10T00:00:00Z"),
                       query("end_time", "with start_time", {"type": "string", "format": "date-time"},
                             example="2025-11-11T00:00:00Z")))},
        "/api/jobs": {"get": operation("listJobs", "Your most recent jobs, newest first", "jobs", {
            "200": {"description": "the caller's jobs", "content": json_content(ref("JobList"))},
        })},
        "/api/jobs/{job}": {
            "get": operation("getJob", "Status and progress of your job", "jobs", {
                "200": {"description": "the job", "content": json_content(ref("JobStatus"))},
                **errors(404),
            }, parameters=(job_id_parameter(),)),
            "delete": operation("cancelJob", "Cancel your job", "jobs", {
                "200": {"description": "cancelled", "content": json_content(ref("Cancelled"))},
                **errors(404, 409),
            }, parameters=(job_id_parameter(),)),
        },
        "/api/jobs/{job}/events": {"get": operation("getJobEvents", "Live progress of your job (Server-Sent Events)",
                                                    "jobs", {
            "200": {"description": "`progress` events as the job moves, then one of `completed` (with the result "
                                   "URL), `failed` or `cancelled`, then the end; a `: heartbeat` comment keeps it "
                                   "open; it ends by itself after a while and the client reconnects",
                    "content": {"text/event-stream": {"schema": {"type": "string"}, "example": (
                        'id: processing-33.3-1\nevent: progress\ndata: {"jobId": "…", "status": "processing", '
                        '"progress": 33.3}\n\n')}}},
            "204": {"description": "the client has seen the outcome already (its Last-Event-ID): stop"},
            **errors(404),
        }, parameters=(job_id_parameter(),
                       {"name": "Last-Event-ID", "in": "header", "required": False, "example": "processing-33.3-1",
                        "description": "resume after this event", "schema": {"type": "string"}}))},
        "/api/jobs/{job}/result": {"get": operation("getJobResult", "The finished job's samples", "jobs", {
            "200": {"description": "same shape as a 200 of /api/timeseries, streamed; points the token may not "
                                   "read come last, with no samples and their `error`",
                    "content": series_content()},
            **errors(400, 404, 406, 409),
        }, parameters=(job_id_parameter(), *SHAPING_PARAMETERS))},
        **app_paths(),
    }


def app_errors(*statuses: int) -> dict:
    """The app's own error shape on /timeseries/query; a 429 of the rate limit, checked before, has the usual one."""
    def schema(status: int) -> dict:
        return {"anyOf": [ref("AppError"), ref("Error")]} if status == 429 else ref("AppError")

    return {str(status): {"description": ERROR_RESPONSES[status][1], "content": json_content(schema(status))}
            for status in statuses}


def site_parameter() -> dict:
    return {"name": "site", "in": "path", "required": True, "description": "the FlightDeck site",
            "schema": {"type": "string"}, "example": EXAMPLE_SITE}


def paging_parameters() -> tuple[dict, ...]:
    return (query("page", "page number, from 1", {"type": "integer", "minimum": 1}, example=1),
            query("per_page", "items a page", {"type": "integer", "enum": list(PER_PAGE)}))


def app_paths() -> dict:
    """The Building Vitals app's own paths, in its shapes (README: Using it from the Building Vitals app)."""
    epoch_or_iso = {"type": "string", "description": "epoch milliseconds or ISO 8601"}
    return {
        "/health": {"get": operation("getAppHealth", "Health in the app's shape", "app", {
            "200": {"description": "healthy", "content": json_content(ref("AppHealth"), {"status": "healthy"})},
            "503": {"description": "unhealthy", "content": json_content(ref("AppHealth"))},
        }, secured=False)},
        "/timeseries/query": {"get": operation("getAppQuery", "The app's chart query (never a 202)", "app", {
            "200": {"description": "samples sorted by point, then time; points the token may not read have none "
                                   "and are named in `metadata.errors`",
                    "content": json_content(ref("AppQueryResponse"))},
            **app_errors(400, 401, 403, 404, 413, 429, 502, 503, 504),
        }, parameters=(
            query("point_names", "comma-joined point names (at most 100)", required=True, example=EXAMPLE_POINT),
            query("site_name", "the site; default: the second segment of the first point name", example=EXAMPLE_SITE),
            query("start_time", "epoch ms or ISO 8601", epoch_or_iso, required=True, example="1762732800000"),
            query("end_time", "epoch ms or ISO 8601; 1 minute to 365 days after start_time", epoch_or_iso,
                  required=True, example="1762754400000"),
            query("interval", "raw samples, or averages over UTC buckets",
                  {"type": "string", "enum": list(INTERVALS_MS)}),
        ))},
        "/api/sites/{site}/timeseries/paginated": {"get": operation(
            "getAppPaginated", "FlightDeck's paginated samples of a site", "app", {
                "200": {"description": "a page, ordered by time then point name",
                        "content": json_content(ref("PointSamplesPage"))},
                **errors(400, 403, 404, 413, 429, 502, 503, 504),
            }, parameters=(
                site_parameter(),
                query("start_time", "ISO 8601", {"type": "string", "format": "date-time"}, required=True,
                      example="2025-11-10T00:00:00.000Z"),
                query("end_time", "ISO 8601", {"type": "string", "format": "date-time"}, required=True,
                      example="2025-11-10T01:00:00.000Z"),
                query("point_names", "only these points (comma-joined)", example=EXAMPLE_POINT),
                query("raw_data", "false: 5-minute averages", {"type": "string", "enum": ["true", "false"]}),
                query("page_size", "samples a page", {"type": "integer", "enum": list(PAGE_SIZES)}),
                query("cursor", "next_cursor of the previous page", example="opaque"),
            ))},
        "/api/sites": {"get": operation("listSites", "The sites this token may read (FlightDeck's)", "app", {
            "200": {"description": "a page of sites", "content": json_content(ref("Page"))},
            **errors(400, 403, 429, 502, 503, 504),
        }, parameters=paging_parameters())},
        "/api/sites/{site}/configured_points": {"get": operation(
            "listConfiguredPoints", "The site's points configured for collection (FlightDeck's)", "app", {
                "200": {"description": "a page of points", "content": json_content(ref("Page"))},
                **errors(400, 403, 404, 429, 502, 503, 504),
            }, parameters=(site_parameter(), *paging_parameters()))},
    }


ERROR_RESPONSES = {
    400: ("BadRequest", "a parameter is missing or invalid; `field` names it", "bad_request"),
    401: ("Unauthorized", "no token: send X-ACE-Token or Authorization: Bearer", "unauthorized"),
    403: ("Forbidden", "FlightDeck refuses this token for the site", "forbidden"),
    404: ("NotFound", "no such route, job or result", "not_found"),
    406: ("NotAcceptable", "format= or Accept names no format this service writes", "not_acceptable"),
    409: ("Conflict", "the job is not in a state for this; `status` says which", "conflict"),
    413: ("TooLarge", "more samples than one response may hold; ask with route=queued", "too_large"),
    429: ("RateLimited", "too many requests; wait Retry-After seconds", "rate_limited"),
    502: ("UpstreamError", "FlightDeck failed", "upstream_error"),
    503: ("UpstreamUnavailable", "FlightDeck asks to retry later than this request can wait; see Retry-After",
          "upstream_unavailable"),
    504: ("UpstreamTimeout", "FlightDeck did not answer in time", "upstream_timeout"),
    500: ("Internal", "an unexpected error; the log has its request id", "internal"),
}


def error_responses() -> dict:
    responses = {name: {"description": description,
                        "content": json_content(ref("Error"), {"error": {"code": code, "message": description}})}
                 for name, description, code in ERROR_RESPONSES.values()}
    for name in ("RateLimited", "UpstreamUnavailable"):
        responses[name]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}
    return responses


@cache
def document(version: str) -> dict:
    """The whole document; built once per isolate and version."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Building Vitals timeseries edge service", "version": version,
                 "description": "Building sensor data from ACE IoT FlightDeck: small asks served directly, "
                                "medium ones from an R2 cache, large ones as background jobs. Errors are "
                                '`{"error": {"code", "message"}}`. Try it with the token `dev-token` '
                                "against `make dev`."},
        "tags": [{"name": name} for name in ("timeseries", "jobs", "operations", "app", "meta", "pages")],
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "responses": error_responses(),
            "headers": {
                "X-Route-Type": {"schema": string_enum(Route)},
                "X-Cache-Status": {"schema": string_enum(CacheStatus)},
                "Server-Timing": {"schema": {"type": "string"}, "description": "time per stage, ms"},
            },
            "securitySchemes": {
                "aceToken": {"type": "apiKey", "in": "header", "name": "X-ACE-Token",
                             "description": "the caller's FlightDeck token (`dev-token` locally)"},
                "bearerToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
