"""`GET /api/sites/{site}/configured_points`: the paged envelope of the points configured for collection."""

from __future__ import annotations

from typing import Any

from simulator import catalog
from tests.simulator.simclient import Sim


def test_configured_points_page_matches_the_points_schema(sim: Sim, validate: Any) -> None:
    resp = sim.get("/api/sites/demo-lab/configured_points", per_page=20)
    assert resp.status == 200
    validate(resp.json(), "Page of points")


def test_configured_points_leave_out_points_not_collected(sim: Sim) -> None:
    body = sim.get("/api/sites/demo-hq/configured_points", per_page=10000).json()
    expected = [p.name for p in catalog.site_points("demo-hq") if p.collect_enabled]
    assert [p["name"] for p in body["items"]] == expected and body["total"] == len(expected) == 180
    assert all(p["collect_enabled"] for p in body["items"])


def test_configured_points_page_like_the_points_list(sim: Sim) -> None:
    body = sim.get("/api/sites/demo-tower/configured_points", per_page=100, page=2).json()
    assert (body["page"], body["pages"], body["per_page"], body["total"]) == (2, 2, 100, 120)
    assert len(body["items"]) == 20


def test_configured_points_need_access_to_the_site(sim: Sim) -> None:
    assert sim.call("GET", "/api/sites/demo-hq/configured_points", token="limited-token").status == 403


def test_configured_points_unknown_site_is_404(sim: Sim) -> None:
    assert sim.get("/api/sites/nowhere/configured_points").status == 404
