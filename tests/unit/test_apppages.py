"""`GET /api/sites/{site}/timeseries/paginated`: FlightDeck's pages, built from the engine, with cursors."""

import asyncio

import pytest

from services.apppages import (
    MAX_FETCHES_PER_PAGE,
    PageQuery,
    build_page,
    days_per_fetch,
    decode_cursor,
    encode_cursor,
    merged,
)
from services.cache import CacheStatus
from services.errors import BadRequest
from services.series import PointSeries
from services.timerange import DAY_MS, Span, parse_iso, to_iso
from tests.fakeflightdeck import POINTS, truth, upstream_samples
from tests.unit.helpers import call

START = parse_iso("2025-11-10T00:00:00Z")
HOUR = 3_600_000
PATH = "/api/sites/demo-hq/timeseries/paginated"


def flightdeck_order(start: int, end: int, points=POINTS) -> list[dict]:
    """What FlightDeck itself would list: every sample, by time then name, values as its strings."""
    rows = sorted((t, name, value) for name in points for t, value in upstream_samples(name, start, end))
    return [{"name": name, "value": value, "time": to_iso(t)} for t, name, value in rows]


def walk(api, params: dict) -> tuple[list[dict], list[dict]]:
    samples, pages, cursor = [], [], None
    while True:
        response, body = call(api, "GET", PATH, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status == 200, body
        pages.append(body)
        samples += body["point_samples"]
        if not body["has_more"]:
            return samples, pages
        cursor = body["next_cursor"]


def test_paginated_walk_returns_every_point_of_the_site_in_flightdecks_order(api):
    end = START + 2 * DAY_MS
    samples, pages = walk(api, {"start_time": to_iso(START), "end_time": to_iso(end), "page_size": "1000"})
    assert samples == flightdeck_order(START, end)
    assert [len(p["point_samples"]) for p in pages[:-1]] == [1000] * (len(pages) - 1)
    assert pages[-1]["next_cursor"] is None


def test_paginated_point_names_filter_keeps_only_those_points(api):
    end = START + 6 * HOUR
    params = {"start_time": "2025-11-10T00:00:00.000Z", "end_time": to_iso(end), "page_size": "100",
              "point_names": ",".join(POINTS[1:])}
    samples, _ = walk(api, params)
    assert samples == flightdeck_order(START, end, POINTS[1:])


def test_paginated_cursors_are_stable_across_identical_walks(api):
    params = {"start_time": to_iso(START), "end_time": to_iso(START + DAY_MS), "page_size": "500"}
    _, first = walk(api, params)
    _, second = walk(api, params)
    assert [p["next_cursor"] for p in first] == [p["next_cursor"] for p in second]


def test_paginated_raw_data_false_gives_five_minute_bucket_averages(api):
    params = {"start_time": to_iso(START), "end_time": to_iso(START + HOUR), "raw_data": "false",
              "point_names": POINTS[0]}
    samples, _ = walk(api, params)
    assert [(s["time"], float(s["value"])) for s in samples] == [(to_iso(t), v) for t, v in
                                                                  truth(POINTS[0], START, START + HOUR)]


def test_paginated_cursor_from_another_request_is_400(api):
    params = {"start_time": to_iso(START), "end_time": to_iso(START + DAY_MS), "page_size": "100"}
    _, body = call(api, "GET", PATH, params)
    response, error = call(api, "GET", PATH, {**params, "end_time": to_iso(START + 2 * DAY_MS),
                                              "cursor": body["next_cursor"]})
    assert response.status == 400 and error["error"]["field"] == "cursor"


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WzEsIngiLDAsIiJd", "W10"])
def test_paginated_garbage_cursor_is_400(api, cursor):
    params = {"start_time": to_iso(START), "end_time": to_iso(START + HOUR), "cursor": cursor}
    response, body = call(api, "GET", PATH, params)
    assert response.status == 400 and body["error"]["field"] == "cursor"


def test_decode_cursor_refuses_a_non_canonical_encoding():
    query = PageQuery("demo-hq", Span(START, START + DAY_MS), True, 10, None)
    cursor = encode_cursor(query, (START + HOUR, "a"))
    assert decode_cursor(query, cursor) == (START + HOUR, "a")
    with pytest.raises(BadRequest):
        decode_cursor(query, cursor + "==")


def test_decode_cursor_refuses_a_position_outside_the_span():
    query = PageQuery("demo-hq", Span(START, START + DAY_MS), True, 10, None)
    with pytest.raises(BadRequest):
        decode_cursor(query, encode_cursor(query, (START + DAY_MS, "a")))


@pytest.mark.parametrize(("params", "field"), [
    ({"page_size": "7"}, "page_size"), ({"raw_data": "maybe"}, "raw_data"), ({"end_time": "2025-11-09T00:00:00Z"},
                                                                              "end_time"),
])
def test_paginated_bad_parameters_are_400(api, params, field):
    base = {"start_time": to_iso(START), "end_time": to_iso(START + HOUR)}
    response, body = call(api, "GET", PATH, {**base, **params})
    assert response.status == 400 and body["error"]["field"] == field


def test_paginated_empty_period_is_404_like_flightdeck(api):
    response, _ = call(api, "GET", PATH, {"start_time": "2020-01-01T00:00:00Z", "end_time": "2020-01-02T00:00:00Z"})
    assert response.status == 404


def test_build_page_stops_after_its_fetch_budget_with_a_cursor_where_it_stopped():
    asked: list[Span] = []

    async def fetch(span: Span):
        asked.append(span)
        return {}, CacheStatus.MISS

    query = PageQuery("s", Span(START, START + 10_000 * DAY_MS), True, 100, None)
    page = asyncio.run(build_page(query, fetch))
    assert len(asked) == MAX_FETCHES_PER_PAGE and page.items == []
    assert page.following == (START + MAX_FETCHES_PER_PAGE * DAY_MS, "")


def test_paginated_wide_empty_range_answers_an_empty_page_that_continues_not_a_long_walk(api, flightdeck):
    params = {"start_time": "1990-01-01T00:00:00Z", "end_time": to_iso(START + DAY_MS), "page_size": "100000"}
    response, body = call(api, "GET", PATH, params)
    assert response.status == 200 and body["point_samples"] == [] and body["has_more"] is True
    assert max(end for *_, end in flightdeck.calls) < parse_iso("1995-01-01T00:00:00Z")  # not all 35 years
    response, body = call(api, "GET", PATH, {**params, "cursor": body["next_cursor"]})
    assert response.status == 200 and body["has_more"] is True


def test_paginated_dot_site_is_400_not_an_upstream_path(api, flightdeck):
    response, _ = call(api, "GET", "/api/sites/%2E%2E/timeseries/paginated",
                       {"start_time": to_iso(START), "end_time": to_iso(START + HOUR)})
    assert response.status == 400 and flightdeck.calls == []


def test_merged_orders_by_time_then_name():
    series = {"b": PointSeries([1, 2], ["x", "y"]), "a": PointSeries([2, 3], [5, 6])}
    assert list(merged(series)) == [(1, "b", "x"), (2, "a", 5), (2, "b", "y"), (3, "a", 6)]


def test_build_page_reads_only_the_days_it_needs():
    asked: list[Span] = []

    async def fetch(span: Span):
        asked.append(span)
        return {"p": PointSeries(list(range(span.start_ms, span.end_ms, HOUR)), [1] * 24)}, CacheStatus.HIT

    query = PageQuery("s", Span(START, START + 10 * DAY_MS), True, 30, None)
    page = asyncio.run(build_page(query, fetch))
    assert len(page.items) == 30 and page.following == (START + DAY_MS + 6 * HOUR, "p")
    assert asked == [Span(START, START + DAY_MS), Span(START + DAY_MS, START + 2 * DAY_MS)]


def test_build_page_asks_several_days_at_once_when_a_page_holds_them():
    asked: list[Span] = []

    async def fetch(span: Span):
        asked.append(span)
        times = list(range(span.start_ms, span.end_ms, HOUR))
        return {"p": PointSeries(times, [1] * len(times))}, CacheStatus.MISS

    query = PageQuery("s", Span(START + HOUR, START + 10 * DAY_MS), True, 100, None)
    page = asyncio.run(build_page(query, fetch, days_per_fetch=4))
    assert asked == [Span(START + HOUR, START + 4 * DAY_MS), Span(START + 4 * DAY_MS, START + 8 * DAY_MS)]
    assert len(page.items) == 100 and page.following == (START + 4 * DAY_MS + 5 * HOUR, "p")


@pytest.mark.parametrize(("per_day", "page_size", "days"), [
    ({"a": 288, "b": 96}, 10_000, 26), ({"a": 288}, 100, 1), ({}, 500_000, 34),
])
def test_days_per_fetch_fills_a_page_at_the_points_density(per_day, page_size, days):
    assert days_per_fetch(("a", "b"), per_day, page_size) == days


@pytest.mark.parametrize("segment", ["demo%20hq", "x" * 129, "-lead"])
def test_paginated_site_is_validated_like_every_route(api, flightdeck, segment):
    response, body = call(api, "GET", f"/api/sites/{segment}/timeseries/paginated",
                          {"start_time": to_iso(START), "end_time": to_iso(START + HOUR)})
    assert (response.status, body["error"]["field"]) == (400, "site") and flightdeck.calls == []


def test_paginated_point_names_of_another_site_give_a_limited_token_no_data(api):
    response, body = call(api, "GET", "/api/sites/demo-lab/timeseries/paginated",
                          {"start_time": to_iso(START), "end_time": to_iso(START + HOUR),
                           "point_names": POINTS[0]}, token="limited")
    assert (response.status, body["error"]["message"]) == (404, "No data for time period")


def test_paginated_pages_after_the_first_take_the_sites_points_from_d1_not_flightdeck(api, transport):
    def point_lists() -> int:
        return sum(request.url.split("?")[0].endswith("/points") for request in transport.requests)

    params = {"start_time": to_iso(START), "end_time": to_iso(START + 2 * DAY_MS), "page_size": "1000"}
    response, body = call(api, "GET", PATH, params)
    assert response.status == 200 and body["has_more"] and point_lists() == 1
    response, _ = call(api, "GET", PATH, {**params, "cursor": body["next_cursor"]})
    assert response.status == 200 and point_lists() == 1


def test_paginated_site_the_token_may_not_read_is_403_and_then_asks_flightdeck_nothing(api, transport):
    params = {"start_time": to_iso(START), "end_time": to_iso(START + HOUR)}
    statuses = [call(api, "GET", PATH, params, token="limited")[0].status for _ in range(2)]
    assert statuses == [403, 403] and len(transport.requests) == 1
