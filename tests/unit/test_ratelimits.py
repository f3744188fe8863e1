"""Rate limits: per token and per site on data routes, cheap routes apart, 429 with Retry-After."""

import tomllib
from pathlib import Path

import pytest

from services.api import Api
from services.app import Platform, Services
from services.ratelimits import LIGHT_LIMIT, RATE_LIMIT_PERIOD_SECONDS, SITE_LIMIT, TOKEN_LIMIT
from tests.doubles import CountingLimiter
from tests.fakeflightdeck import POINTS
from tests.unit.helpers import call, series_params

WRANGLER = Path(__file__).resolve().parents[2] / "wrangler.toml"
SMALL = series_params(POINTS[:1], end="2025-11-10T01:00:00Z")


@pytest.fixture
def limiters() -> dict[str, CountingLimiter]:
    return {TOKEN_LIMIT: CountingLimiter(2), SITE_LIMIT: CountingLimiter(3), LIGHT_LIMIT: CountingLimiter(2)}


@pytest.fixture
def limited_api(settings, db, store, queues, transport, deferred, clock, limiters) -> Api:
    platform = Platform(db=db, store=store, queues=queues, transport=transport, defer=deferred, limiters=limiters)
    return Api(Services(settings, platform, now_ms=clock.ms))


def test_a_token_over_its_data_limit_gets_429_naming_the_limit_with_retry_after(limited_api):
    statuses = [call(limited_api, "GET", "/api/timeseries", SMALL)[0].status for _ in range(2)]
    response, body = call(limited_api, "GET", "/api/timeseries", SMALL)
    assert statuses == [200, 200] and response.status == 429
    assert response.headers["retry-after"] == str(RATE_LIMIT_PERIOD_SECONDS)
    assert body["error"]["code"] == "rate_limited" and body["error"]["limit"] == TOKEN_LIMIT


def test_the_limit_key_is_the_token_hash_never_the_token(limited_api, limiters):
    call(limited_api, "GET", "/api/timeseries", SMALL)
    assert limiters[TOKEN_LIMIT].counts and not any("good" in key for key in limiters[TOKEN_LIMIT].counts)


def test_another_token_still_counts_from_zero(limited_api, limiters):
    for _ in range(3):
        call(limited_api, "GET", "/api/timeseries", SMALL)
    _, body = call(limited_api, "GET", "/api/timeseries", SMALL, token="other")
    assert body["error"]["code"] == "unauthorized"  # served through to FlightDeck, which refuses "other"
    assert sorted(limiters[TOKEN_LIMIT].counts.values()) == [1, 2]


def test_the_site_limit_counts_every_token_together(limited_api):
    for token in ("a", "b", "c"):
        call(limited_api, "GET", "/api/timeseries", SMALL, token=token)
    response, body = call(limited_api, "GET", "/api/timeseries", SMALL, token="d")
    assert response.status == 429 and body["error"]["limit"] == SITE_LIMIT


def test_polling_a_job_does_not_use_up_the_data_limit(limited_api):
    for _ in range(2):
        call(limited_api, "GET", "/api/jobs/0123456789abcdef0123456789abcdef")
    assert call(limited_api, "GET", "/api/timeseries", SMALL)[0].status == 200


def test_cheap_routes_have_their_own_limit(limited_api):
    for _ in range(2):
        call(limited_api, "GET", "/api/health", token=None)
    response, body = call(limited_api, "GET", "/api/health", token=None)
    assert response.status == 429 and body["error"]["limit"] == LIGHT_LIMIT


def test_without_bindings_nothing_is_limited(api):
    assert all(call(api, "GET", "/api/health", token=None)[0].status == 200 for _ in range(5))


def test_every_configured_period_is_the_retry_after_the_service_sends():
    config = tomllib.loads(WRANGLER.read_text())
    periods = {limit["name"]: limit["simple"]["period"] for limit in config["ratelimits"]}
    assert set(periods) == {TOKEN_LIMIT, SITE_LIMIT, LIGHT_LIMIT}
    assert set(periods.values()) == {RATE_LIMIT_PERIOD_SECONDS}


def test_a_data_route_without_a_token_counts_against_the_client_on_the_light_limit(limited_api, limiters):
    for _ in range(2):
        assert call(limited_api, "GET", "/api/timeseries", SMALL, token=None)[0].status == 401
    response, body = call(limited_api, "GET", "/api/timeseries", SMALL, token=None)
    assert response.status == 429 and body["error"]["limit"] == LIGHT_LIMIT
    assert list(limiters[LIGHT_LIMIT].counts) == ["client:unknown"] and not limiters[TOKEN_LIMIT].counts


def test_a_refused_request_asks_flightdeck_nothing_though_its_reads_start_early(limited_api, transport, clock,
                                                                                settings):
    for _ in range(2):
        call(limited_api, "GET", "/api/timeseries", {**SMALL, "route": "cached"})
    clock.now_ms += settings.access_ttl_seconds * 1000 + 1  # its access answer is no longer remembered
    sent = len(transport.requests)
    response, _ = call(limited_api, "GET", "/api/timeseries", {**SMALL, "route": "cached"})
    assert response.status == 429 and transport.requests[sent:] == []
