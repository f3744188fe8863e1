"""The service's exception tree; each error carries its HTTP status and a stable code.

    ServiceError (500 internal)
    ├── BadRequest (400 bad_request)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── NotAcceptable (406 not_acceptable)
    ├── Conflict (409 conflict)
    ├── TooLarge (413 too_large)
    ├── RetryLater (carries Retry-After)
    │   ├── RateLimited (429 rate_limited)
    │   └── UpstreamUnavailable (503 upstream_unavailable)
    ├── UpstreamError (502 upstream_error)
    ├── UpstreamTimeout (504 upstream_timeout)
    └── ClientClosedRequest (499 client_closed_request: logged; the client is gone and never sees it)

Foreign errors are translated where they enter (`raise UpstreamError(...) from exc`);
`api.py` turns any of these into a JSON body `{"error": {"code", "message"}}`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service reports to a caller."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}

    def headers(self) -> dict[str, str]:
        """Response headers the error carries (none by default)."""
        return {}

    def to_body(self) -> dict:
        """The JSON error body sent to the caller."""
        error: dict = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        error.update(self.details)
        return {"error": error}


class BadRequest(ServiceError):
    status = 400
    code = "bad_request"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class NotAcceptable(ServiceError):
    status = 406
    code = "not_acceptable"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class RetryLater(ServiceError):
    """An error the caller may retry after `retry_after` seconds (sent as Retry-After)."""

    def __init__(self, message: str, *, retry_after: int, details: dict | None = None) -> None:
        super().__init__(message, details={**(details or {}), "retryAfter": retry_after})
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after)}


class RateLimited(RetryLater):
    """Too many requests (ours, or FlightDeck's passed on)."""

    status = 429
    code = "rate_limited"


class UpstreamError(ServiceError):
    status = 502
    code = "upstream_error"


class UpstreamUnavailable(RetryLater):
    """FlightDeck is down and asked for a wait longer than our deadline."""

    status = 503
    code = "upstream_unavailable"


class UpstreamTimeout(ServiceError):
    status = 504
    code = "upstream_timeout"


class ClientClosedRequest(ServiceError):
    # 499 as nginx logs it: no client receives it, the request log and analytics keep it.
    status = 499
    code = "client_closed_request"
