"""Schemathesis, driven by the served /openapi.json, against the real worker: no 5xx, nothing outside
the document, no traceback in a body. Its own simulator and worker, so the jobs it queues never reach
the other tests' servers."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.contract import Contract
from tests.e2e.conftest import UNLIMITED
from tests.servers import start_simulator, start_worker

EXAMPLES_PER_OPERATION = 25
SEED = 14  # a fixed seed: the same cases every run, so a failure reproduces
TOKEN = {"X-ACE-Token": "dev-token"}
# Methods no route has are probed too (they must be 405), except TRACE: Node's Request refuses it, so the
# local runtime cannot hand it to the Worker at all (its answer is the runtime's own 500).
UNEXPECTED_METHODS = ["get", "put", "post", "delete", "patch", "options", "query"]
CONTRACTS: dict[str, Contract] = {}
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "Error: ")


def no_traceback(ctx, response, case) -> None:
    """A body never shows a traceback or an exception's repr (those go to the log only)."""
    text = response.content.decode("utf-8", "replace")  # MessagePack answers are binary
    leaked = [mark for mark in TRACEBACK_MARKS if mark in text]
    assert not leaked, f"{case.operation.label}: the body shows {leaked}"


def documented(ctx, response, case) -> None:
    """Status, media type and body are the document's: the same check the end-to-end tests make.

    (Schemathesis' own response_schema_conformance cannot read the `prefixItems` of a sample pair.)
    """
    headers = {name.lower(): ", ".join(values) for name, values in response.headers.items()}
    CONTRACTS[case.operation.schema.location].check(response.request.method, response.request.url,
                                                    response.status_code, headers, response.content)


@pytest.fixture(scope="module")
def fuzzed_worker(tmp_path_factory):
    simulator = start_simulator()
    try:
        # Limits off, so the generated requests reach the handlers rather than all ending as 429s.
        worker = start_worker(simulator.url, tmp_path_factory.mktemp("fuzz-state"), ratelimits=UNLIMITED,
                              UPSTREAM_TIMEOUT_SECONDS="4")
        try:
            yield worker.url
        finally:
            worker.stop()
    finally:
        simulator.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed_worker):
    config = schemathesis.config.SchemathesisConfig.from_dict({
        "seed": SEED,
        "phases": {"coverage": {"unexpected-methods": UNEXPECTED_METHODS}},
    })
    schema = schemathesis.openapi.from_url(f"{fuzzed_worker}/openapi.json", config=config)
    CONTRACTS[schema.location] = Contract(schema.raw_schema)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_the_api_answers_every_generated_request_as_documented(case, fuzzed_worker):
    case.call_and_validate(base_url=fuzzed_worker, headers=TOKEN, timeout=30,
                           checks=[not_a_server_error, documented, no_traceback])
