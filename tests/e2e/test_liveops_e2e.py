"""Many users at once, through the real worker: rate limits, live job events (SSE), cache warming."""

import json
import time
import tomllib
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import TOKEN, UPSTREAM_TIMEOUT_S, Worker
from tests.leaks import cells_holding
from tests.servers import ROOT, d1_query, d1_tables, request, start_worker, wait_for

CRON = "/cdn-cgi/handler/scheduled?cron=*/15+*+*+*+*"
STREAM_TIMEOUT_S = 120
FRESHNESS_S = 600  # wrangler.toml's FRESHNESS_SECONDS


def wrangler_limit(name: str) -> int:
    config = tomllib.loads((ROOT / "wrangler.toml").read_text())
    return next(limit["simple"]["limit"] for limit in config["ratelimits"] if limit["name"] == name)


@pytest.fixture(scope="module")
def limited_worker(simulator, tmp_path_factory):
    """A worker with wrangler.toml's own rate limits (the session's worker has them raised)."""
    server = start_worker(simulator.url, tmp_path_factory.mktemp("limited-state"),
                          UPSTREAM_TIMEOUT_SECONDS=str(UPSTREAM_TIMEOUT_S))
    try:
        yield Worker(server.url, server)
    finally:
        server.stop()


def test_a_token_over_its_limit_gets_429_with_retry_after_while_another_token_is_served(limited_worker):
    runaway = {"X-ACE-Token": "runaway-script"}
    limit = wrangler_limit("RATE_LIMIT_TOKEN")
    for _ in range(2 * limit + 1):  # a fixed window may roll over once during the loop
        reply = limited_worker.get("/api/timeseries", {"site": "demo-hq"}, headers=runaway)
        if reply.status == 429:
            break
    assert reply.status == 429 and reply.headers["retry-after"] == "60"
    assert reply.json()["error"]["limit"] == "RATE_LIMIT_TOKEN"
    served = limited_worker.get("/api/timeseries", {
        "site": "demo-hq", "points": "acme/demo-hq/ahu-1:supply-air-temp",
        "start_time": "2025-11-10T00:00:00Z", "end_time": "2025-11-10T01:00:00Z"})
    assert served.status == 200
    # The runaway's cheap routes are limited apart: polling a job still answers (404: no such job).
    assert limited_worker.get("/api/jobs/0123456789abcdef0123456789abcdef", headers=runaway).status == 404


def read_events(url: str, headers: dict) -> list[tuple[float, str, dict]]:
    """Read a text/event-stream to its end: (arrival time, event, data) for each named event."""
    req = urllib.request.Request(url, headers=headers)
    out, name = [], None
    with urllib.request.urlopen(req, timeout=STREAM_TIMEOUT_S) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: ") and name:
                out.append((time.monotonic(), name, json.loads(line[len("data: "):])))
    return out


def test_job_events_rise_to_completed_while_the_job_runs(worker, simulator, hq_points):
    simulator.faults([], latency_ms=300)
    params = {"site": "demo-hq", "points": ",".join(hq_points[:150]), "start_time": "2025-04-01T00:00:00Z",
              "end_time": "2025-04-02T00:00:00Z", "route": "queued"}
    job_id = worker.get("/api/timeseries", params).json()["jobId"]
    events = read_events(f"{worker.url}/api/jobs/{job_id}/events", TOKEN)
    names = [name for _, name, _ in events]
    progress = [data["progress"] for _, _, data in events]
    assert names[-1] == "completed" and set(names[:-1]) == {"progress"}
    assert progress == sorted(progress) and any(0 < p < 100 for p in progress)
    assert events[-1][2]["resultUrl"] == f"/api/jobs/{job_id}/result"
    assert events[-1][0] - events[0][0] > 0.2  # streamed as the job ran, not at its end


def test_job_events_of_another_token_are_404(worker, hq_points):
    params = {"site": "demo-hq", "points": ",".join(hq_points[120:122]), "start_time": "2025-04-01T00:00:00Z",
              "end_time": "2025-04-02T00:00:00Z", "route": "queued"}
    job_id = worker.get("/api/timeseries", params).json()["jobId"]
    assert worker.get(f"/api/jobs/{job_id}/events", headers={"X-ACE-Token": "limited-token"}).status == 404


def demanded(state_dir, points: list[str]) -> bool:
    """Whether the worker has counted the demand for this point set (after its response)."""
    rows = d1_query(state_dir, "SELECT points FROM warming_demand")
    return json.dumps(sorted(points)) in [row["points"] for row in rows]


def cron_runs(worker: Worker) -> int:
    return len([e for e in worker.events() if e["event"] == "cron"])


def test_after_a_cron_run_yesterday_is_a_hit_with_no_upstream_call(worker, simulator, hq_points, state_dir):
    points = ",".join(hq_points[160:163])
    settled = datetime.now(UTC) - timedelta(seconds=FRESHNESS_S)  # before 00:10 UTC, yesterday is still open
    today = settled.replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)

    def ask(start: datetime):
        return worker.get("/api/timeseries", {"site": "demo-hq", "points": points, "route": "cached",
                                              "start_time": start.isoformat(), "end_time": (start + day).isoformat()})

    assert ask(today - 2 * day).status == 200  # the set is asked for (the day before yesterday)
    wait_for(lambda: demanded(state_dir, points.split(",")))
    assert request("GET", worker.url + CRON).status == 200
    wait_for(lambda: [e for e in worker.events() if e["event"] == "cron" and e.get("objectsWarmed")])
    simulator.reset()
    morning = ask(today - day)
    assert morning.headers["x-cache-status"] == "hit" and morning.json()["_meta"]["upstreamCalls"] == 0
    assert simulator.api_calls() == []
    warming = wait_for(lambda: (w := worker.get("/api/stats").json()["warming"])["hitsServed"] and w)
    assert warming["objectsWarmed"] >= 1


def test_no_token_is_written_to_any_d1_table_or_the_log_by_requests_or_a_warming_run(worker, hq_points, state_dir):
    points = hq_points[170:172]
    assert worker.get("/api/timeseries", {"site": "demo-hq", "points": ",".join(points), "route": "cached",
                                          "start_time": "2025-11-03T00:00:00Z",
                                          "end_time": "2025-11-04T00:00:00Z"}).status == 200
    wait_for(lambda: demanded(state_dir, points))
    runs = cron_runs(worker)
    assert request("GET", worker.url + CRON).status == 200
    wait_for(lambda: cron_runs(worker) > runs)
    tables = d1_tables(state_dir)
    assert tables["warming_demand"] and tables["site_access"] and "warming_tokens" not in tables
    assert cells_holding(tables, TOKEN["X-ACE-Token"]) == []
    assert cells_holding({"log": [{"line": line} for line in worker.server.output]}, TOKEN["X-ACE-Token"]) == []
