"""`GET /api/sites/{site}/timeseries/paginated`: cursors, ordering, raw vs 5-minute buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from simulator import catalog, data
from tests.simulator.simclient import Sim

PATH = "/api/sites/demo-lab/timeseries/paginated"
START, END = "2026-03-02T08:00:00Z", "2026-03-02T08:30:00Z"


def _page(sim: Sim, **params: Any) -> dict[str, Any]:
    resp = sim.get(PATH, **{"start_time": START, "end_time": END, "raw_data": "true", **params})
    assert resp.status == 200, resp.body
    return resp.json()


def _all_pages(sim: Sim, page_size: int) -> list[dict[str, str]]:
    samples: list[dict[str, str]] = []
    cursor = None
    while True:
        body = _page(sim, page_size=page_size, **({"cursor": cursor} if cursor else {}))
        samples += body["point_samples"]
        if not body["has_more"]:
            return samples
        cursor = body["next_cursor"]


def test_paginated_matches_schema(sim: Sim, validate: Any) -> None:
    first = _page(sim, page_size=100)
    validate(first, "Paginated list of timeseries samples")
    assert first["has_more"] and isinstance(first["next_cursor"], str)
    assert len(first["point_samples"]) == 100


def test_paginated_pages_concatenate_to_one_request(sim: Sim) -> None:
    whole = _page(sim, page_size=10000)
    assert not whole["has_more"]
    assert _all_pages(sim, 50) == whole["point_samples"]


def test_paginated_last_page_has_null_cursor(sim: Sim) -> None:
    body = _page(sim, page_size=10000)
    assert body["has_more"] is False and body["next_cursor"] is None


def test_paginated_cursor_is_deterministic(sim: Sim) -> None:
    assert _page(sim, page_size=10)["next_cursor"] == _page(sim, page_size=10)["next_cursor"]


def test_paginated_orders_by_time_then_name(sim: Sim) -> None:
    keys = [(s["time"], s["name"]) for s in _page(sim)["point_samples"]]
    assert keys == sorted(keys)


def test_paginated_returns_every_point_of_the_site(sim: Sim) -> None:
    names = {s["name"] for s in _page(sim)["point_samples"]}
    assert names == {p.name for p in catalog.site_points("demo-lab")}


def test_paginated_raw_equals_truth(sim: Sim) -> None:
    start, end = datetime(2026, 3, 2, 8, tzinfo=UTC), datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    name = "acme/demo-lab/lab-3:fume-hood.face-velocity"
    got = [(s["time"], s["value"]) for s in _page(sim)["point_samples"] if s["name"] == name]
    truth = data.samples("demo-lab", name, start, end)
    assert got == [(datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), v) for t, v in truth]


def test_paginated_default_page_size_is_10000(sim: Sim) -> None:
    resp = sim.get(
        "/api/sites/demo-hq/timeseries/paginated", start_time="2026-03-02", end_time="2026-03-03", raw_data="true"
    )
    body = resp.json()
    assert len(body["point_samples"]) == 10000 and body["has_more"]


def test_paginated_default_is_five_minute_buckets(sim: Sim) -> None:
    samples = sim.get(PATH, start_time=START, end_time=END).json()["point_samples"]
    assert {s["time"][14:16] for s in samples} == {"00", "05", "10", "15", "20", "25"}
    pressure = [s for s in samples if s["name"] == "acme/demo-lab/lab-1:room-pressure"]
    assert len(pressure) == 6 and all(len(s["value"].split(".")[1]) == 4 for s in pressure)


def test_paginated_bucket_pages_concatenate(sim: Sim) -> None:
    params = {"start_time": START, "end_time": END, "raw_data": "false"}
    whole = sim.get(PATH, **params).json()["point_samples"]
    first = sim.get(PATH, page_size=100, **params).json()
    rest = sim.get(PATH, cursor=first["next_cursor"], **params).json()
    assert first["point_samples"] + rest["point_samples"] == whole


def test_paginated_page_size_outside_enum_is_400(sim: Sim) -> None:
    resp = sim.get(PATH, start_time=START, end_time=END, page_size=20)
    assert resp.status == 400 and "page_size" in resp.json()["message"]


def test_paginated_empty_period_is_404(sim: Sim) -> None:
    assert sim.get(PATH, start_time="2024-03-02T00:00:00Z", end_time="2024-03-03T00:00:00Z").status == 404


def test_paginated_site_outage_is_404(sim: Sim) -> None:
    path = "/api/sites/demo-plant/timeseries/paginated"
    assert sim.get(path, start_time="2025-06-01T06:00:00Z", end_time="2025-06-02T06:00:00Z").status == 404


def test_paginated_future_period_is_404(sim: Sim) -> None:
    start, end = (datetime.now(UTC) + timedelta(days=days) for days in (1, 3))
    assert sim.get(PATH, start_time=start.isoformat(), end_time=end.isoformat()).status == 404


def test_paginated_cursor_of_another_range_is_400(sim: Sim) -> None:
    cursor = _page(sim, page_size=10)["next_cursor"]
    resp = sim.get(PATH, start_time=START, end_time="2026-03-02T09:00:00Z", cursor=cursor, raw_data="true")
    assert resp.status == 400


def test_paginated_garbage_cursor_is_400(sim: Sim) -> None:
    assert sim.get(PATH, start_time=START, end_time=END, cursor="not-a-cursor!").status == 400


def test_paginated_unknown_site_is_404(sim: Sim) -> None:
    path = "/api/sites/nowhere/timeseries/paginated"
    assert sim.get(path, start_time=START, end_time=END).status == 404
