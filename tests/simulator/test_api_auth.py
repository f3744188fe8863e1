"""Tokens: 401 without a known token, 403 for a site the token may not read."""

from __future__ import annotations

from urllib.parse import quote

from tests.simulator.simclient import Sim

RANGE = {"start_time": "2026-03-02T12:00:00Z", "end_time": "2026-03-02T12:10:00Z"}
HQ_POINT = "/api/points/" + quote("acme/demo-hq/ahu-1:supply-air-temp", safe="") + "/timeseries"
LAB_POINT = "/api/points/" + quote("acme/demo-lab/lab-1:zone-temp", safe="") + "/timeseries"


def test_auth_missing_token_is_401(sim: Sim) -> None:
    resp = sim.call("GET", "/api/sites/", token=None)
    assert resp.status == 401 and "message" in resp.json()


def test_auth_unknown_token_is_401(sim: Sim) -> None:
    assert sim.call("GET", "/api/sites/demo-hq/points", token="wrong").status == 401


def test_auth_limited_token_lists_only_its_sites(sim: Sim) -> None:
    items = sim.call("GET", "/api/sites/", token="limited-token").json()["items"]
    assert [s["name"] for s in items] == ["demo-lab"]


def test_auth_limited_token_reads_its_site(sim: Sim) -> None:
    path = "/api/sites/demo-lab/timeseries/paginated"
    assert sim.call("GET", path, RANGE, token="limited-token").status == 200


def test_auth_limited_token_site_endpoints_are_403(sim: Sim) -> None:
    for path in ("/api/sites/demo-hq/points", "/api/sites/demo-hq/timeseries/paginated"):
        assert sim.call("GET", path, RANGE, token="limited-token").status == 403


def test_auth_limited_token_point_of_other_site_is_403(sim: Sim) -> None:
    assert sim.call("GET", HQ_POINT, RANGE, token="limited-token").status == 403
    assert sim.call("GET", LAB_POINT, RANGE, token="limited-token").status == 200


def test_auth_batch_with_a_forbidden_point_is_403(sim: Sim) -> None:
    body = {"points": [{"name": "acme/demo-lab/lab-1:zone-temp"}, {"name": "acme/demo-hq/ahu-1:supply-air-temp"}]}
    resp = sim.call("POST", "/api/points/get_timeseries", RANGE, body, token="limited-token")
    assert resp.status == 403


def test_auth_non_bearer_header_is_401(sim: Sim) -> None:
    assert sim.call("GET", "/api/sites/", token=None, headers={"Authorization": "dev-token"}).status == 401


POINT_TOKEN_SAT = "acme/demo-hq/ahu-1:supply-air-temp"
POINT_TOKEN_OTHER = "acme/demo-hq/ahu-1:return-air-temp"


def test_auth_point_grant_lists_only_the_granted_points_of_the_site(sim: Sim) -> None:
    items = sim.call("GET", "/api/sites/demo-hq/points", {"per_page": 500}, token="point-token").json()["items"]
    assert POINT_TOKEN_SAT in [p["name"] for p in items] and POINT_TOKEN_OTHER not in [p["name"] for p in items]
    assert len(items) == 2


def test_auth_point_grant_refuses_another_point_of_the_same_site(sim: Sim) -> None:
    other = "/api/points/" + quote(POINT_TOKEN_OTHER, safe="") + "/timeseries"
    assert sim.call("GET", other, RANGE, token="point-token").status == 403
    assert sim.call("GET", HQ_POINT, RANGE, token="point-token").status == 200


def test_auth_point_grant_batch_naming_a_refused_point_is_403(sim: Sim) -> None:
    body = {"points": [{"name": POINT_TOKEN_SAT}, {"name": POINT_TOKEN_OTHER}]}
    assert sim.call("POST", "/api/points/get_timeseries", RANGE, body, token="point-token").status == 403


def test_auth_point_grant_paginated_holds_only_the_granted_points(sim: Sim) -> None:
    body = sim.call("GET", "/api/sites/demo-hq/timeseries/paginated", {**RANGE, "raw_data": "true"},
                    token="point-token").json()
    assert {s["name"] for s in body["point_samples"]} <= {POINT_TOKEN_SAT, "acme/demo-hq/ahu-1:occupancy-mode"}
    assert body["point_samples"]
