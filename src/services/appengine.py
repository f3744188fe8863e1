"""The engine behind the Building Vitals app's paths: the same cache, access checks and coalescing as
`/api/timeseries`, always through the cache (the app reloads the same charts) and always answered
now, never as a job (the app takes any 2xx as data)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote

from .app import Services
from .config import Settings
from .errors import TooLarge
from .query import Route, SeriesQuery, valid_site
from .routing import estimate_samples
from .timeseries import EnhancedTimeseriesService, SeriesResult


def caller_engine(services: Services, token: str) -> EnhancedTimeseriesService:
    """The caller's engine, on one FlightDeck client: a request's calls count in one place."""
    return services.timeseries(token, services.client(token))


async def serve_now(
    settings: Settings, engine: EnhancedTimeseriesService, query: SeriesQuery, request_id: str, record: dict
) -> SeriesResult:
    """Serve `query` on the cached route, within MAX_RESPONSE_SAMPLES (checked on the estimate before
    any fetch, then as samples arrive). The engine's upstream cost so far (its client's running
    totals) lands in `record` for the log and analytics."""
    estimate = estimate_samples(query, settings)
    if estimate > settings.max_response_samples:
        raise TooLarge(f"about {estimate:,} samples; one response holds at most {settings.max_response_samples:,}")
    try:
        served = await engine.serve(replace(query, route=Route.CACHED), request_id=request_id)
    finally:
        record.update(engine.client.stats.log_fields())
    if not isinstance(served, SeriesResult):  # unreachable: the cached route is never queued
        raise TypeError("the engine queued a request meant to be served now")
    return served


def path_site(segment: str) -> str:
    """A site name from a path segment, decoded and validated like every route's `site`."""
    return valid_site(unquote(segment).strip(), "site")
