"""The OpenAPI 3.1 document of the whole API, served at `GET /openapi.json`.

Each route is one entry of `paths()`, built from the small helpers above it: adding a route is
adding one entry (and its response schema under `SCHEMAS` when it has a new shape). A unit test
checks that the entries and `api.ROUTES` name the same paths, and the end-to-end tests validate
every response they receive against this document.
"""

from __future__ import annotations

from functools import cache

EXAMPLE_SITE = "demo-hq"
EXAMPLE_POINT = "acme/demo-hq/ahu-1:supply-air-temp"
EXAMPLE_JOB = "3f2b8c1d9e4a5b6c7d8e9f0a1b2c3d4e"
JOB_STATUSES = ["queued", "processing", "completed", "failed", "retrying", "cancelled"]
NULLABLE_TIME = {"type": ["string", "null"], "description": "UTC, `YYYY-MM-DD HH:MM:SS`"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


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
    """One operation; `secured` ones take the caller's FlightDeck token and may answer 401."""
    responses = {**responses, **errors(*((401,) if secured else ()))}
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
        }, parameters=(query("deep", "also call FlightDeck", {"type": "string", "enum": ["0", "1"]}),),
            secured=False)},
        "/api/stats": {"get": operation("getStats", "Cache, job and request figures (last 24 h)", "operations", {
            "200": {"description": "the figures", "content": json_content(ref("Stats"))},
        }, secured=False)},
        "/api/timeseries": {"get": operation(
            "getTimeseries", "Samples of some points of a site over a time range", "timeseries", {
                "200": {"description": "the samples (routes `direct` and `cached`)",
                        "headers": {name: {"$ref": f"#/components/headers/{name}"}
                                    for name in ("X-Route-Type", "X-Cache-Status", "Server-Timing")},
                        "content": json_content(ref("SeriesResponse"), SERIES_EXAMPLE)},
                "202": {"description": "queued as a background job (route `queued`): poll `statusUrl`",
                        "headers": {"Location": {"schema": {"type": "string"}},
                                    "Retry-After": {"schema": {"type": "string"}}},
                        "content": json_content(ref("JobTicket"))},
                **errors(400, 403, 404, 413, 502, 504),
            },
            parameters=(*SERIES_PARAMETERS,
                        query("route", "force a route instead of the estimate's choice",
                              {"type": "string", "enum": ["direct", "cached", "queued"]}),
                        query("priority", "queue priority of a job", {"type": "string",
                                                                     "enum": ["low", "normal", "high"]})),
            description="Routed by the estimate `points × days × SAMPLES_PER_POINT_PER_DAY`: under "
                        "DIRECT_MAX_SAMPLES fetched now, up to CACHED_MAX_SAMPLES served from the R2 cache, "
                        "above that queued as a job (202).")},
        "/api/cache": {"delete": operation("invalidateCache", "Drop cached objects of a site", "operations", {
            "200": {"description": "what was dropped", "content": json_content(ref("Invalidated"))},
            **errors(400, 403, 502, 504),
        }, parameters=(query("site", "the site", required=True, example=EXAMPLE_SITE),
                       query("points", "only these points (comma-separated)", example=EXAMPLE_POINT),
                       query("start_time", "with end_time: only days in this range",
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
        "/api/jobs/{job}/result": {"get": operation("getJobResult", "The finished job's samples", "jobs", {
            "200": {"description": "same shape as a 200 of /api/timeseries, streamed",
                    "content": json_content(ref("SeriesResponse"))},
            **errors(404, 409),
        }, parameters=(job_id_parameter(),))},
    }


def error_schema() -> dict:
    return {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": "string", "description": "the parameter at fault"},
                       "requestId": {"type": "string"}},
    }}}


def job_status_schema() -> dict:
    nullable_int = {"type": ["integer", "null"]}
    return {"type": "object", "required": ["jobId", "status", "progress", "createdAt", "startedAt", "completedAt",
                                           "estimatedSize", "samplesCount", "error", "resultUrl"],
            "properties": {
                "jobId": {"type": "string"}, "status": {"type": "string", "enum": JOB_STATUSES},
                "progress": {"type": "number", "minimum": 0, "maximum": 100}, "priority": {"type": "string"},
                "site": {"type": "string"}, "pointsCount": {"type": "integer"},
                "startTime": {"type": "string"}, "endTime": {"type": "string"},
                "createdAt": {"type": "string"}, "startedAt": NULLABLE_TIME, "completedAt": NULLABLE_TIME,
                "expiresAt": NULLABLE_TIME, "estimatedSize": {"type": "integer"}, "samplesCount": nullable_int,
                "totalBatches": {"type": "integer"}, "completedBatches": nullable_int, "retries": nullable_int,
                "error": {"type": ["string", "null"]}, "resultUrl": {"type": ["string", "null"]},
            }}


def series_schema() -> dict:
    sample = {"type": "array", "prefixItems": [{"type": "integer", "description": "epoch ms"},
                                               {"type": ["number", "string", "boolean", "null"]}],
              "minItems": 2, "maxItems": 2}
    point = {"type": "object", "required": ["samples", "count", "error"],
             "properties": {"samples": {"type": "array", "items": sample}, "count": {"type": "integer"},
                            "error": {"type": ["string", "null"]}}}
    meta = {"type": "object", "required": ["requestId", "routeType", "cacheHit"],
            "properties": {"requestId": {"type": "string"},
                           "routeType": {"type": "string", "enum": ["direct", "cached", "queued"]},
                           "cacheHit": {"type": "boolean"},
                           "cacheStatus": {"type": "string", "enum": ["hit", "partial", "miss", "bypass"]},
                           "duration": {"type": "number"}}}
    return {"type": "object", "required": ["data", "_meta"],
            "properties": {"data": {"type": "object", "additionalProperties": point}, "_meta": meta}}


def stats_schema() -> dict:
    count = {"type": "integer", "minimum": 0}
    cache = {"type": "object", "required": ["totalObjects", "totalSizeMB", "oldestEntry", "newestEntry"],
             "properties": {"totalObjects": count, "totalSizeMB": {"type": "number"},
                            "oldestEntry": NULLABLE_TIME, "newestEntry": NULLABLE_TIME,
                            "hitRate": {"type": ["number", "null"], "minimum": 0, "maximum": 1}}}
    jobs = {"type": "object", "required": ["total_jobs", "completed", "failed", "active"],
            "properties": {name: count for name in ("total_jobs", "completed", "failed", "active")}}
    request = {"type": "object", "required": ["route_type", "count", "avg_duration", "cache_hits"],
               "properties": {"route_type": {"type": ["string", "null"]}, "count": count,
                              "avg_duration": {"type": "number"}, "cache_hits": {"type": ["integer", "null"]}}}
    return {"type": "object", "required": ["cache", "jobs", "requests"],
            "properties": {"cache": cache, "jobs": jobs, "requests": {"type": "array", "items": request}}}


def schemas() -> dict:
    check = {"type": "object", "required": ["ok"], "properties": {
        "ok": {"type": "boolean"}, "ms": {"type": "number"}, "error": {"type": "string"}}}
    return {
        "Error": error_schema(),
        "SeriesResponse": series_schema(),
        "JobTicket": {"type": "object", "required": ["status", "jobId", "message", "statusUrl", "pollInterval"],
                      "properties": {"status": {"type": "string", "enum": JOB_STATUSES}, "jobId": {"type": "string"},
                                     "message": {"type": "string"}, "statusUrl": {"type": "string"},
                                     "pollInterval": {"type": "integer"}, "resultUrl": {"type": "string"},
                                     "estimatedSize": {"type": "integer"}}},
        "JobStatus": job_status_schema(),
        "JobList": {"type": "object", "required": ["jobs"],
                    "properties": {"jobs": {"type": "array", "items": ref("JobStatus")}}},
        "Cancelled": {"type": "object", "required": ["success", "message"],
                      "properties": {"success": {"const": True}, "message": {"type": "string"},
                                     "jobId": {"type": "string"}}},
        "Invalidated": {"type": "object", "required": ["success", "deleted", "site"],
                        "properties": {"success": {"const": True}, "deleted": {"type": "integer"},
                                       "site": {"type": "string"}}},
        "Health": {"type": "object", "required": ["status", "checks"],
                   "properties": {"status": {"type": "string", "enum": ["healthy", "unhealthy"]},
                                  "checks": {"type": "object", "additionalProperties": check},
                                  "versions": {"type": "object"}}},
        "Stats": stats_schema(),
    }


ERROR_RESPONSES = {
    400: ("BadRequest", "a parameter is missing or invalid; `field` names it", "bad_request"),
    401: ("Unauthorized", "no token: send X-ACE-Token or Authorization: Bearer", "unauthorized"),
    403: ("Forbidden", "FlightDeck refuses this token for the site", "forbidden"),
    404: ("NotFound", "no such route, job or result", "not_found"),
    409: ("Conflict", "the job is not in a state for this; `status` says which", "conflict"),
    413: ("TooLarge", "more samples than one response may hold; ask with route=queued", "too_large"),
    429: ("RateLimited", "too many requests; wait Retry-After seconds", "rate_limited"),
    502: ("UpstreamError", "FlightDeck failed", "upstream_error"),
    504: ("UpstreamTimeout", "FlightDeck did not answer in time", "upstream_timeout"),
    500: ("Internal", "an unexpected error; the log has its request id", "internal"),
}


def error_responses() -> dict:
    return {name: {"description": description,
                   "content": json_content(ref("Error"), {"error": {"code": code, "message": description}})}
            for name, description, code in ERROR_RESPONSES.values()}


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
        "tags": [{"name": name} for name in ("timeseries", "jobs", "operations", "meta", "pages")],
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "responses": error_responses(),
            "headers": {
                "X-Route-Type": {"schema": {"type": "string", "enum": ["direct", "cached", "queued"]}},
                "X-Cache-Status": {"schema": {"type": "string", "enum": ["hit", "partial", "miss", "bypass"]}},
                "Server-Timing": {"schema": {"type": "string"}, "description": "time per stage, ms"},
            },
            "securitySchemes": {
                "aceToken": {"type": "apiKey", "in": "header", "name": "X-ACE-Token",
                             "description": "the caller's FlightDeck token (`dev-token` locally)"},
                "bearerToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }
