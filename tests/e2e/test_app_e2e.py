"""The Building Vitals app's own requests, replayed byte for byte against the worker, parsed as the app
parses them, and compared with the simulator's data (the source of truth)."""

import time
from collections import defaultdict
from urllib.parse import quote, urlencode

from services.series import parse_value
from services.timerange import parse_iso, to_iso
from simulator import catalog
from tests.servers import request, wait_for

APP_ORIGIN = "https://building-vitals.web.app"
APP_HEADERS = {"X-ACE-Token": "dev-token", "Accept": "application/json"}
TOWER = [p.name for p in catalog.site_points("demo-tower")][:100]
START_MS = parse_iso("2025-10-12T15:37:41.603Z")
DAY_MS = 86_400_000
HQ = ["acme/demo-hq/ahu-1:supply-air-temp", "acme/demo-hq/meter.main/kW", "acme/demo-hq/ahu-1:occupancy-mode"]


def app_query(worker, points, start_ms, end_ms, **extra):
    """`queryWorkerService`: site from the first point's second segment, one comma-joined list, epoch ms."""
    params = {"site_name": points[0].split("/")[1], "point_names": ",".join(points),
              "start_time": str(start_ms), "end_time": str(end_ms), **extra}
    return request("GET", f"{worker.url}/timeseries/query?{urlencode(params)}", APP_HEADERS)


def by_point(body) -> dict[str, list]:
    """How the app reads `data.samples`: grouped by point_name, [timestamp, value] in order."""
    grouped = defaultdict(list)
    for sample in body["samples"]:
        grouped[sample["point_name"]].append([sample["timestamp"], sample["value"]])
    return dict(grouped)


def flightdeck_samples(simulator, points, start_ms, end_ms) -> dict[str, list]:
    """The simulator's own samples of the points (one batch call), as [epoch_ms, number-or-text]."""
    query = urlencode({"start_time": to_iso(start_ms), "end_time": to_iso(end_ms)})
    reply = request("POST", f"{simulator.url}/api/points/get_timeseries?{query}",
                    {"authorization": "Bearer dev-token"}, {"points": [{"name": name} for name in points]})
    grouped = defaultdict(list)
    for sample in reply.json()["point_samples"]:
        grouped[sample["name"]].append([parse_iso(sample["time"]), parse_value(sample["value"])])
    return dict(grouped)


def walk(base_url, path, params) -> tuple[list[dict], int]:
    """`paginatedTimeseriesService`: loop while has_more, passing next_cursor back."""
    samples, pages, cursor = [], 0, None
    while True:
        query = urlencode({**params, **({"cursor": cursor} if cursor else {})})
        reply = request("GET", f"{base_url}{path}?{query}", {**APP_HEADERS, "authorization": "Bearer dev-token"})
        assert reply.status == 200, reply.body[:300]
        body = reply.json()
        samples += body["point_samples"]
        pages += 1
        if not body["has_more"]:
            return samples, pages
        cursor = body["next_cursor"]


def comparable(samples: list[dict]) -> list[tuple]:
    """FlightDeck's strings compared as the numbers they hold ("180.10" and "180.1" are one value)."""
    return [(s["name"], s["time"], parse_value(s["value"])) for s in samples]


def test_app_query_of_100_long_points_in_epoch_ms_returns_the_simulators_samples(worker, simulator):
    end_ms = START_MS + DAY_MS
    reply = app_query(worker, TOWER, START_MS, end_ms)
    body = reply.json()
    assert reply.status == 200 and len(reply.body) > 0
    assert body["site_name"] == "demo-tower" and len(body["point_names"]) == 100
    assert by_point(body) == flightdeck_samples(simulator, TOWER, START_MS, end_ms)
    meta = body["metadata"]
    assert meta["sample_count"] == len(body["samples"]) == meta["total_samples"] and meta["cache_hit"] is False
    assert reply.headers["x-cache-hit"] == "false" and int(reply.headers["x-query-time-ms"]) >= 0


def test_app_query_repeated_is_a_cache_hit_with_no_upstream_call(worker, simulator):
    start_ms = START_MS - 3 * DAY_MS
    first = app_query(worker, TOWER, start_ms, start_ms + DAY_MS).json()
    wait_for(lambda: app_query(worker, TOWER, start_ms, start_ms + DAY_MS).json()["metadata"]["cache_hit"])
    simulator.reset()
    again = app_query(worker, TOWER, start_ms, start_ms + DAY_MS)
    assert again.headers["x-cache-hit"] == "true" and simulator.api_calls() == []
    assert again.json()["metadata"]["source"] == "cache" and again.json()["samples"] == first["samples"]


def test_app_query_hourly_interval_averages_each_utc_hour(worker, simulator):
    point = "acme/demo-hq/ahu-1:supply-air-temp"
    start_ms = parse_iso("2025-10-01T00:00:00Z")
    body = app_query(worker, [point], start_ms, start_ms + 6 * 3_600_000, interval="1hr").json()
    truth = flightdeck_samples(simulator, [point], start_ms, start_ms + 3_600_000)[point]
    assert [s["timestamp"] for s in body["samples"]] == [start_ms + h * 3_600_000 for h in range(6)]
    assert abs(body["samples"][0]["value"] - sum(v for _, v in truth) / len(truth)) < 1e-9


def test_app_query_of_a_year_of_100_points_is_a_clear_413_never_202(worker):
    now_ms = int(time.time() * 1000)
    reply = app_query(worker, TOWER, now_ms - 365 * DAY_MS, now_ms)
    body = reply.json()
    assert reply.status == 413 and set(body) == {"error", "error_code", "query_time_ms"}
    assert "interval" in body["error"] and "route=queued" in body["error"]


def test_app_query_errors_have_the_apps_shape(worker):
    reply = app_query(worker, HQ, START_MS, START_MS + 30_000)
    assert reply.status == 400 and reply.json()["error_code"] == "bad_request"


def test_app_paginated_walk_with_point_names_matches_flightdecks_order(worker, simulator):
    params = {"start_time": "2025-10-12T15:37:41.603Z", "end_time": "2025-10-13T03:00:00.000Z",
              "raw_data": "true", "page_size": "1000", "point_names": ",".join(HQ)}
    ours, pages = walk(worker.url, "/api/sites/demo-hq/timeseries/paginated", params)
    theirs, _ = walk(simulator.url, "/api/sites/demo-hq/timeseries/paginated",
                     {k: v for k, v in params.items() if k != "point_names"} | {"page_size": "100000"})
    assert pages > 1 and comparable(ours) == comparable([s for s in theirs if s["name"] in HQ])
    assert all(isinstance(s["value"], str) for s in ours)


def test_app_paginated_without_point_names_is_every_point_of_the_site(worker, simulator):
    params = {"start_time": "2025-10-14T10:00:00Z", "end_time": "2025-10-14T12:00:00Z", "page_size": "500"}
    ours, _ = walk(worker.url, "/api/sites/demo-plant/timeseries/paginated", params)
    theirs, _ = walk(simulator.url, "/api/sites/demo-plant/timeseries/paginated", {**params, "raw_data": "true"})
    assert comparable(ours) == comparable(theirs) and len({s["name"] for s in ours}) > 15


def test_app_paginated_empty_period_is_404_like_flightdeck(worker):
    params = urlencode({"start_time": "2024-06-01T00:00:00Z", "end_time": "2024-06-02T00:00:00Z"})
    reply = request("GET", f"{worker.url}/api/sites/demo-plant/timeseries/paginated?{params}", APP_HEADERS)
    assert reply.status == 404


def test_app_sites_and_configured_points_are_flightdecks_answers_for_the_callers_token(worker, simulator):
    ours = request("GET", f"{worker.url}/api/sites", APP_HEADERS).json()
    theirs = request("GET", f"{simulator.url}/api/sites/", {"authorization": "Bearer dev-token"}).json()
    limited = request("GET", f"{worker.url}/api/sites", {"X-ACE-Token": "limited-token"}).json()
    assert ours == theirs and [s["name"] for s in limited["items"]] == ["demo-lab"]
    path = f"/api/sites/{quote('demo-hq')}/configured_points?per_page=10000"
    configured = request("GET", worker.url + path, APP_HEADERS).json()
    assert configured == request("GET", simulator.url + path, {"authorization": "Bearer dev-token"}).json()


def test_app_configured_points_of_another_sites_token_is_403(worker):
    reply = request("GET", f"{worker.url}/api/sites/demo-hq/configured_points", {"X-ACE-Token": "limited-token"})
    assert reply.status == 403


def test_app_preflight_from_the_apps_origin_allows_its_token_header(worker):
    reply = worker.options("/timeseries/query", {"Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET",
                                                 "Access-Control-Request-Headers": "x-ace-token"})
    assert reply.status == 204 and reply.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-ace-token" in reply.headers["access-control-allow-headers"].lower()


def test_app_query_from_the_apps_origin_exposes_its_headers(worker):
    reply = request("GET", f"{worker.url}/timeseries/query?" + urlencode({
        "site_name": "demo-hq", "point_names": HQ[0], "start_time": str(START_MS),
        "end_time": str(START_MS + 3_600_000)}), {**APP_HEADERS, "Origin": APP_ORIGIN})
    exposed = reply.headers["access-control-expose-headers"]
    assert reply.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "X-Cache-Hit" in exposed and "X-Query-Time-Ms" in exposed


def test_app_health_answers_healthy_without_a_token(worker):
    reply = request("GET", f"{worker.url}/health")
    assert (reply.status, reply.json()) == (200, {"status": "healthy"})


def test_app_requests_show_in_stats_as_query_and_paginated(worker):
    app_query(worker, HQ, START_MS, START_MS + 3_600_000)
    walk(worker.url, "/api/sites/demo-hq/timeseries/paginated",
         {"start_time": "2025-10-12T00:00:00Z", "end_time": "2025-10-12T01:00:00Z", "point_names": HQ[0]})
    assert wait_for(lambda: {row["route_type"] for row in worker.get("/api/stats").json()["requests"]}
                    >= {"query", "paginated"})


def test_app_query_of_another_sites_points_is_403_in_the_apps_shape(worker):
    params = {"site_name": "demo-hq", "point_names": ",".join(HQ), "start_time": str(START_MS),
              "end_time": str(START_MS + 3_600_000)}
    reply = request("GET", f"{worker.url}/timeseries/query?{urlencode(params)}", {"X-ACE-Token": "limited-token"})
    assert reply.status == 403 and reply.json()["error_code"] == "forbidden"


def test_app_paginated_of_another_site_is_403(worker):
    params = urlencode({"start_time": "2025-10-12T00:00:00Z", "end_time": "2025-10-12T01:00:00Z"})
    reply = request("GET", f"{worker.url}/api/sites/demo-hq/timeseries/paginated?{params}",
                    {"X-ACE-Token": "limited-token"})
    assert reply.status == 403
