"""The direct and cached routes, in-process on SQLite, a dict R2 and a fake FlightDeck."""

import asyncio
import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest

try:
    from compression import zstd
except ImportError:  # CPython before 3.14
    from backports import zstd

from services.access import token_hash
from services.api import Api
from services.cache import points_hash
from services.codec import decode
from services.ports import ApiRequest
from services.query import Priority
from services.series import PointSeries
from services.timerange import Span, db_time, parse_iso
from tests.fakeflightdeck import CATALOG, LAB_POINTS, POINTS, respond, truth
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
    assert meta["codec"] == "zstd" and meta["points"] == "1" and int(meta["samples"]) == 3 * 288
    # The object is b"BVTS", format 3, a 4-byte label "zstd", then the zstd frame of the columns.
    assert stored.body[:10] == b"BVTS\x03\x04zstd"
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


def test_the_newest_window_is_never_stored_as_settled(api, deferred, clock, store):
    params = series_params(POINTS, start="2025-11-24T00:00:00Z", end="2025-11-24T16:00:00Z", route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    settled = clock.now_ms - 600_000
    assert len(store.objects) == 3
    for obj in store.objects.values():
        assert json.loads(obj.metadata["covered"])[-1][1] == settled
        assert json.loads(obj.metadata["recent"]) == [[settled, parse_iso("2025-11-24T16:00")]]


def test_a_repeat_of_a_request_ending_now_is_a_hit_while_the_tail_lasts(api, deferred, clock, flightdeck):
    params = series_params(POINTS, start="2025-11-24T00:00:00Z", end="2025-11-24T16:00:00Z", route="cached")
    _, first = call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    flightdeck.calls.clear()
    clock.now_ms += 299_000
    response, second = call(api, "GET", "/api/timeseries", params)
    assert response.headers["x-cache-status"] == "hit" and flightdeck.calls == []
    assert second["data"] == first["data"]


def test_a_later_end_within_the_tail_ttl_fetches_only_what_follows_the_tail(api, deferred, clock, flightdeck):
    end = parse_iso("2025-11-24T16:00")
    call(api, "GET", "/api/timeseries", series_params(POINTS, start="2025-11-24T00:00:00Z",
                                                      end="2025-11-24T15:55:00Z", route="cached"))
    drain(deferred)
    flightdeck.calls.clear()
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS, start="2025-11-24T00:00:00Z",
                                                                       end="2025-11-24T16:00:00Z", route="cached"))
    assert response.headers["x-cache-status"] == "partial"
    assert [(s, e) for _, s, e in flightdeck.calls] == [(end - 300_000, end)]
    assert body["data"][POINTS[0]]["samples"] == truth(POINTS[0], parse_iso("2025-11-24"), end)


def test_an_expired_tail_is_fetched_again_from_the_settled_end(api, deferred, clock, flightdeck):
    params = series_params(POINTS, start="2025-11-24T00:00:00Z", end="2025-11-24T16:00:00Z", route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    settled = clock.now_ms - 600_000
    flightdeck.calls.clear()
    clock.now_ms += 300_000
    response, _ = call(api, "GET", "/api/timeseries", params)
    assert response.headers["x-cache-status"] == "partial"
    assert [(s, e) for _, s, e in flightdeck.calls] == [(settled, parse_iso("2025-11-24T16:00"))]


def test_a_new_point_set_fetches_only_the_points_not_cached(api, deferred, flightdeck):
    call(api, "GET", "/api/timeseries", series_params(POINTS[:2], route="cached"))
    drain(deferred)
    flightdeck.calls.clear()
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS[1:], route="cached"))
    assert response.headers["x-cache-status"] == "partial"
    assert [names for names, _, _ in flightdeck.calls] == [POINTS[2]]
    for point in POINTS[1:]:
        assert body["data"][point]["samples"] == truth(point, parse_iso("2025-11-10"), parse_iso("2025-11-13"))
    drain(deferred)
    repeat, _ = call(api, "GET", "/api/timeseries", series_params(POINTS[1:], route="cached"))
    assert repeat.headers["x-cache-status"] == "hit" and len(flightdeck.calls) == 1


def test_points_missing_the_same_spans_share_one_batched_call(api, deferred, flightdeck):
    call(api, "GET", "/api/timeseries", series_params(POINTS[:1], route="cached"))
    drain(deferred)
    flightdeck.calls.clear()
    call(api, "GET", "/api/timeseries", series_params(POINTS, start="2025-11-09T00:00:00Z", route="cached"))
    assert sorted(flightdeck.calls) == sorted([
        (POINTS[0], parse_iso("2025-11-09"), parse_iso("2025-11-10")),
        (",".join(POINTS[1:]), parse_iso("2025-11-09"), parse_iso("2025-11-13"))])


def test_a_request_across_a_month_end_reads_one_object_per_point_and_month(api, deferred, store):
    params = series_params(POINTS[:1], start="2025-10-30T00:00:00Z", end="2025-11-02T00:00:00Z", route="cached")
    _, first = call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    assert sorted(key.split("/")[1] for key in store.objects) == ["2025-10", "2025-11"]
    response, second = call(api, "GET", "/api/timeseries", params)
    assert response.headers["x-cache-status"] == "hit" and second["data"] == first["data"]
    assert first["data"][POINTS[0]]["samples"] == truth(POINTS[0], parse_iso("2025-10-30"), parse_iso("2025-11-02"))


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

    query = SeriesQuery("demo-hq", POINTS, Span(parse_iso("2025-11-10"), parse_iso("2025-11-12")), Route.CACHED)

    async def many():
        svc = [services.timeseries("good", services.client("good")) for _ in range(5)]
        return await asyncio.gather(*(s.serve(query, request_id="r") for s in svc))

    results = asyncio.run(many())
    assert len(flightdeck.calls) == 1
    assert all(r.series == results[0].series for r in results)


def test_deferred_writes_grow_the_month_object_as_stored_not_as_the_request_read_it(api, deferred, flightdeck):
    # A request keeps only its span of a month object; its deferred write reads the whole object again.
    first = series_params(POINTS, start="2025-11-10T00:00:00Z", end="2025-11-11T00:00:00Z", route="cached")
    second = series_params(POINTS, start="2025-11-11T00:00:00Z", end="2025-11-12T00:00:00Z", route="cached")
    call(api, "GET", "/api/timeseries", first)
    call(api, "GET", "/api/timeseries", second)
    drain(deferred)
    flightdeck.calls.clear()
    both = series_params(POINTS, start="2025-11-10T00:00:00Z", end="2025-11-12T00:00:00Z", route="cached")
    response, body = call(api, "GET", "/api/timeseries", both)
    assert response.headers["x-cache-status"] == "hit" and flightdeck.calls == []
    assert body["data"][POINTS[0]]["samples"] == truth(POINTS[0], parse_iso("2025-11-10"), parse_iso("2025-11-12"))


def test_invalidate_drops_the_months_a_span_touches_and_their_rows(api, deferred, store, db):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    response, body = call(api, "DELETE", "/api/cache", {"site": "demo-hq", "start_time": "2025-10-01T00:00:00Z",
                                                        "end_time": "2025-10-02T00:00:00Z"})
    assert (response.status, body["deleted"], len(store.objects)) == (200, 0, 3)
    response, body = call(api, "DELETE", "/api/cache", {"site": "demo-hq", "start_time": "2025-11-11T00:00:00Z",
                                                        "end_time": "2025-11-12T00:00:00Z"})
    assert response.status == 200 and body["deleted"] == 3
    assert store.objects == {} and asyncio.run(db.all("SELECT * FROM cache_metadata")) == []


def test_invalidate_with_points_drops_only_those_points(api, deferred, store, flightdeck):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    response, body = call(api, "DELETE", "/api/cache", {"site": "demo-hq", "points": POINTS[0]})
    assert response.status == 200 and body["deleted"] == 1 and len(store.objects) == 2
    flightdeck.calls.clear()
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    assert [names for names, _, _ in flightdeck.calls] == [POINTS[0]]


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

    # The batch call fails, then the first point's own calls; the second point's call succeeds.
    flightdeck.broken = {POINTS[0]}
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


HQ_POINT = POINTS[0]


@pytest.mark.parametrize("route", ["direct", "cached", "queued"])
def test_a_point_of_another_site_is_a_per_point_error_never_fetched_or_stored(api, transport, store, queues,
                                                                             route):
    params = {**series_params([HQ_POINT, LAB_POINTS[0]], route=route), "site": "demo-lab"}
    response, body = call(api, "GET", "/api/timeseries", params, token="limited")
    assert response.status in (200, 202)
    assert not any(("ahu-1%3Asat" in r.url and "demo-hq" in r.url) or HQ_POINT.encode() in (r.body or b"")
                   for r in transport.requests)
    assert all(HQ_POINT not in message["points"] for queue in queues.values() for message in queue.sent)
    assert all(HQ_POINT not in decode(stored.body) for stored in store.objects.values())
    if response.status == 200:
        assert body["data"][HQ_POINT]["samples"] == [] and "not a point of site" in body["data"][HQ_POINT]["error"]


def test_a_limited_token_never_reads_another_sites_data_cached_under_its_own_site(api, deferred):
    params = {**series_params([HQ_POINT], route="cached"), "site": "demo-lab"}
    call(api, "GET", "/api/timeseries", params, token="good")
    drain(deferred)
    response, body = call(api, "GET", "/api/timeseries", params, token="limited")
    assert response.status == 200 and body["data"][HQ_POINT]["count"] == 0
    assert body["_meta"]["cacheStatus"] != "hit"


def test_the_direct_route_checks_site_access_before_any_data_call(api, transport):
    response, body = call(api, "GET", "/api/timeseries", series_params([HQ_POINT], end="2025-11-10T01:00:00Z"),
                          token="limited")
    assert (response.status, body["error"]["code"]) == (403, "forbidden")
    assert not any("/timeseries" in r.url for r in transport.requests)


def test_a_site_point_list_is_remembered_and_not_asked_again(api, transport):
    params = series_params([HQ_POINT], end="2025-11-10T01:00:00Z")
    call(api, "GET", "/api/timeseries", params)
    asked = sum("/sites/demo-hq/points" in r.url and "per_page=10000" in r.url for r in transport.requests)
    call(api, "GET", "/api/timeseries", params)
    assert asked == 1 and sum("per_page=10000" in r.url for r in transport.requests) == 1


def test_a_site_point_list_is_asked_again_once_it_expires(api, transport, clock, services):
    params = series_params([HQ_POINT], end="2025-11-10T01:00:00Z")
    call(api, "GET", "/api/timeseries", params)
    clock.now_ms += services.settings.catalog_ttl_seconds * 1000 + 1
    call(api, "GET", "/api/timeseries", params)
    assert sum("per_page=10000" in r.url for r in transport.requests) == 2


def test_a_forced_route_that_cannot_fit_is_413_before_any_upstream_data_call(api, flightdeck):
    points = flightdeck.site_points["demo-hq"] = CATALOG["demo-hq"][:20]  # ≥ 576,000 samples in 100 days
    params = series_params(points, start="2025-08-01T00:00:00Z", end="2025-11-09T00:00:00Z", route="direct")
    response, body = call(api, "GET", "/api/timeseries", params)
    assert (response.status, body["error"]["code"]) == (413, "too_large") and flightdeck.calls == []


def warm_up(api):
    """One small request, so the access answer and the site's point list are remembered."""
    call(api, "GET", "/api/timeseries", series_params([HQ_POINT], end="2025-11-10T01:00:00Z"))


def test_a_transient_404_on_data_is_not_stored_and_the_next_request_fetches_again(api, flightdeck, deferred, store):
    warm_up(api)
    flightdeck.faults = [404]
    params = series_params([HQ_POINT], start="2025-11-10T00:00:00Z", end="2025-11-11T00:00:00Z", route="cached")
    first, body = call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    assert first.status == 200 and body["data"][HQ_POINT]["count"] == 0 and store.objects == {}
    second, body = call(api, "GET", "/api/timeseries", params)
    assert second.headers["x-cache-status"] == "miss" and body["data"][HQ_POINT]["count"] == 288


def test_a_point_with_no_samples_beside_others_lives_only_the_short_ttl(api, flightdeck, deferred, db, clock):
    warm_up(api)
    flightdeck.empty = {POINTS[1]}
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    drain(deferred)
    row = asyncio.run(db.first("SELECT expires_at, samples_count FROM cache_metadata WHERE points_hash = ?",
                               (points_hash([POINTS[1]]),)))
    assert row["samples_count"] == 0
    assert row["expires_at"] == db_time(clock.now_ms + api.settings.recent_cache_ttl_seconds * 1000)


def test_an_empty_day_of_a_point_with_data_is_kept_only_the_short_ttl(api, flightdeck, deferred, clock):
    call(api, "GET", "/api/timeseries", series_params(POINTS[:2], end="2025-11-11T00:00:00Z", route="cached"))
    drain(deferred)
    flightdeck.empty = {POINTS[0]}
    params = series_params(POINTS[:2], end="2025-11-12T00:00:00Z", route="cached")
    call(api, "GET", "/api/timeseries", params)
    drain(deferred)
    flightdeck.calls.clear()
    within, _ = call(api, "GET", "/api/timeseries", params)
    clock.now_ms += 300_000
    after, _ = call(api, "GET", "/api/timeseries", params)
    assert (within.headers["x-cache-status"], after.headers["x-cache-status"]) == ("hit", "partial")
    assert flightdeck.calls == [(POINTS[0], parse_iso("2025-11-11"), parse_iso("2025-11-12"))]


def test_a_404_on_the_access_check_is_not_remembered_as_a_refusal(api, flightdeck, db):
    flightdeck.faults = [404]
    params = series_params([HQ_POINT], end="2025-11-10T01:00:00Z")
    first, _ = call(api, "GET", "/api/timeseries", params)
    second, _ = call(api, "GET", "/api/timeseries", params)
    assert first.status == 404 and second.status == 200


def test_a_404_on_the_site_point_list_is_not_remembered_as_an_empty_site(api, services, flightdeck, clock):
    asyncio.run(services.access.require(services.client("good"), token_hash("good"), "demo-hq"))
    clock.now_ms += services.settings.catalog_ttl_seconds * 1000 + 1
    flightdeck.faults = [404]  # the point list, asked again once expired, is the first call to reach FlightDeck
    params = series_params([HQ_POINT], end="2025-11-10T01:00:00Z")
    first, _ = call(api, "GET", "/api/timeseries", params)
    second, body = call(api, "GET", "/api/timeseries", params)
    assert first.status == 404 and second.status == 200 and body["data"][HQ_POINT]["error"] is None


class HangingFirstData:
    """The fake FlightDeck, except that the first data call hangs until cancelled."""

    def __init__(self, flightdeck):
        self.flightdeck = flightdeck
        self.hung = asyncio.Event()

    async def send(self, request, timeout):
        if "/timeseries" in request.url and not self.hung.is_set():
            self.hung.set()
            await asyncio.sleep(3600)
        return self.flightdeck(request)


def coalescing_api(services, transport, timeout_s=5.0):
    services.settings = replace(services.settings, upstream_timeout_seconds=timeout_s)
    services.platform = replace(services.platform, transport=transport)
    return Api(services)


def ask(api, token="good"):
    params = series_params([HQ_POINT], end="2025-11-11T00:00:00Z", route="cached")
    return api.handle(ApiRequest("GET", f"https://worker.test/api/timeseries?{urlencode(params)}",
                                 {"x-ace-token": token}))


def leader_and_follower(api):
    """Two identical requests, the second joining while the first is in flight."""

    async def both():
        leader = asyncio.ensure_future(ask(api))
        await asyncio.sleep(0.01)
        return await asyncio.gather(leader, ask(api))

    return asyncio.run(both())


def test_a_follower_of_a_hanging_leader_fetches_for_itself_after_the_upstream_timeout(api, services, flightdeck):
    warm_up(api)
    leader, follower = leader_and_follower(coalescing_api(services, HangingFirstData(flightdeck), timeout_s=0.2))
    assert leader.status == 504 and follower.status == 200
    assert json.loads(follower.body)["data"][HQ_POINT]["count"] == 288


def test_a_cancelled_leader_leaves_no_follower_hanging(api, services, flightdeck):
    warm_up(api)
    transport = HangingFirstData(flightdeck)
    hanging = coalescing_api(services, transport)

    async def cancel_the_leader():
        leader = asyncio.ensure_future(ask(hanging))
        await transport.hung.wait()
        follower = asyncio.ensure_future(ask(hanging))
        await asyncio.sleep(0.01)
        leader.cancel()
        return await asyncio.wait_for(follower, 2)

    assert asyncio.run(cancel_the_leader()).status == 200


def test_a_leaders_failure_does_not_fail_a_follower_whose_own_fetch_succeeds(api, services, flightdeck):
    warm_up(api)

    class FirstDataCallRefused:
        def __init__(self):
            self.refused = False

        async def send(self, request, timeout):
            if "/timeseries" in request.url and not self.refused:
                self.refused = True
                await asyncio.sleep(0.05)  # long enough for the follower to join
                return respond(401, {"message": "token revoked"})
            return flightdeck(request)

    leader, follower = leader_and_follower(coalescing_api(services, FirstDataCallRefused()))
    assert leader.status == 401 and follower.status == 200
