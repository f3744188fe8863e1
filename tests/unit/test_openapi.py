"""The OpenAPI document: valid 3.1, one entry per route, served unauthenticated, and checked answers."""

import json
import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from services.api import ROUTES
from services.openapi import document
from tests.contract import Contract
from tests.unit.helpers import call, series_params


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_document_is_valid_openapi_3_1():
    spec = document("test")
    OpenAPIV31SpecValidator(spec).validate()
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_documented_and_every_documented_route_exists():
    routes = {(method.lower(), normalised(re.sub(r"\(\?P<\w+>[^)]*\)", "{}", pattern.pattern)))
              for method, pattern, _ in ROUTES}
    documented = {(method, normalised(path)) for path, item in document("test")["paths"].items()
                  for method, operation in item.items() if not operation.get("x-static-asset")}
    assert documented == routes


def test_every_operation_documents_its_json_errors_and_an_example_of_each_parameter():
    for path, item in document("test")["paths"].items():
        for method, operation in item.items():
            assert "500" in operation["responses"] or operation.get("x-static-asset"), (method, path)
            for parameter in operation.get("parameters", []):
                assert parameter.get("example") or parameter["schema"].get("enum"), (method, path, parameter)


def test_openapi_json_is_served_without_a_token(api):
    response, body = call(api, "GET", "/openapi.json", token=None)
    assert response.status == 200 and body == document(api.settings.version)


@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", "/api/timeseries", series_params(["acme/demo-hq/ahu-1:supply-air-temp"])),
    ("GET", "/api/timeseries", {"site": "demo-hq"}),
    ("GET", "/api/stats", None),
    ("GET", "/api/health", None),
    ("GET", "/api/jobs", None),
    ("GET", "/api/jobs/0123456789abcdef0123456789abcdef", None),
    ("DELETE", "/api/jobs/nope", None),
    ("GET", "/nowhere", None),
    ("GET", "/health", None),
    ("GET", "/timeseries/query", {"point_names": "acme/demo-hq/ahu-1:supply-air-temp", "start_time": "1762732800000",
                                  "end_time": "1762736400000"}),
    ("GET", "/timeseries/query", {"point_names": ""}),
    ("GET", "/api/sites/demo-hq/timeseries/paginated", {"start_time": "x"}),
    ("DELETE", "/api/stats", None),
])
def test_answers_are_the_documented_ones(api, method, path, params):
    response, parsed = call(api, method, path, params)
    body = json.dumps(parsed).encode() if parsed is not None else b""
    Contract(document("test")).check(method, f"https://worker.test{path}", response.status, response.headers, body)


def test_an_answer_outside_the_document_is_reported():
    contract = Contract(document("test"))
    with pytest.raises(AssertionError, match="status 418 is not documented"):
        contract.check("GET", "https://w.test/api/stats", 418, {"content-type": "application/json"}, b"{}")
    with pytest.raises(AssertionError, match="totalObjects"):
        contract.check("GET", "https://w.test/api/stats", 200, {"content-type": "application/json"},
                       b'{"cache": {}, "jobs": {}, "requests": []}')
