"""Fixtures: one simulator process for the session, an HTTP helper and the spec's schemas."""

from __future__ import annotations

import copy
import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
SWAGGER = REPO.parent / "shared" / "upstream" / "flightdeck-swagger.json"


@dataclass
class Response:
    """A finished HTTP exchange."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Sim:
    """A running simulator and a small client for it."""

    url: str
    process: subprocess.Popen[str]

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        token: str | None = "dev-token",
    ) -> Response:
        """Make one request on a fresh connection; `path` is sent as given (already encoded)."""
        split = urlsplit(self.url)
        conn = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload = None if body is None else json.dumps(body).encode()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path + (f"?{urlencode(params)}" if params else ""), payload, headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **params: Any) -> Response:
        """GET with the dev token."""
        return self.call("GET", path, params or None)


def start_simulator(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m simulator --port 0 ...` and wait for its READY line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        _, err = process.communicate()
        raise RuntimeError(f"simulator did not start: {line!r}\n{err}")
    return process, line.split()[1]


def stop_simulator(process: subprocess.Popen[str]) -> str:
    """Terminate the process and return its stderr."""
    process.terminate()
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    """The simulator, shared by the session; its stderr is printed if it died."""
    process, url = start_simulator()
    try:
        yield Sim(url, process)
    finally:
        died = process.poll() is not None
        err = stop_simulator(process)
        if died:
            print(f"simulator exited early with {process.returncode}:\n{err}", file=sys.stderr)


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    """Each test that uses the simulator starts with no faults and an empty log."""
    if "sim" in request.fixturenames:
        simulator: Sim = request.getfixturevalue("sim")
        simulator.call("DELETE", "/_sim/faults", token=None)
        simulator.call("DELETE", "/_sim/log", token=None)


@pytest.fixture(scope="session")
def swagger() -> dict[str, Any]:
    """The upstream spec, from `shared/` beside the repository."""
    return json.loads(SWAGGER.read_text())


@pytest.fixture(scope="session")
def validate(swagger: dict[str, Any]) -> Any:
    """`validate(instance, "Definition name")` against the spec (Swagger 2.0 is JSON Schema draft 4).

    One documented relaxation: the last page's `next_cursor` is null (has_more is false), as a
    flask-restx server marshals a missing cursor; Swagger 2.0 cannot say "nullable".
    """
    definitions = copy.deepcopy(swagger["definitions"])
    definitions["Paginated list of timeseries samples"]["properties"]["next_cursor"]["type"] = ["string", "null"]

    def check(instance: Any, name: str) -> None:
        schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
        jsonschema.Draft4Validator(schema).validate(instance)

    return check
