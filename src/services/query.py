"""Parse and validate a timeseries request into a `SeriesQuery`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .config import Settings
from .errors import BadRequest
from .timerange import DAY_MS, Span, parse_iso

# Every instant the service handles must survive day buckets and ISO rendering: 0001-01-02 to 9999-12-30.
EARLIEST_MS = -62_135_510_400_000
LATEST_MS = 253_402_128_000_000
SITE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class Route(str, Enum):
    """How a request is served; values match `request_analytics.route_type`."""

    DIRECT = "direct"
    CACHED = "cached"
    QUEUED = "queued"


class Priority(str, Enum):
    """Queue priority of a job; high-priority jobs have their own queue."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True)
class SeriesQuery:
    """A validated request for some points of one site over a half-open time span."""

    site: str
    points: tuple[str, ...]
    span: Span
    route: Route | None = None
    priority: Priority = Priority.NORMAL


def parse_series_query(params: Mapping[str, str], settings: Settings) -> SeriesQuery:
    """Validate query parameters; every problem is a 400 naming its field."""
    site = parse_site(params)
    points = parse_points(_required(params, "points"), settings)
    start = _time(params, "start_time")
    end = _time(params, "end_time")
    if end <= start:
        raise BadRequest("end_time must be after start_time", field="end_time")
    if end - start > settings.max_range_days * DAY_MS:
        raise BadRequest(f"the range may cover at most {settings.max_range_days} days", field="end_time")
    return SeriesQuery(
        site=site,
        points=points,
        span=Span(start, end),
        route=_choice(params, "route", Route),
        priority=_choice(params, "priority", Priority) or Priority.NORMAL,
    )


def parse_site(params: Mapping[str, str]) -> str:
    """The `site` parameter, validated by `valid_site`."""
    return valid_site(_required(params, "site"), "site")


def valid_site(site: str, field: str) -> str:
    """A site name: letters, digits, `.`, `_` and `-`, at most 128 characters, not starting with a symbol."""
    if not SITE_PATTERN.fullmatch(site):
        raise BadRequest(f"{field} must be 1 to 128 letters, digits, '.', '_' or '-'", field=field)
    return site


def split_names(raw: str, field: str) -> tuple[str, ...]:
    """One comma-joined list of point names: blanks dropped, duplicates removed in first-seen order."""
    names = tuple(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if not names:
        raise BadRequest(f"{field} must name at least one point", field=field)
    return names


def parse_points(raw: str, settings: Settings) -> tuple[str, ...]:
    """The `points` list (see `split_names`), at most `settings.max_points` of them."""
    points = split_names(raw, "points")
    if len(points) > settings.max_points:
        raise BadRequest(f"at most {settings.max_points} points per request", field="points")
    return points


def parse_optional_span(params: Mapping[str, str]) -> Span | None:
    """A span from start_time/end_time when both are given; neither means None."""
    if "start_time" not in params and "end_time" not in params:
        return None
    span = Span(_time(params, "start_time"), _time(params, "end_time"))
    if span.empty:
        raise BadRequest("end_time must be after start_time", field="end_time")
    return span


def _required(params: Mapping[str, str], name: str) -> str:
    value = (params.get(name) or "").strip()
    if not value:
        raise BadRequest(f"{name} is required", field=name)
    return value


def _time(params: Mapping[str, str], name: str) -> int:
    raw = _required(params, name)
    try:
        epoch = parse_iso(raw)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(f"{name} is not an ISO 8601 time: {raw!r}", field=name) from exc
    return within_years(epoch, name)


def within_years(epoch_ms: int, field: str) -> int:
    """The instant, if day buckets and ISO rendering can handle it; else a 400 naming `field`."""
    if not EARLIEST_MS <= epoch_ms <= LATEST_MS:
        raise BadRequest(f"{field} must lie between 0001-01-02 and 9999-12-30 UTC", field=field)
    return epoch_ms


def _choice(params: Mapping[str, str], name: str, kind: type[Enum]):
    raw = (params.get(name) or "").strip().lower()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in kind)
        raise BadRequest(f"{name} must be one of {allowed}", field=name) from exc
