"""`GET /timeseries/query`: the app's parameters, shapes, errors and caching, through the real API."""

import asyncio

import pytest

from services.appquery import app_error, parse_chart_query
from services.errors import BadRequest, RateLimited
from services.timerange import parse_iso
from tests.conftest import NOW_MS
from tests.fakeflightdeck import LAB_POINTS, POINTS, truth
from tests.unit.helpers import call

START = parse_iso("2025-11-10T00:00:00Z")
HOUR = 3_600_000


def app_params(points=POINTS, start=START, end=START + 6 * HOUR, **extra) -> dict:
    return {"site_name": "demo-hq", "point_names": ",".join(points), "start_time": str(start),
            "end_time": str(end), **extra}


def test_query_answers_the_apps_shape_sorted_by_point_then_time(api):
    response, body = call(api, "GET", "/timeseries/query", app_params())
    assert response.status == 200 and set(body) == {"site_name", "point_names", "samples", "metadata"}
    assert body["site_name"] == "demo-hq" and body["point_names"] == list(POINTS)
    expected = [{"point_name": name, "timestamp": t, "value": v}
                for name in sorted(POINTS) for t, v in truth(name, START, START + 6 * HOUR)]
    assert body["samples"] == expected
    assert body["metadata"]["sample_count"] == len(expected) == body["metadata"]["total_samples"]


def test_query_second_identical_request_is_a_cache_hit(api, deferred):
    params = app_params(end=START + 3 * 86_400_000)
    first, body = call(api, "GET", "/timeseries/query", params)
    asyncio.run(deferred.drain())
    second, again = call(api, "GET", "/timeseries/query", params)
    assert (first.headers["x-cache-hit"], second.headers["x-cache-hit"]) == ("false", "true")
    assert again["metadata"]["cache_hit"] is True and again["metadata"]["source"] == "cache"
    assert body["metadata"]["source"] == "flightdeck" and again["samples"] == body["samples"]


def test_query_of_the_last_days_ending_now_is_a_hit_when_repeated_within_the_tail_ttl(api, deferred, flightdeck):
    params = app_params(start=NOW_MS - 2 * 86_400_000, end=NOW_MS)
    _, body = call(api, "GET", "/timeseries/query", params)
    asyncio.run(deferred.drain())
    flightdeck.calls.clear()
    second, again = call(api, "GET", "/timeseries/query", params)
    assert body["metadata"]["source"] == "flightdeck" and again["metadata"]["source"] == "cache"
    assert second.headers["x-cache-hit"] == "true" and flightdeck.calls == [] and again["samples"] == body["samples"]


def test_query_interval_gives_hourly_averages(api):
    _, body = call(api, "GET", "/timeseries/query", app_params(points=POINTS[:1], interval="1hr"))
    raw = truth(POINTS[0], START, START + 6 * HOUR)
    first_hour = [v for t, v in raw if t < START + HOUR]
    assert [s["timestamp"] for s in body["samples"]] == [START + h * HOUR for h in range(6)]
    assert body["samples"][0]["value"] == pytest.approx(sum(first_hour) / len(first_hour))


def test_query_site_defaults_to_the_second_segment_of_the_first_point(api):
    params = app_params()
    del params["site_name"]
    response, body = call(api, "GET", "/timeseries/query", params)
    assert response.status == 200 and body["site_name"] == "demo-hq"


def test_query_error_has_the_apps_shape(api):
    response, body = call(api, "GET", "/timeseries/query", app_params(start="yesterday"))
    assert response.status == 400 and set(body) == {"error", "error_code", "query_time_ms"}
    assert body["error_code"] == "bad_request" and "start_time" in body["error"]


def test_query_without_token_is_401_in_the_apps_shape(api):
    response, body = call(api, "GET", "/timeseries/query", app_params(), token=None)
    assert response.status == 401 and body["error_code"] == "unauthorized"


def test_query_a_year_of_100_points_is_413_never_202(api, flightdeck):
    names = [f"acme/demo-hq/vav-{i}/analogValue/13" for i in range(100)]
    params = app_params(points=names, start=NOW_MS - 365 * 86_400_000, end=NOW_MS)
    response, body = call(api, "GET", "/timeseries/query", params)
    assert response.status == 413 and body["error_code"].startswith("too_large")
    assert "route=queued" in body["error"] and flightdeck.calls == []


@pytest.mark.parametrize(("change", "field"), [
    ({"point_names": ",".join(f"p{i}" for i in range(101))}, "point_names"),
    ({"end_time": str(START + 59_999)}, "end_time"),
    ({"end_time": str(START + 366 * 86_400_000)}, "end_time"),
    ({"start_time": str(NOW_MS + 1), "end_time": str(NOW_MS + HOUR)}, "start_time"),
    ({"end_time": str(NOW_MS + 86_400_001)}, "end_time"),
    ({"interval": "2min"}, "interval"),
])
def test_parse_chart_query_enforces_the_apps_rules(change, field):
    with pytest.raises(BadRequest) as raised:
        parse_chart_query({**app_params(), **change}, NOW_MS)
    assert raised.value.field == field


def test_parse_chart_query_accepts_iso_times():
    query = parse_chart_query(app_params(start="2025-11-10T00:00:00.000Z", end="2025-11-10T01:00:00Z"), NOW_MS)
    assert (query.series.span.start_ms, query.series.span.end_ms) == (START, START + HOUR)


def test_query_is_recorded_in_analytics_as_route_type_query(api, db, deferred):
    call(api, "GET", "/timeseries/query", app_params())
    asyncio.run(deferred.drain())
    rows = asyncio.run(db.all("SELECT route_type, cache_status, points_count, path FROM request_analytics"))
    assert rows == [{"route_type": "query", "cache_status": "miss", "points_count": 3, "path": "/timeseries/query"}]


@pytest.mark.parametrize("start,end", [("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
                                       ("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00Z")])
def test_query_times_at_the_edge_of_the_year_range_are_400_naming_the_time(api, start, end):
    response, body = call(api, "GET", "/timeseries/query", app_params(start=start, end=end))
    assert response.status == 400 and "start_time" in body["error"]


@pytest.mark.parametrize("site", ["demo hq", "x" * 129, "-lead"])
def test_query_site_names_are_validated_like_every_route(api, site):
    response, body = call(api, "GET", "/timeseries/query", app_params(site_name=site))
    assert response.status == 400 and "site_name" in body["error"]


def test_query_never_serves_a_point_of_another_site_to_a_limited_token(api):
    response, body = call(api, "GET", "/timeseries/query", app_params(points=[*LAB_POINTS, POINTS[0]],
                                                                      site_name="demo-lab"), token="limited")
    assert response.status == 200 and all(s["point_name"] != POINTS[0] for s in body["samples"])


def test_app_error_carries_the_errors_own_headers() -> None:
    response = app_error(RateLimited("slow down", retry_after=7), 12)
    assert response.status == 429
    assert response.headers == {"content-type": "application/json; charset=utf-8", "x-query-time-ms": "12",
                                "retry-after": "7"}
    assert "retry-after" not in app_error(BadRequest("no"), 1).headers
