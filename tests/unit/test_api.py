"""The API's edges: auth, CORS, unknown routes and methods, health."""

import asyncio
import json
import tomllib
from pathlib import Path
from urllib.parse import urlencode

import pytest

from services.config import Settings
from services.ports import ApiRequest
from services.query import Priority
from tests.fakeflightdeck import POINTS
from tests.unit.helpers import call, series_params

ORIGIN = "https://app.example"


def test_missing_token_is_401_on_every_protected_route(api):
    for method, path in [("GET", "/api/timeseries"), ("GET", "/api/jobs/x"), ("DELETE", "/api/jobs/x"),
                         ("GET", "/api/jobs/x/result"), ("DELETE", "/api/cache")]:
        response, body = call(api, method, path, token=None)
        assert (response.status, body["error"]["code"]) == (401, "unauthorized"), path


def test_bearer_token_is_accepted_like_x_ace_token(api):
    params = series_params(POINTS[:1], end="2025-11-10T01:00:00Z")
    response, _ = call(api, "GET", "/api/timeseries", params, token=None, headers={"authorization": "Bearer good"})
    assert response.status == 200


def test_preflight_from_an_allowed_origin_allows_get_delete_and_the_token_headers(api):
    response, _ = call(api, "OPTIONS", "/api/timeseries", token=None, headers={"origin": ORIGIN})
    assert response.status == 204 and response.headers["access-control-allow-origin"] == ORIGIN
    assert {"GET", "DELETE"} <= set(response.headers["access-control-allow-methods"].split(", "))
    assert response.headers["access-control-allow-headers"] == "X-ACE-Token, Authorization, Content-Type, Last-Event-ID"


def test_preflight_from_another_origin_is_refused(api):
    response, _ = call(api, "OPTIONS", "/api/timeseries", token=None, headers={"origin": "https://evil.example"})
    assert response.status == 403 and "access-control-allow-origin" not in response.headers


def test_options_without_an_origin_lists_the_methods(api):
    response, _ = call(api, "OPTIONS", "/api/jobs/x", token=None)
    assert response.status == 204 and "DELETE" in response.headers["access-control-allow-methods"]


def test_responses_to_an_allowed_origin_carry_cors_headers(api):
    response, _ = call(api, "GET", "/api/stats", token=None, headers={"origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Request-Id" in response.headers["access-control-expose-headers"]


def test_unknown_route_is_404_and_wrong_method_is_405(api):
    assert call(api, "GET", "/api/nope")[0].status == 404
    response, _ = call(api, "POST", "/api/stats")
    assert response.status == 405 and response.headers["allow"] == "GET"


def test_every_response_has_a_request_id(api):
    response, _ = call(api, "GET", "/api/nope")
    assert len(response.headers["x-request-id"]) == 32


def test_health_is_503_naming_what_failed(api, store):
    store.fail = True
    response, body = call(api, "GET", "/api/health", token=None)
    assert response.status == 503 and body["status"] == "unhealthy"
    assert body["checks"]["r2"]["ok"] is False and body["checks"]["d1"]["ok"] is True


def test_an_unexpected_error_is_a_json_500_without_internals(api, db):
    db.conn.execute("DROP TABLE request_analytics")
    db.conn.execute("DROP VIEW v_job_performance")
    db.conn.execute("DROP TABLE queue_jobs")
    response, body = call(api, "GET", "/api/stats", token=None)
    assert response.status == 500 and body["error"]["code"] == "internal"
    assert "queue_jobs" not in body["error"]["message"] and body["error"]["requestId"]


EDGE_TIMES = [("start_time", "0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00Z"),
              ("end_time", "9999-12-30T00:00:00Z", "9999-12-31T23:59:59-14:00"),
              ("start_time", "0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z")]


@pytest.mark.parametrize("field,start,end", EDGE_TIMES)
@pytest.mark.parametrize("route", ["direct", "cached", "queued"])
def test_times_at_the_edge_of_the_year_range_are_400_naming_the_field(api, field, start, end, route):
    params = series_params(["acme/demo-hq/ahu-1:sat"], start=start, end=end, route=route)
    response, body = call(api, "GET", "/api/timeseries", params)
    assert (response.status, body["error"]["field"]) == (400, field)


@pytest.mark.parametrize("field,start,end", EDGE_TIMES)
def test_cache_invalidation_with_edge_times_is_400_naming_the_field(api, field, start, end):
    response, body = call(api, "DELETE", "/api/cache", {"site": "demo-hq", "start_time": start, "end_time": end})
    assert (response.status, body["error"]["field"]) == (400, field)


@pytest.mark.parametrize("site", ["../demo-hq", "demo hq", "x" * 129, "demo-hq/../../x", "-lead"])
@pytest.mark.parametrize("method,path", [("GET", "/api/timeseries"), ("DELETE", "/api/cache")])
def test_a_site_with_foreign_characters_or_too_long_is_400(api, site, method, path):
    response, body = call(api, method, path, {**series_params(["acme/demo-hq/ahu-1:sat"]), "site": site})
    assert (response.status, body["error"]["field"]) == (400, "site")


def test_unauthenticated_health_writes_nothing(api, store, queues):
    response, body = call(api, "GET", "/api/health", token=None)
    assert response.status == 200 and body["checks"]["r2"]["ok"] and body["checks"]["d1"]["ok"]
    assert store.objects == {} and all(queue.sent == [] for queue in queues.values())


def test_deep_health_without_a_token_is_401_and_writes_nothing(api, store, queues):
    response, _ = call(api, "GET", "/api/health", {"deep": "1"}, token=None)
    assert response.status == 401 and store.objects == {} and all(q.sent == [] for q in queues.values())


def test_deep_health_with_a_rejected_token_is_401_and_writes_nothing(api, store, queues):
    response, _ = call(api, "GET", "/api/health", {"deep": "1"}, token="stolen")
    assert response.status == 401 and store.objects == {} and all(q.sent == [] for q in queues.values())


def test_deep_health_with_an_accepted_token_runs_the_write_probes(api, store, queues):
    response, body = call(api, "GET", "/api/health", {"deep": "1"})
    assert response.status == 200 and {"flightdeck", "queue", "r2"} <= set(body["checks"])
    assert "health/probe" in store.objects and queues[Priority.NORMAL].sent == [{"kind": "probe"}]


def test_health_after_a_deep_check_left_its_probe_object_is_still_json(api, store):
    call(api, "GET", "/api/health", {"deep": "1"})
    response, body = call(api, "GET", "/api/health", token=None)
    assert "health/probe" in store.objects
    assert response.status == 200 and body["checks"]["r2"]["ok"] and "detail" not in body["checks"]["r2"]


@pytest.mark.parametrize("route", ["direct", "cached", "queued"])
def test_head_on_timeseries_has_no_side_effects(api, transport, store, queues, db, route):
    response, body = call(api, "HEAD", "/api/timeseries", series_params(["acme/demo-hq/ahu-1:sat"], route=route))
    assert (response.status, response.headers["x-route-type"], body) == (200, route, None)
    assert transport.requests == [] and store.objects == {} and all(q.sent == [] for q in queues.values())
    assert asyncio.run(db.all("SELECT id FROM queue_jobs")) == []


def test_head_on_timeseries_still_validates(api):
    response, _ = call(api, "HEAD", "/api/timeseries", {"site": "demo-hq"})
    assert response.status == 400


def test_app_health_answers_healthy_without_a_token(api):
    response, body = call(api, "GET", "/health", token=None)
    assert (response.status, body) == (200, {"status": "healthy"})


def test_default_allowed_origins_include_the_building_vitals_app():
    variables = tomllib.loads((Path(__file__).parents[2] / "wrangler.toml").read_text())["vars"]
    assert "https://building-vitals.web.app" in Settings.from_env(variables).allowed_origins


def test_preflight_for_the_app_query_allows_x_ace_token(api):
    response, _ = call(api, "OPTIONS", "/timeseries/query", token=None, headers={
        "origin": ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "x-ace-token"})
    assert response.status == 204 and "X-ACE-Token" in response.headers["access-control-allow-headers"]


def test_an_answer_chosen_by_accept_to_an_allowed_origin_varies_on_both(api):
    params = series_params(["acme/demo-hq/ahu-1:sat"], end="2025-11-10T01:00:00Z")
    response, _ = call(api, "GET", "/api/timeseries", params, headers={"origin": ORIGIN})
    assert response.headers["vary"] == "Accept, Origin"


def test_row_formats_stream_while_json_is_rendered_whole(api):
    params = series_params(["acme/demo-hq/ahu-1:sat"], end="2025-11-10T01:00:00Z")
    as_json, _ = call(api, "GET", "/api/timeseries", params)
    as_csv, body = call(api, "GET", "/api/timeseries", dict(params, format="csv"))
    assert isinstance(as_json.body, bytes) and not isinstance(as_csv.body, bytes)
    assert body.decode().startswith("point,timestamp,value\r\n")


def test_a_client_that_goes_cancels_its_upstream_calls_and_stores_nothing(api, transport, store, db):
    params = series_params(POINTS[:2], route="cached")
    request = ApiRequest("GET", f"https://worker.test/api/timeseries?{urlencode(params)}", {"x-ace-token": "good"})
    answer, cancelled = transport.handler, []

    async def slow_data(sent):
        if "timeseries" not in sent.url:
            return answer(sent)
        request.gone.set()  # the client disconnects while FlightDeck is still answering
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(sent.url)
            raise

    transport.handler = slow_data
    response = asyncio.run(api.handle(request))
    data_calls = [sent.url for sent in transport.requests if "timeseries" in sent.url]
    assert (response.status, json.loads(response.body)["error"]["code"]) == (499, "client_closed_request")
    assert data_calls and cancelled == data_calls
    assert store.objects == {} and asyncio.run(db.all("SELECT cache_key FROM cache_metadata")) == []
