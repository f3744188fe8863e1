"""Estimate a request's size and choose the route that serves it."""

from __future__ import annotations

from collections.abc import Mapping

from .config import Settings
from .query import Route, SeriesQuery
from .timerange import days_in


def estimate_samples(query: SeriesQuery, settings: Settings) -> int:
    """points × days × SAMPLES_PER_POINT_PER_DAY, rounded up to a whole sample."""
    exact = len(query.points) * days_in(query.span) * settings.samples_per_point_per_day
    return max(1, -int(-exact // 1))


def exact_samples(query: SeriesQuery, per_day: Mapping[str, int]) -> int:
    """The samples the request really holds, from each point's collect_interval."""
    return int(sum(per_day[name] for name in query.points) * days_in(query.span)) + len(query.points)


def choose_route(query: SeriesQuery, estimate: int, settings: Settings) -> Route:
    """The `route=` override wins; otherwise the estimate picks direct, cached or queued."""
    if query.route is not None:
        return query.route
    if estimate < settings.direct_max_samples:
        return Route.DIRECT
    if estimate <= settings.cached_max_samples:
        return Route.CACHED
    return Route.QUEUED
