"""A client that disconnects mid-request cancels the Worker's upstream calls (request.signal)."""

import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest

from tests.e2e.conftest import TOKEN, UNLIMITED, Worker
from tests.servers import start_worker, wait_for

LATENCY_MS = 1500  # every FlightDeck call: the access check and catalog, then the data calls after them
LEFT_AFTER_S = 0.7  # the client goes while the first calls are in flight
AFTERMATH_S = 3 * LATENCY_MS / 1000  # long enough for the data calls to have been made, had they started


@pytest.fixture(scope="module")
def fresh_worker(simulator, tmp_path_factory):
    """A worker with nothing remembered, so a request's calls come in stages: access, then data."""
    server = start_worker(simulator.url, tmp_path_factory.mktemp("disconnect-state"), ratelimits=UNLIMITED)
    try:
        yield Worker(server.url, server)
    finally:
        server.stop()


def leave_mid_request(worker: Worker, params: dict) -> None:
    """Send a GET, then close the connection before the answer comes."""
    url = urlsplit(worker.url)
    with socket.create_connection((url.hostname, url.port)) as client:
        client.sendall(f"GET /api/timeseries?{urlencode(params)} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                       f"X-ACE-Token: {TOKEN['X-ACE-Token']}\r\n\r\n".encode())
        time.sleep(LEFT_AFTER_S)


def test_a_client_that_disconnects_stops_the_upstream_calls_not_yet_started(fresh_worker, simulator, hq_points):
    simulator.faults([], latency_ms=LATENCY_MS)
    params = {"site": "demo-hq", "points": hq_points[0], "start_time": "2025-05-01T00:00:00Z",
              "end_time": "2025-05-03T00:00:00Z", "route": "cached"}
    leave_mid_request(fresh_worker, params)
    closed = wait_for(lambda: [e for e in fresh_worker.events() if e.get("error") == "client_closed_request"])
    time.sleep(AFTERMATH_S)
    calls = simulator.api_calls()
    assert closed[0]["status"] == 499
    assert calls and not [call for call in calls if "timeseries" in call["path"]]


def test_a_client_that_waits_gets_the_same_request_answered(fresh_worker, simulator, hq_points):
    simulator.faults([], latency_ms=LATENCY_MS)
    params = {"site": "demo-hq", "points": hq_points[0], "start_time": "2025-05-01T00:00:00Z",
              "end_time": "2025-05-03T00:00:00Z", "route": "cached"}
    reply = fresh_worker.get("/api/timeseries", params)
    assert reply.status == 200 and reply.json()["data"][hq_points[0]]["count"] > 0
    assert [call for call in simulator.api_calls() if "timeseries" in call["path"]]
