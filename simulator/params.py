"""Query parameters: parsing and validation, raising `ApiError` (400) on bad input."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from .data import epoch_ms

Query = dict[str, list[str]]

PER_PAGE = (2, 10, 20, 30, 40, 50, 100, 500, 1000, 5000, 10000, 100000)
PAGE_SIZE = (3, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 300000, 500000)


class ApiError(Exception):
    """An error answered as `{"message": ...}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def first(query: Query, key: str) -> str | None:
    """The first value of `key`, if given."""
    values = query.get(key)
    return values[0] if values else None


def time_ms(query: Query, key: str) -> int:
    """An ISO 8601 time (naive means UTC) as epoch milliseconds."""
    text = first(query, key)
    if not text:
        raise ApiError(400, f"{key} is required (ISO 8601)")
    try:
        return epoch_ms(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise ApiError(400, f"{key} is not an ISO 8601 time: {text!r}") from None


def time_range(query: Query) -> tuple[int, int]:
    """`start_time` and `end_time` in epoch milliseconds; end must not precede start."""
    start, end = time_ms(query, "start_time"), time_ms(query, "end_time")
    if end < start:
        raise ApiError(400, "end_time is before start_time")
    return start, end


def integer(query: Query, key: str, default: int, choices: tuple[int, ...] | None = None) -> int:
    """An integer parameter, optionally restricted to the spec's enum."""
    text = first(query, key)
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        raise ApiError(400, f"{key} must be an integer") from None
    if choices is not None and number not in choices:
        raise ApiError(400, f"{key} must be one of {list(choices)}")
    if number < 1:
        raise ApiError(400, f"{key} must be positive")
    return number


def boolean(query: Query, key: str, default: bool) -> bool:
    """A boolean parameter: true/false/1/0, any case."""
    text = first(query, key)
    if text is None:
        return default
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"{key} must be true or false")


def encode_cursor(state: list[object]) -> str:
    """An opaque, deterministic cursor for a resumable position."""
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> list[object]:
    """The state inside a cursor made by `encode_cursor`."""
    try:
        state = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid cursor") from None
    if not isinstance(state, list):
        raise ApiError(400, "invalid cursor")
    return state
