"""HTTP behaviour: keep-alive, concurrency and streamed large bodies."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from conftest import Sim

AUTH = {"Authorization": "Bearer dev-token"}


def _connection(sim: Sim) -> http.client.HTTPConnection:
    split = urlsplit(sim.url)
    return http.client.HTTPConnection(split.hostname, split.port, timeout=30)


def test_http_keep_alive_serves_several_requests_on_one_connection(sim: Sim) -> None:
    conn = _connection(sim)
    try:
        for _ in range(3):
            conn.request("GET", "/api/sites/", headers=AUTH)
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["total"] == 3
    finally:
        conn.close()


def test_http_serves_six_requests_concurrently(sim: Sim) -> None:
    sim.call("PUT", "/_sim/faults", body={"latency_ms": 300}, token=None)
    started = time.perf_counter()
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: sim.get("/api/sites/").status, range(6)))
    assert statuses == [200] * 6 and time.perf_counter() - started < 1.2


def test_http_large_page_streams_as_valid_json(sim: Sim) -> None:
    conn = _connection(sim)
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
