import asyncio
import json
from urllib.parse import unquote

import pytest

from services.errors import (
    Forbidden,
    RateLimited,
    TooLarge,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from services.flightdeck import FlightDeckClient, parse_samples
from services.planning import SampleBudget
from services.ports import HttpResponse, TransportError
from services.timerange import DAY_MS, Span
from tests.fakeflightdeck import POINTS, truth
from tests.unit.helpers import call, series_params

D0 = 1_763_942_400_000
DAY = Span(D0, D0 + DAY_MS)


async def no_sleep(_seconds: float) -> None:
    return None


def client(transport, settings, token="good") -> FlightDeckClient:
    return FlightDeckClient(transport, settings, token, sleep=no_sleep)


def samples_of(result, point):
    series = result.series[point]
    return [[t, v] for t, v in zip(series.times, series.values)]


def test_fetch_series_returns_upstream_samples_with_numeric_values(transport, settings):
    result = asyncio.run(client(transport, settings).fetch_series(POINTS, DAY))
    for point in POINTS:
        assert samples_of(result, point) == truth(point, DAY.start_ms, DAY.end_ms)
    assert result.errors == {}


def test_fetch_series_sends_the_token_as_bearer(transport, settings):
    asyncio.run(client(transport, settings).fetch_series(POINTS[:1], DAY))
    assert transport.requests[0].headers["authorization"] == "Bearer good"


def test_single_point_uses_the_percent_encoded_per_point_endpoint(transport, settings):
    asyncio.run(client(transport, settings).fetch_series(POINTS[:1], DAY))
    url = transport.requests[0].url
    assert "/points/acme%2Fdemo-hq%2Fahu-1%3Acooling-valve/timeseries?" in url
    assert unquote(url.split("/points/")[1].split("/timeseries")[0]) == POINTS[0]


def test_several_points_use_one_batch_post(transport, settings):
    asyncio.run(client(transport, settings).fetch_series(POINTS, DAY))
    assert [r.method for r in transport.requests] == ["POST"]


def test_samples_per_day_reads_collect_intervals(transport, settings):
    per_day = asyncio.run(client(transport, settings).samples_per_day("demo-hq"))
    assert per_day == {name: 288 for name in POINTS}


def test_404_means_no_data_not_an_error(transport, settings):
    before_any_data = Span(D0 - 400 * DAY_MS, D0 - 399 * DAY_MS)
    result = asyncio.run(client(transport, settings).fetch_series(POINTS[:1], before_any_data))
    assert len(transport.requests) == 1  # sent, and answered 404 (the simulator has no data before 2025)
    assert result.series[POINTS[0]].times == [] and result.errors == {}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(flightdeck, transport, settings, status):
    flightdeck.faults = [status, status]
    result = asyncio.run(client(transport, settings).fetch_series(POINTS[:1], DAY))
    assert len(result.series[POINTS[0]]) == 288
    assert len(transport.requests) == 3


def test_persistent_500_becomes_upstream_error(flightdeck, transport, settings):
    flightdeck.faults = [500] * 10
    with pytest.raises(UpstreamError):
        asyncio.run(client(transport, settings).fetch_series(POINTS[:1], DAY))
    assert len(transport.requests) == 1 + settings.upstream_max_retries


def test_persistent_429_becomes_rate_limited(flightdeck, transport, settings):
    flightdeck.faults = [429] * 10
    with pytest.raises(RateLimited):
        asyncio.run(client(transport, settings).fetch_series(POINTS[:1], DAY))


def test_retry_after_is_honoured(settings):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    replies = [HttpResponse(429, {"retry-after": "3"}, b""), HttpResponse(200, {}, b'{"point_samples": []}')]

    class Transport:
        async def send(self, request, timeout):
            return replies.pop(0)

    asyncio.run(FlightDeckClient(Transport(), settings, "t", sleep=sleep).fetch_series(["p"], DAY))
    assert slept and slept[0] >= 3


class Denied:
    """FlightDeck refusing every call with 403."""

    async def send(self, request, timeout):
        return HttpResponse(403, {}, b"")


def test_upstream_401_becomes_ours(transport, settings):
    with pytest.raises(Unauthorized):
        asyncio.run(client(transport, settings, token="bad").fetch_series(POINTS[:1], DAY))


def test_upstream_403_on_the_site_point_list_is_forbidden(settings):
    with pytest.raises(Forbidden):
        asyncio.run(client(Denied(), settings).samples_per_day("demo-hq"))


def test_upstream_403_on_a_data_call_is_that_points_refusal(settings):
    refusing = client(Denied(), settings)
    result = asyncio.run(refusing.fetch_series(POINTS[:1], DAY))
    assert "refuses" in result.errors[POINTS[0]] and len(result.series[POINTS[0]]) == 0
    assert refusing.refused == {POINTS[0]}


def test_a_batch_refused_for_one_point_serves_the_others_and_names_the_refused_one(flightdeck, transport, settings):
    flightdeck.refused = {POINTS[1]}
    fetching = client(transport, settings)
    result = asyncio.run(fetching.fetch_series(POINTS, DAY))
    assert fetching.refused == {POINTS[1]} and set(result.errors) == {POINTS[1]}
    assert samples_of(result, POINTS[0]) == truth(POINTS[0], DAY.start_ms, DAY.end_ms)


def test_slow_upstream_times_out_with_a_clear_message(settings):
    class Slow:
        async def send(self, request, timeout):
            await asyncio.sleep(10)

    fast = type(settings)(**{**settings.__dict__, "upstream_timeout_seconds": 0.05})
    with pytest.raises(UpstreamTimeout, match=r"did not answer within 0\.05 s"):
        asyncio.run(client(Slow(), fast).fetch_series(POINTS[:1], DAY))


def test_a_failing_group_marks_only_its_points(settings):
    class HalfBroken:
        async def send(self, request, timeout):
            if "vav" in request.url or request.method == "POST":
                raise TransportError("connection reset")
            sample = {"name": POINTS[0], "value": "1", "time": "2025-11-24T00:00:00Z"}
            return HttpResponse(200, {}, json.dumps({"point_samples": [sample]}).encode())

    result = asyncio.run(client(HalfBroken(), settings).fetch_series(POINTS[:2], DAY))
    assert result.series[POINTS[0]].times == [D0]
    assert POINTS[1] in result.errors and POINTS[0] not in result.errors


def test_parse_samples_sorts_out_of_order_samples_and_filters_points():
    payload = {"point_samples": [
        {"name": "a", "value": "2", "time": "2025-11-24T00:01:00Z"},
        {"name": "b", "value": "9", "time": "2025-11-24T00:00:00Z"},
        {"name": "a", "value": "1", "time": "2025-11-24T00:00:00Z"},
    ]}
    series = parse_samples(payload, {"a"})
    assert list(series) == ["a"] and series["a"].values == [1, 2]


def test_exceeding_the_sample_budget_cancels_the_calls_still_in_flight(settings):
    started, cancelled = [], []

    class OneFastManySlow:
        async def send(self, request, timeout):
            if "2025-11-24T00" not in request.url:  # every window but the first is slow
                started.append(request.url)
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    cancelled.append(request.url)
                    raise
            samples = [{"name": "p", "value": "1", "time": f"2025-11-24T00:{m:02d}:00Z"} for m in range(60)]
            return HttpResponse(200, {}, json.dumps({"point_samples": samples}).encode())

    async def fetch_then_look():
        small = type(settings)(**{**settings.__dict__, "upstream_page_samples": 60})  # one-hour windows
        with pytest.raises(TooLarge):
            await client(OneFastManySlow(), small).fetch_series(["p"], DAY, budget=SampleBudget(10))
        return list(cancelled)

    assert asyncio.run(fetch_then_look()) == started and started


@pytest.mark.parametrize("status,error,code", [(429, RateLimited, 429), (503, UpstreamUnavailable, 503)])
def test_a_retry_after_beyond_the_deadline_passes_the_upstreams_answer_on(settings, status, error, code):
    class ComeBackInAnHour:
        async def send(self, request, timeout):
            return HttpResponse(status, {"retry-after": "3600"}, b"")

    with pytest.raises(error) as raised:
        asyncio.run(client(ComeBackInAnHour(), settings).fetch_series(["p"], DAY))
    assert raised.value.status == code and raised.value.details["retryAfter"] == 3600


def test_the_api_answers_an_upstream_retry_after_with_its_own(api, flightdeck):
    flightdeck.faults = [429]
    flightdeck.fault_headers = {"retry-after": "3600"}
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS[:1], end="2025-11-10T01:00:00Z"))
    assert (response.status, response.headers["retry-after"]) == (429, "3600")
    assert body["error"]["code"] == "rate_limited"
