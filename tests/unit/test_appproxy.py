"""`/api/sites` and `/api/sites/{site}/configured_points`: an allow-list, never an open proxy."""

import pytest

from tests.unit.helpers import call


@pytest.mark.parametrize("path", ["/api/sites", "/api/sites/demo-hq/configured_points"])
def test_proxy_without_token_is_401(api, path):
    response, body = call(api, "GET", path, token=None)
    assert (response.status, body["error"]["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("path", ["/api/sites/demo-hq/points", "/api/sites/demo-hq/configured_points/x",
                                  "/api/points/get_timeseries", "/api/sites/demo-hq"])
def test_proxy_forwards_no_path_outside_the_allow_list(api, flightdeck, path):
    response, _ = call(api, "GET", path)
    assert response.status == 404 and flightdeck.calls == []


@pytest.mark.parametrize(("params", "field"), [({"per_page": "7"}, "per_page"), ({"page": "0"}, "page"),
                                               ({"page": "1&x=y"}, "page")])
def test_proxy_forwards_only_valid_paging(api, params, field):
    response, body = call(api, "GET", "/api/sites", params)
    assert response.status == 400 and body["error"]["field"] == field


def test_proxy_refuses_a_dot_site(api):
    response, _ = call(api, "GET", "/api/sites/%2E%2E/configured_points")
    assert response.status == 400
