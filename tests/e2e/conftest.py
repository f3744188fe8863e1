"""Session servers: the simulator and the real src/entry.py in the local runtime, on free ports."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.contract import Contract
from tests.servers import ROOT, Reply, request, start_simulator, start_worker, unwatch, watch

TOKEN = {"X-ACE-Token": "dev-token"}
SCREENSHOTS = ROOT / "test-results" / "screenshots"  # the browser tests' pictures
UPSTREAM_TIMEOUT_S = 4
# The session's tests poll and repeat fast with one token; they test other things than the limits,
# which test_liveops_e2e.py checks on a worker of its own with wrangler.toml's limits.
UNLIMITED = {name: 1_000_000 for name in ("RATE_LIMIT_TOKEN", "RATE_LIMIT_SITE", "RATE_LIMIT_LIGHT")}


class Simulator:
    def __init__(self, url: str) -> None:
        self.url = url

    def log(self) -> list[dict]:
        return request("GET", f"{self.url}/_sim/log").json()

    def api_calls(self) -> list[dict]:
        return [entry for entry in self.log() if entry["path"].startswith("/api/")]

    def faults(self, rules: list[dict], latency_ms: int = 0) -> None:
        assert request("PUT", f"{self.url}/_sim/faults", data={"latency_ms": latency_ms, "rules": rules}).status < 300

    def reset(self) -> None:
        request("DELETE", f"{self.url}/_sim/faults")
        request("DELETE", f"{self.url}/_sim/log")

    def truth(self, point: str, start: str, end: str) -> list[list]:
        """What FlightDeck itself returns for the point, as [epoch_ms, number-or-text] pairs."""
        from urllib.parse import quote

        from services.series import parse_value
        from services.timerange import parse_iso

        reply = request("GET", f"{self.url}/api/points/{quote(point, safe='')}/timeseries?"
                        + urlencode({"start_time": start, "end_time": end}),
                        {"authorization": "Bearer dev-token"})
        if reply.status == 404:
            return []
        samples = reply.json()["point_samples"]
        return sorted([parse_iso(s["time"]), parse_value(s["value"])] for s in samples)


class Worker:
    def __init__(self, url: str, server) -> None:
        self.url = url
        self.server = server

    def get(self, path: str, params: dict | None = None, headers: dict | None = TOKEN) -> Reply:
        return request("GET", self.url + path + (f"?{urlencode(params)}" if params else ""), headers)

    def delete(self, path: str, params: dict | None = None, headers: dict | None = TOKEN) -> Reply:
        return request("DELETE", self.url + path + (f"?{urlencode(params)}" if params else ""), headers)

    def options(self, path: str, headers: dict) -> Reply:
        return request("OPTIONS", self.url + path, headers)

    def events(self) -> list[dict]:
        """The JSON log lines the runtime has printed so far."""
        events = []
        for line in list(self.server.output):
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events


@pytest.fixture(scope="session")
def simulator_server():
    server = start_simulator()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def simulator(simulator_server) -> Simulator:
    return Simulator(simulator_server.url)


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("wrangler-state")


@pytest.fixture(scope="session")
def worker(simulator, state_dir):
    server = start_worker(simulator.url, state_dir, ratelimits=UNLIMITED,
                          UPSTREAM_TIMEOUT_SECONDS=str(UPSTREAM_TIMEOUT_S),
                          ALLOWED_ORIGINS="https://app.buildingvitals.example,https://building-vitals.web.app",
                          MAX_ACTIVE_JOBS_PER_TOKEN="100", WARMING_TOKEN=TOKEN["X-ACE-Token"], WARMING_MAX_CALLS="500",
                          EVENTS_POLL_SECONDS="0.2")
    try:
        document = request("GET", f"{server.url}/openapi.json").json()
        watch(server.url, Contract(document).check)  # every answer the tests receive must be in the document
        yield Worker(server.url, server)
    finally:
        unwatch(server.url)
        server.stop()


@pytest.fixture(autouse=True)
def clean_simulator(simulator):
    simulator.reset()


@pytest.fixture(scope="session")
def hq_points(simulator) -> list[str]:
    reply = request("GET", f"{simulator.url}/api/sites/demo-hq/points?per_page=1000",
                    {"authorization": "Bearer dev-token"})
    return [item["name"] for item in reply.json()["items"]]


def pytest_terminal_summary(terminalreporter) -> None:
    if SCREENSHOTS.is_dir():
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
