"""The direct and cached routes, in-process on SQLite, a dict R2 and a fake FlightDeck."""

import asyncio

try:
    from compression import zstd
except ImportError:  # CPython before 3.14
    from backports import zstd

from services.query import Priority
from services.timerange import parse_iso
from tests.fakeflightdeck import POINTS, truth
from tests.unit.helpers import call, series_params


def drain(deferred):
    asyncio.run(deferred.drain())


def test_direct_route_returns_truth_and_writes_nothing_to_r2(api, store, deferred):
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS[:1], end="2025-11-10T06:00:00Z"))
    drain(deferred)
    assert response.status == 200 and response.headers["x-route-type"] == "direct"
    expected = truth(POINTS[0], parse_iso("2025-11-10"), parse_iso("2025-11-10T06:00"))
    assert body["data"][POINTS[0]]["samples"] == expected
    assert body["_meta"]["cacheStatus"] == "bypass" and store.objects == {}


def test_cached_route_miss_then_hit_serves_identical_data_without_upstream(api, flightdeck, deferred, store, db):
    params = series_params(POINTS, route="cached")
    first, body1 = call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    calls = len(flightdeck.calls)
    second, body2 = call(api, "GET", "/api/timeseries", params)
    assert first.headers["x-cache-status"] == "miss" and second.headers["x-cache-status"] == "hit"
    assert len(flightdeck.calls) == calls
    assert body1["data"] == body2["data"]
    assert len(store.objects) == 3
    rows = asyncio.run(db.all("SELECT * FROM cache_metadata"))
    assert len(rows) == 3 and all(r["codec"] == "zstd" and r["compressed_size"] < r["original_size"] for r in rows)


def test_cached_objects_carry_honest_metadata(api, deferred, store):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    stored = next(iter(store.objects.values()))
    meta = stored.metadata
    assert meta["codec"] == "zstd" and meta["points"] == "3" and int(meta["samples"]) == 3 * 288
    # The object is b"BVTS", format 2, a 4-byte label "zstd", then the zstd frame of the columns.
    assert stored.body[:10] == b"BVTS\x02\x04zstd"
    raw = zstd.decompress(stored.body[10:])
    assert int(meta["compressedSize"]) == len(stored.body) and int(meta["rawSize"]) == len(raw)
    assert abs(float(meta["ratio"]) - len(stored.body) / len(raw)) < 1e-6


def test_overlapping_later_range_is_partial_and_fetches_only_missing_days(api, flightdeck, deferred):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    flightdeck.calls.clear()
    response, body = call(api, "GET", "/api/timeseries",
                          series_params(POINTS, start="2025-11-11T00:00:00Z", end="2025-11-15T00:00:00Z",
                                        route="cached"))
    assert response.headers["x-cache-status"] == "partial"
    assert {(start, end) for _, start, end in flightdeck.calls} == {
        (parse_iso("2025-11-13"), parse_iso("2025-11-15"))}
    for point in POINTS:
        assert body["data"][point]["samples"] == truth(point, parse_iso("2025-11-11"), parse_iso("2025-11-15"))


def test_cached_range_inside_days_returns_exactly_the_range(api, deferred):
    params = series_params(POINTS, start="2025-11-10T05:30:00Z", end="2025-11-12T07:00:00Z", route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    _, body = call(api, "GET", "/api/timeseries", params)
    assert body["_meta"]["cacheStatus"] == "hit"
    assert body["data"][POINTS[1]]["samples"] == truth(POINTS[1], parse_iso("2025-11-10T05:30"),
                                                        parse_iso("2025-11-12T07:00"))


def test_the_newest_window_is_never_stored_as_settled(api, deferred, clock, store, flightdeck):
    params = series_params(POINTS, start="2025-11-24T00:00:00Z", end="2025-11-24T16:00:00Z", route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    (obj,) = store.objects.values()
    assert int(obj.metadata["coveredUntil"]) == clock.now_ms - 600_000
    flightdeck.calls.clear()
    response, _ = call(api, "GET", "/api/timeseries", params)
    assert response.headers["x-cache-status"] == "partial"
    assert [(s, e) for _, s, e in flightdeck.calls] == [(clock.now_ms - 600_000, clock.now_ms)]


def test_cache_read_failure_still_returns_data(api, store):
    store.fail = True
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    assert response.status == 200 and body["data"][POINTS[0]]["count"] == 3 * 288


def test_cached_data_needs_site_access_even_when_cached(api, deferred, flightdeck):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    response, body = call(api, "GET", "/api/timeseries", {**series_params(POINTS, route="cached"), "site": "other"})
    assert response.status == 403 and body["error"]["code"] == "forbidden"


def test_access_answer_is_remembered_in_d1_by_token_hash(api, deferred, db):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    (row,) = asyncio.run(db.all("SELECT * FROM site_access"))
    assert row["allowed"] == 1 and row["token_hash"] != "good" and len(row["token_hash"]) == 64


def test_concurrent_identical_misses_share_one_upstream_fetch(services, flightdeck):
    from services.query import Route, SeriesQuery
    from services.timerange import Span

    query = SeriesQuery("demo-hq", POINTS, Span(parse_iso("2025-11-10"), parse_iso("2025-11-12")), Route.CACHED)

    async def many():
        svc = [services.timeseries("good", services.client("good")) for _ in range(5)]
        return await asyncio.gather(*(s.serve(query, request_id="r") for s in svc))

    results = asyncio.run(many())
    assert len(flightdeck.calls) == 1
    assert all(r.series == results[0].series for r in results)


def test_invalidate_drops_objects_and_rows(api, deferred, store, db):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    response, body = call(api, "DELETE", "/api/cache", {"site": "demo-hq", "start_time": "2025-11-11T00:00:00Z",
                                                        "end_time": "2025-11-12T00:00:00Z"})
    assert response.status == 200 and body["deleted"] == 1
    assert len(store.objects) == 2 and len(asyncio.run(db.all("SELECT * FROM cache_metadata"))) == 2


def test_served_objects_count_their_hits_in_d1(api, deferred, db):
    params = series_params(POINTS, route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    hits = [row["hit_count"] for row in asyncio.run(db.all("SELECT hit_count FROM cache_metadata"))]
    assert hits == [1, 1, 1]


def test_a_response_over_the_sample_cap_is_413_pointing_to_the_queue(services, deferred):
    from dataclasses import replace

    from services.api import Api

    services.settings = replace(services.settings, max_response_samples=500)
    response, body = call(Api(services), "GET", "/api/timeseries", series_params(POINTS, route="direct"))
    assert response.status == 413 and "route=queued" in body["error"]["message"]


def test_a_cache_hit_over_the_sample_cap_is_413(api, services, deferred):
    from dataclasses import replace

    params = series_params(POINTS, route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    services.settings = replace(services.settings, max_response_samples=1000)
    response, body = call(api, "GET", "/api/timeseries", params)
    assert response.status == 413 and body["error"]["code"] == "too_large"


def test_a_shaped_answer_may_read_more_than_the_response_cap(services, deferred):
    from dataclasses import replace

    from services.api import Api

    services.settings = replace(services.settings, max_response_samples=500, max_read_samples=100_000)
    params = series_params(POINTS, route="direct", max_points="50")
    response, body = call(Api(services), "GET", "/api/timeseries", params)
    assert response.status == 200 and body["_meta"]["samplesAfter"] <= 150 and body["_meta"]["samplesBefore"] > 500


def test_a_shaped_answer_reading_more_than_the_read_cap_is_413(services, deferred):
    from dataclasses import replace

    from services.api import Api

    services.settings = replace(services.settings, max_read_samples=500)
    params = series_params(POINTS, route="direct", max_points="50")
    response, body = call(Api(services), "GET", "/api/timeseries", params)
    assert response.status == 413 and body["error"]["code"] == "too_large"


def test_a_shaped_cache_hit_returns_the_same_samples_as_shaping_the_raw_answer(api, deferred):
    from services.series import PointSeries
    from services.shaping import Shaping

    params = series_params(POINTS, route="cached")
    _, raw = call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    response, shaped = call(api, "GET", "/api/timeseries", dict(params, max_points="40"))
    assert response.headers["x-cache-status"] == "hit"
    for name, entry in raw["data"].items():
        series = PointSeries([t for t, _ in entry["samples"]], [v for _, v in entry["samples"]])
        expected = Shaping(max_points=40).apply(series)
        assert shaped["data"][name]["samples"] == [list(pair) for pair in zip(expected.times, expected.values)]


def test_an_unsupported_format_is_refused_before_any_upstream_call(api, flightdeck):
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS), headers={"accept": "image/png"})
    assert response.status == 406 and body["error"]["code"] == "not_acceptable" and flightdeck.calls == []


def test_csv_rows_leave_a_failed_point_out_and_name_it_in_x_point_errors(api, flightdeck):
    import json

    # The batch call's 4 attempts fail; then the two points' calls alternate, and the first one's 4 fail.
    flightdeck.faults = [500] * 11
    params = series_params(POINTS[:2], end="2025-11-10T06:00:00Z", route="direct", format="csv")
    response, body = call(api, "GET", "/api/timeseries", params)
    errors = json.loads(response.headers["x-point-errors"])
    rows = body.decode().splitlines()[1:]
    assert list(errors) == [POINTS[0]] and rows and all(row.startswith(POINTS[1]) for row in rows)


def test_fetch_timeseries_keeps_the_original_call_shape(services):
    service = services.timeseries("good", services.client("good"))
    result = asyncio.run(service.fetch_timeseries(
        "demo-hq", [POINTS[0]], "2025-11-10T00:00:00Z", "2025-11-10T06:00:00Z", user_id="user-1"))
    samples = result.series[POINTS[0]]
    assert result.route == "direct"
    assert [list(pair) for pair in zip(samples.times, samples.values)] == truth(
        POINTS[0], parse_iso("2025-11-10"), parse_iso("2025-11-10T06:00"))


def test_fetch_timeseries_of_a_large_request_returns_its_job(services, queues):
    service = services.timeseries("good", services.client("good"))
    # 3 points over 335 days estimate 100,500 samples: above the cached route's 100,000
    ticket = asyncio.run(service.fetch_timeseries(
        "demo-hq", list(POINTS), "2024-12-01T00:00:00Z", "2025-11-01T00:00:00Z", user_id="user-1"))
    assert ticket.created and ticket.job["site"] == "demo-hq"
    assert len(queues[Priority.NORMAL].sent) == 1
