"""HTTP plumbing for the API: JSON responses, error bodies, CORS and the caller's token."""

from __future__ import annotations

import json

from .errors import ServiceError, Unauthorized
from .ports import ApiRequest, ApiResponse

JSON = "application/json; charset=utf-8"
ALLOW_METHODS = "GET, DELETE, OPTIONS"
ALLOW_HEADERS = "X-ACE-Token, Authorization, Content-Type, Last-Event-ID"
EXPOSE_HEADERS = ("X-Request-Id, X-Route-Type, X-Cache-Status, X-Point-Errors, Server-Timing, Location, Retry-After,"
                  " X-Query-Time-Ms, X-Cache-Hit")


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> ApiResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return ApiResponse(status, body, {"content-type": JSON, **(headers or {})})


def error_response(error: ServiceError) -> ApiResponse:
    return json_response(error.status, error.to_body(), error.headers())


def server_timing(timings: dict[str, float]) -> str:
    """A `Server-Timing` value from seconds per stage."""
    return ", ".join(f"{name};dur={seconds * 1000:.1f}" for name, seconds in timings.items())


def caller_token(request: ApiRequest) -> str:
    """The caller's FlightDeck token, from X-ACE-Token or `Authorization: Bearer`."""
    token = request.headers.get("x-ace-token", "").strip()
    if not token:
        scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    if not token:
        raise Unauthorized("send your FlightDeck token as X-ACE-Token or Authorization: Bearer")
    return token


def cors_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """CORS headers for an allowed origin; none for others (the browser then refuses)."""
    if not origin or not ("*" in allowed or origin in allowed):
        return {}
    return {
        "access-control-allow-origin": "*" if "*" in allowed else origin,
        "access-control-expose-headers": EXPOSE_HEADERS,
        "vary": "Origin",
    }


def preflight(origin: str | None, allowed: tuple[str, ...]) -> ApiResponse:
    """Answer OPTIONS: a browser's preflight from an allowed origin, or a plain OPTIONS without one."""
    headers = cors_headers(origin, allowed)
    if origin and not headers:
        return json_response(403, {"error": {"code": "forbidden", "message": f"origin {origin} is not allowed"}})
    headers.update({
        "access-control-allow-methods": ALLOW_METHODS,
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": "86400",
    })
    return ApiResponse(204, b"", headers)
