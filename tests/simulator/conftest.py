"""Fixtures: one simulator process for the session, and the spec's schemas."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest

from tests.servers import start_simulator
from tests.simulator.simclient import REPO, Sim

# The published spec lives in ../shared; the simulator keeps a copy so a clone alone can test it.
SHARED_SWAGGER = REPO.parent / "shared" / "upstream" / "flightdeck-swagger.json"
SWAGGER = SHARED_SWAGGER if SHARED_SWAGGER.exists() else REPO / "simulator" / "flightdeck-swagger.json"


@pytest.fixture(scope="session")
def sim() -> Iterator[Sim]:
    """The simulator, shared by the session; its stderr is printed if it died."""
    server = start_simulator()
    try:
        yield Sim(server.url)
    finally:
        died = server.process.poll() is not None
        output = server.stop()
        if died:
            print(f"simulator exited early with {server.process.returncode}:\n{output}", file=sys.stderr)


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    """Each test that uses the simulator starts with no faults and an empty log."""
    if "sim" in request.fixturenames:
        simulator: Sim = request.getfixturevalue("sim")
        simulator.control("DELETE", "faults")
        simulator.control("DELETE", "log")


@pytest.fixture(scope="session")
def validate() -> Callable[[Any, str], None]:
    """`validate(instance, "Definition name")` against the spec (Swagger 2.0 is JSON Schema draft 4).

    One documented relaxation: the last page's `next_cursor` is null (has_more is false), as a
    flask-restx server marshals a missing cursor; Swagger 2.0 cannot say "nullable".
    """
    definitions = copy.deepcopy(json.loads(SWAGGER.read_text())["definitions"])
    definitions["Paginated list of timeseries samples"]["properties"]["next_cursor"]["type"] = ["string", "null"]

    def check(instance: Any, name: str) -> None:
        jsonschema.Draft4Validator({"$ref": f"#/definitions/{name}", "definitions": definitions}).validate(instance)

    return check
