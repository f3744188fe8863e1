"""The component schemas of the OpenAPI document: one per response shape the API sends."""

from __future__ import annotations

from enum import Enum

from .cache import CacheStatus
from .jobmodel import JobStatus
from .query import Route

NULLABLE_TIME = {"type": ["string", "null"], "description": "UTC, `YYYY-MM-DD HH:MM:SS`"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def string_enum(kind: type[Enum]) -> dict:
    """A string schema allowing the values of `kind`, in its order."""
    return {"type": "string", "enum": [member.value for member in kind]}


def app_schemas() -> dict:
    value = {"type": ["number", "string", "boolean", "null"]}
    sample = {"type": "object", "required": ["point_name", "timestamp", "value"],
              "properties": {"point_name": {"type": "string"}, "timestamp": {"type": "integer"}, "value": value}}
    return {
        "AppHealth": {"type": "object", "required": ["status"],
                      "properties": {"status": {"type": "string", "enum": ["healthy", "unhealthy"]}}},
        "AppError": {"type": "object", "required": ["error", "error_code"],
                     "properties": {"error": {"type": "string"}, "error_code": {"type": "string"},
                                    "query_time_ms": {"type": "integer"}}},
        "AppQueryResponse": {"type": "object", "required": ["site_name", "point_names", "samples", "metadata"],
                             "properties": {"site_name": {"type": "string"},
                                            "point_names": {"type": "array", "items": {"type": "string"}},
                                            "samples": {"type": "array", "items": sample},
                                            "metadata": {"type": "object", "required": ["sample_count"]}}},
        "PointSamplesPage": {"type": "object", "required": ["point_samples", "next_cursor", "has_more"],
                             "properties": {"point_samples": {"type": "array", "items": {
                                 "type": "object", "required": ["name", "value", "time"],
                                 "properties": {"name": {"type": "string"}, "value": {"type": "string"},
                                                "time": {"type": "string"}}}},
                                 "next_cursor": {"type": ["string", "null"]}, "has_more": {"type": "boolean"}}},
        "Page": {"type": "object", "required": ["items"], "description": "FlightDeck's paged list",
                 "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                "page": {"type": "integer"}, "pages": {"type": "integer"},
                                "per_page": {"type": "integer"}, "total": {"type": "integer"}}},
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
                "jobId": {"type": "string"}, "status": string_enum(JobStatus),
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
                           "routeType": string_enum(Route),
                           "cacheHit": {"type": "boolean"},
                           "cacheStatus": string_enum(CacheStatus),
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
                      "properties": {"status": string_enum(JobStatus), "jobId": {"type": "string"},
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
        **app_schemas(),
    }
