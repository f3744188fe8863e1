"""`GET /api/sites/` and `GET /api/sites/{site}/points`."""

from __future__ import annotations

from typing import Any

from simulator import catalog
from tests.simulator.simclient import Sim


def test_sites_list_matches_schema(sim: Sim, validate: Any) -> None:
    resp = sim.get("/api/sites/")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
    validate(resp.json(), "Page of sites")
    assert [s["name"] for s in resp.json()["items"]] == ["demo-hq", "demo-lab", "demo-plant", "demo-tower"]


def test_sites_list_pages(sim: Sim) -> None:
    body = sim.get("/api/sites/", per_page=2, page=2).json()
    assert (body["page"], body["pages"], body["per_page"], body["total"]) == (2, 2, 2, 4)
    assert [s["name"] for s in body["items"]] == ["demo-plant", "demo-tower"]


def test_sites_per_page_outside_enum_is_400(sim: Sim) -> None:
    assert sim.get("/api/sites/", per_page=7).status == 400


def test_points_page_matches_schema(sim: Sim, validate: Any) -> None:
    resp = sim.get("/api/sites/demo-lab/points", per_page=20)
    assert resp.status == 200
    validate(resp.json(), "Page of points")
    body = resp.json()
    assert (body["page"], body["pages"], body["per_page"], body["total"]) == (1, 2, 20, 40)


def test_points_default_page_has_ten_items(sim: Sim) -> None:
    assert len(sim.get("/api/sites/demo-hq/points").json()["items"]) == 10


def test_points_pages_cover_the_catalog(sim: Sim) -> None:
    names: list[str] = []
    for page in (1, 2):
        names += [p["name"] for p in sim.get("/api/sites/demo-hq/points", per_page=100, page=page).json()["items"]]
    assert names == [p.name for p in catalog.site_points("demo-hq")]


def test_points_carry_collect_interval_and_tags(sim: Sim) -> None:
    items = sim.get("/api/sites/demo-plant/points", per_page=50).json()["items"]
    meter = next(p for p in items if p["name"] == "acme/demo-plant/meter.main/kW")
    assert meter["collect_interval"] == 60 and meter["site"] == "demo-plant" and meter["client"] == "acme"
    assert all(isinstance(v, str) for v in meter["kv_tags"].values()) and meter["marker_tags"]


def test_points_page_past_the_end_is_empty(sim: Sim) -> None:
    body = sim.get("/api/sites/demo-plant/points", page=9).json()
    assert body["items"] == [] and body["total"] == 20


def test_points_unknown_site_is_404(sim: Sim) -> None:
    assert sim.get("/api/sites/nowhere/points").status == 404
