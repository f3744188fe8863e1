"""GET /api/timeseries through the real worker in the local runtime, against the simulator."""

import pytest

from tests.e2e.conftest import UPSTREAM_TIMEOUT_S
from tests.servers import wait_for

SAT = "acme/demo-hq/ahu-1:supply-air-temp"
RAT = "acme/demo-hq/ahu-1:return-air-temp"
MODE = "acme/demo-hq/ahu-1:occupancy-mode"


def params(points, start, end, **extra):
    return {"site": "demo-hq", "points": ",".join(points), "start_time": start, "end_time": end, **extra}


def cache_rows(worker) -> int:
    return worker.get("/api/stats").json()["cache"]["totalObjects"]


def test_health_reads_r2_and_d1_without_a_token(worker):
    reply = worker.get("/api/health", headers=None)
    checks = reply.json()["checks"]
    assert reply.status == 200 and all(checks[name]["ok"] for name in ("r2", "d1"))


def test_deep_health_with_a_token_probes_flightdeck_r2_and_the_queue(worker):
    reply = worker.get("/api/health", {"deep": "1"})
    checks = reply.json()["checks"]
    assert reply.status == 200 and all(checks[name]["ok"] for name in ("r2", "d1", "queue", "flightdeck"))


def test_direct_route_equals_truth_and_writes_nothing(worker, simulator):
    before = cache_rows(worker)
    start, end = "2025-10-01T00:00:00Z", "2025-10-01T03:00:00Z"
    reply = worker.get("/api/timeseries", params([SAT, MODE], start, end))
    body = reply.json()
    assert reply.status == 200 and reply.headers["x-route-type"] == "direct"
    assert reply.headers["x-cache-status"] == "bypass" and "total;dur=" in reply.headers["server-timing"]
    for point in (SAT, MODE):
        assert body["data"][point]["samples"] == simulator.truth(point, start, end)
        assert body["data"][point]["count"] == len(body["data"][point]["samples"])
    assert simulator.api_calls() and cache_rows(worker) == before


def test_cached_second_request_is_a_hit_with_no_upstream_calls(worker, simulator):
    query = params([SAT, RAT], "2025-10-05T00:00:00Z", "2025-10-08T00:00:00Z", route="cached")
    first = worker.get("/api/timeseries", query)
    assert first.headers["x-cache-status"] == "miss"
    wait_for(lambda: worker.get("/api/timeseries", query).headers["x-cache-status"] == "hit")
    simulator.reset()
    second = worker.get("/api/timeseries", query)
    assert second.headers["x-cache-status"] == "hit" and simulator.api_calls() == []
    assert second.json()["data"] == first.json()["data"]
    for point in (SAT, RAT):
        assert first.json()["data"][point]["samples"] == simulator.truth(point, query["start_time"], query["end_time"])


def test_overlapping_later_range_is_partial_and_fetches_only_the_missing_span(worker, simulator):
    first = params([SAT, RAT], "2025-10-10T00:00:00Z", "2025-10-12T00:00:00Z", route="cached")
    worker.get("/api/timeseries", first)
    wait_for(lambda: worker.get("/api/timeseries", first).headers["x-cache-status"] == "hit")
    simulator.reset()
    later = params([SAT, RAT], "2025-10-11T00:00:00Z", "2025-10-14T00:00:00Z", route="cached")
    reply = worker.get("/api/timeseries", later)
    assert reply.headers["x-cache-status"] == "partial"
    calls = simulator.api_calls()
    assert calls and all(c["start_time"] >= "2025-10-12T00:00:00" for c in calls)
    for point in (SAT, RAT):
        assert reply.json()["data"][point]["samples"] == simulator.truth(point, later["start_time"], later["end_time"])


def test_the_newest_window_is_not_frozen(worker, simulator):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    query = params([SAT, RAT], (now - timedelta(hours=20)).isoformat(), now.isoformat(), route="cached")
    worker.get("/api/timeseries", query)
    wait_for(lambda: worker.get("/api/timeseries", query).headers["x-cache-status"] in ("hit", "partial"))
    simulator.reset()
    later = dict(query, end_time=(now + timedelta(seconds=1)).isoformat())
    reply = worker.get("/api/timeseries", later)
    assert reply.headers["x-cache-status"] == "partial"
    recent = (now - timedelta(minutes=11)).isoformat()[:19]
    assert simulator.api_calls() and all(c["start_time"] >= recent for c in simulator.api_calls())


def test_missing_token_is_401(worker):
    reply = worker.get("/api/timeseries", params([SAT], "2025-10-01T00:00:00Z", "2025-10-01T01:00:00Z"), headers=None)
    assert reply.status == 401 and reply.json()["error"]["code"] == "unauthorized"


def test_bearer_authorization_header_is_accepted(worker):
    reply = worker.get("/api/timeseries", params([SAT], "2025-10-01T00:00:00Z", "2025-10-01T01:00:00Z"),
                       headers={"Authorization": "Bearer dev-token"})
    assert reply.status == 200


def test_a_token_without_access_gets_403_even_for_cached_data(worker):
    query = params([SAT, RAT], "2025-10-20T00:00:00Z", "2025-10-23T00:00:00Z", route="cached")
    worker.get("/api/timeseries", query)
    wait_for(lambda: worker.get("/api/timeseries", query).headers["x-cache-status"] == "hit")
    reply = worker.get("/api/timeseries", query, headers={"X-ACE-Token": "limited-token"})
    assert reply.status == 403 and reply.json()["error"]["code"] == "forbidden"


def test_upstream_500_then_200_is_retried(worker, simulator):
    simulator.faults([{"path_contains": "/timeseries", "status": 500, "times": 1}])
    reply = worker.get("/api/timeseries", params([SAT], "2025-09-01T00:00:00Z", "2025-09-01T02:00:00Z"))
    assert reply.status == 200 and reply.json()["data"][SAT]["count"] > 0
    assert [c["status"] for c in simulator.api_calls()] == [500, 200]


def test_upstream_always_500_gives_502(worker, simulator):
    simulator.faults([{"path_contains": "/timeseries", "status": 500}])
    reply = worker.get("/api/timeseries", params([SAT], "2025-09-02T00:00:00Z", "2025-09-02T02:00:00Z"))
    assert reply.status == 502 and reply.json()["error"]["code"] == "upstream_error"


def test_slow_upstream_gives_504(worker, simulator):
    simulator.faults([{"path_contains": "/timeseries", "delay_ms": (UPSTREAM_TIMEOUT_S + 2) * 1000}])
    reply = worker.get("/api/timeseries", params([SAT], "2025-09-03T00:00:00Z", "2025-09-03T02:00:00Z"))
    assert reply.status == 504 and "did not answer within" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"site": ""}, "site"), ({"points": ""}, "points"), ({"start_time": "soon"}, "start_time"),
     ({"end_time": "2025-09-30T00:00:00Z"}, "end_time"), ({"route": "teleport"}, "route"),
     ({"end_time": "2027-12-01T00:00:00Z"}, "end_time")],
    ids=["no-site", "no-points", "bad-time", "end-before-start", "unknown-route", "range-too-long"],
)
def test_bad_input_is_400_naming_the_field(worker, change, field):
    query = {**params([SAT], "2025-10-01T00:00:00Z", "2025-10-01T01:00:00Z"), **change}
    reply = worker.get("/api/timeseries", query)
    assert reply.status == 400 and reply.json()["error"]["field"] == field


def test_cors_preflight_allows_get_and_delete_with_the_token_header(worker):
    reply = worker.options("/api/jobs/x", {"Origin": "https://app.buildingvitals.example",
                                           "Access-Control-Request-Method": "DELETE",
                                           "Access-Control-Request-Headers": "X-ACE-Token"})
    assert reply.status == 204
    assert "DELETE" in reply.headers["access-control-allow-methods"]
    assert "X-ACE-Token" in reply.headers["access-control-allow-headers"]
    assert reply.headers["access-control-allow-origin"] == "https://app.buildingvitals.example"


def test_unknown_path_is_a_json_404(worker):
    reply = worker.get("/api/nothing-here")
    assert reply.status == 404 and reply.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("route", ["direct", "cached", "queued"])
def test_limited_token_gets_no_demo_hq_sample_through_demo_lab(worker, route):
    query = {**params([SAT], "2025-10-02T00:00:00Z", "2025-10-03T00:00:00Z", route=route), "site": "demo-lab"}
    worker.get("/api/timeseries", query)  # dev-token may read both sites: its answer must not be cached for SAT
    reply = worker.get("/api/timeseries", query, headers={"X-ACE-Token": "limited-token"})
    assert reply.status == 200, reply.json()
    entry = reply.json()["data"][SAT]
    assert entry["count"] == 0 and "not a point of site" in entry["error"]
