"""Fault injection through `/_sim/faults`: statuses, counts, latency and broken bodies."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.simulator.simclient import Response, Sim

SITES = "/api/sites/"
SERIES = "/api/sites/demo-hq/timeseries/paginated"


def _faults(sim: Sim, *rules: dict[str, Any], latency_ms: float = 0) -> Response:
    return sim.control("PUT", "faults", {"latency_ms": latency_ms, "rules": list(rules)})


def _statuses(sim: Sim, count: int, path: str = SITES) -> list[int]:
    return [sim.get(path).status for _ in range(count)]


def test_faults_500_then_200(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/sites/", "status": 500, "times": 1})
    assert _statuses(sim, 2) == [500, 200]


def test_faults_skip_lets_calls_pass_first(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/sites/", "status": 503, "skip": 2, "times": 2})
    assert _statuses(sim, 5) == [200, 200, 503, 503, 200]


def test_faults_times_null_fires_forever(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/sites/", "status": 500, "times": None})
    assert _statuses(sim, 3) == [500, 500, 500]


def test_faults_snapshot_counts_down(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/sites/", "status": 500, "skip": 1, "times": 3})
    _statuses(sim, 2)
    rule = sim.control("GET", "faults").json()["rules"][0]
    assert (rule["skip"], rule["times"]) == (0, 2)


def test_faults_429_carries_retry_after(sim: Sim) -> None:
    _faults(sim, {"path_contains": "timeseries", "status": 429, "times": 1, "retry_after": 2})
    resp = sim.get(SERIES, start_time="2026-03-02T12:00:00Z", end_time="2026-03-02T12:01:00Z")
    assert resp.status == 429 and resp.headers["Retry-After"] == "2"


def test_faults_match_path_and_method(sim: Sim) -> None:
    _faults(sim, {"path_contains": "get_timeseries", "method": "POST", "status": 500})
    assert sim.get(SITES).status == 200
    body = {"points": [{"name": "acme/demo-plant/meter.main/kW"}]}
    params = {"start_time": "2026-03-02T12:00:00Z", "end_time": "2026-03-02T12:01:00Z"}
    assert sim.call("POST", "/api/points/get_timeseries", params, body).status == 500


def test_faults_latency_applies_to_every_api_call(sim: Sim) -> None:
    _faults(sim, latency_ms=150)
    started = time.perf_counter()
    assert sim.get(SITES).status == 200
    assert time.perf_counter() - started >= 0.15


def test_faults_delay_ms_applies_to_matching_calls(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/demo-lab/", "delay_ms": 200})
    started = time.perf_counter()
    sim.get(SITES)
    fast = time.perf_counter() - started
    sim.get("/api/sites/demo-lab/points")
    assert fast < 0.15 and time.perf_counter() - started - fast >= 0.2


def test_faults_break_mid_body_small_reply(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/sites/", "break_mid_body": True, "times": 1})
    with pytest.raises(http.client.IncompleteRead):
        sim.get(SITES)
    assert sim.get(SITES).status == 200


def test_faults_break_mid_body_streamed_reply(sim: Sim) -> None:
    _faults(sim, {"path_contains": "paginated", "break_mid_body": True, "times": 1})
    with pytest.raises(http.client.IncompleteRead):
        sim.get(SERIES, start_time="2026-03-02", end_time="2026-03-03", raw_data="true", page_size=50000)


def test_faults_are_consumed_once_under_concurrency(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/sites/", "status": 500, "times": 3, "delay_ms": 50})
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: sim.get(SITES).status, range(6)))
    assert sorted(statuses) == [200, 200, 200, 500, 500, 500]


def test_faults_delete_clears(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/api/", "status": 500}, latency_ms=5)
    cleared = sim.control("DELETE", "faults").json()
    assert cleared == {"latency_ms": 0, "rules": []} and sim.get(SITES).status == 200


def test_faults_malformed_config_is_400(sim: Sim) -> None:
    assert _faults(sim, {"path_contains": "/api/", "statsu": 500}).status == 400
    assert _faults(sim, {"path_contains": "/api/", "times": "3"}).status == 400


def test_faults_never_touch_the_control_api(sim: Sim) -> None:
    _faults(sim, {"path_contains": "/", "status": 500})
    assert sim.control("GET", "health").json() == {"ok": True}
