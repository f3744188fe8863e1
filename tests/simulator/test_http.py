"""HTTP behaviour: keep-alive, concurrency and streamed large bodies."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from tests.simulator.simclient import Sim, connect

AUTH = {"Authorization": "Bearer dev-token"}


def test_http_keep_alive_serves_several_requests_on_one_connection(sim: Sim) -> None:
    conn = connect(sim.url)
    try:
        for _ in range(3):
            conn.request("GET", "/api/sites/", headers=AUTH)
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["total"] == 4
    finally:
        conn.close()


def test_http_serves_six_requests_concurrently(sim: Sim) -> None:
    sim.control("PUT", "faults", {"latency_ms": 300})
    started = time.perf_counter()
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: sim.get("/api/sites/").status, range(6)))
    assert statuses == [200] * 6 and time.perf_counter() - started < 1.2


def test_http_large_page_streams_as_valid_json(sim: Sim) -> None:
    conn = connect(sim.url)
    try:
        query = "start_time=2026-03-02&end_time=2026-03-03&raw_data=true&page_size=50000"
        conn.request("GET", f"/api/sites/demo-hq/timeseries/paginated?{query}", headers=AUTH)
        resp = conn.getresponse()
        assert resp.getheader("Transfer-Encoding") == "chunked"
        body = json.loads(resp.read())
        assert len(body["point_samples"]) == 50000 and body["has_more"]
        conn.request("GET", "/api/sites/", headers=AUTH)
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_http_responses_are_json(sim: Sim) -> None:
    for path in ("/api/sites/", "/api/nothing", "/_sim/health"):
        assert sim.get(path).headers["Content-Type"] == "application/json"


def test_http_connection_close_still_gets_the_whole_streamed_body(sim: Sim) -> None:
    params = {"start_time": "2026-03-02", "end_time": "2026-03-03", "raw_data": "true", "page_size": 50000}
    resp = sim.call("GET", "/api/sites/demo-hq/timeseries/paginated", params, headers={"Connection": "close"})
    assert len(resp.json()["point_samples"]) == 50000


def test_http_log_entry_exists_when_the_reply_is_complete(sim: Sim) -> None:
    for _ in range(20):
        sim.get("/api/sites/")
    assert len(sim.control("GET", "log").json()) == 20
