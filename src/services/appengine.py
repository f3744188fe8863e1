"""The engine behind the Building Vitals app's paths: the same cache, access checks and coalescing as
`/api/timeseries`, always through the cache (the app reloads the same charts) and always answered
now, never as a job (the app takes any 2xx as data)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote

from .app import Services
from .errors import TooLarge
from .query import Route, SeriesQuery, valid_site
from .routing import estimate_samples
from .timeseries import SeriesResult


async def serve_now(services: Services, token: str, query: SeriesQuery, request_id: str, record: dict) -> SeriesResult:
    """Serve `query` on the cached route, within MAX_RESPONSE_SAMPLES (checked on the estimate before
    any fetch, then as samples arrive). The upstream cost lands in `record` for the log and analytics."""
    settings = services.settings
    estimate = estimate_samples(query, settings)
    if estimate > settings.max_response_samples:
        raise TooLarge(f"about {estimate:,} samples; one response holds at most {settings.max_response_samples:,}")
    query = replace(query, route=Route.CACHED)
    client = services.client(token)
    try:
        served = await services.timeseries(token, client).serve(query, request_id=request_id)
    finally:
        record.update(client.stats.log_fields())
    if not isinstance(served, SeriesResult):  # unreachable: the cached route is never queued
        raise TypeError("the engine queued a request meant to be served now")
    record.update(engineRoute=served.route.value, cacheStatus=served.cache_status.value,
                  estimatedSamples=served.estimate, samples=served.samples)
    return served


def path_site(segment: str) -> str:
    """A site name from a path segment, decoded and validated like every route's `site`."""
    return valid_site(unquote(segment).strip(), "site")
