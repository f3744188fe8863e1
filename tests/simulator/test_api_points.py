"""`GET /api/points/{point_name}/timeseries` and `POST /api/points/get_timeseries`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from simulator import data
from tests.simulator.simclient import Sim

START, END = "2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z"
METER = "acme/demo-plant/meter.main/kW"
VAV = "acme/demo-hq/vav-2-01/analogValue/13"


def _series(sim: Sim, name: str, start: str = START, end: str = END) -> Any:
    return sim.get(f"/api/points/{quote(name, safe='')}/timeseries", start_time=start, end_time=end)


def _batch(sim: Sim, names: list[str], token: str = "dev-token") -> Any:
    body = {"points": [{"name": n} for n in names]}
    return sim.call("POST", "/api/points/get_timeseries", {"start_time": START, "end_time": END}, body, token)


def _pairs(samples: list[dict[str, str]]) -> list[tuple[int, str]]:
    return [(int(datetime.fromisoformat(s["time"]).timestamp() * 1000), s["value"]) for s in samples]


def _truth(name: str) -> list[tuple[int, str]]:
    start, end = datetime.fromisoformat(START), datetime.fromisoformat(END)
    return data.samples(name.split("/")[1], name, start, end)


def test_point_series_matches_schema(sim: Sim, validate: Any) -> None:
    resp = _series(sim, METER)
    assert resp.status == 200
    validate(resp.json(), "A list of timeseries samples")


def test_point_series_percent_encoded_name_equals_truth(sim: Sim) -> None:
    samples = _series(sim, VAV).json()["point_samples"]
    assert {s["name"] for s in samples} == {VAV}
    assert _pairs(samples) == _truth(VAV)


def test_point_series_times_are_utc_iso(sim: Sim) -> None:
    times = [s["time"] for s in _series(sim, METER).json()["point_samples"]]
    assert times[:2] == ["2026-03-02T12:00:00Z", "2026-03-02T12:01:00Z"] and len(times) == 60


def test_point_series_unencoded_slashes_are_404(sim: Sim) -> None:
    resp = sim.get(f"/api/points/{METER}/timeseries", start_time=START, end_time=END)
    assert resp.status == 404 and "%2F" in resp.json()["message"]


def test_point_series_unknown_point_is_404(sim: Sim) -> None:
    assert _series(sim, "acme/demo-hq/no-such/point").status == 404


def test_point_series_no_samples_in_range_is_404(sim: Sim) -> None:
    assert _series(sim, METER, "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z").status == 404


def test_point_series_is_deterministic(sim: Sim) -> None:
    assert _series(sim, VAV).body == _series(sim, VAV).body


def test_batch_matches_schema(sim: Sim, validate: Any) -> None:
    resp = _batch(sim, [METER, VAV])
    assert resp.status == 200
    validate(resp.json(), "A list of timeseries samples")


def test_batch_groups_points_in_request_order(sim: Sim) -> None:
    samples = _batch(sim, [VAV, METER]).json()["point_samples"]
    assert _pairs(samples) == _truth(VAV) + _truth(METER)
    assert [s["name"] for s in samples] == [VAV] * len(_truth(VAV)) + [METER] * len(_truth(METER))


def test_batch_ignores_unknown_names(sim: Sim) -> None:
    assert _batch(sim, ["acme/nope", METER]).json() == _batch(sim, [METER]).json()


def test_batch_of_unknown_names_is_404(sim: Sim) -> None:
    assert _batch(sim, ["acme/nope"]).status == 404


def test_batch_bad_body_is_400(sim: Sim) -> None:
    resp = sim.call("POST", "/api/points/get_timeseries", {"start_time": START, "end_time": END}, {"names": []})
    assert resp.status == 400


def test_every_endpoint_gives_the_same_raw_samples(sim: Sim) -> None:
    name = "acme/demo-lab/lab-2:zone-temp"
    paginated = sim.get(
        "/api/sites/demo-lab/timeseries/paginated", start_time=START, end_time=END, raw_data="true"
    ).json()["point_samples"]
    from_site = [s for s in paginated if s["name"] == name]
    assert from_site == _series(sim, name).json()["point_samples"] == _batch(sim, [name]).json()["point_samples"]


def test_point_series_with_get_on_batch_path_is_405(sim: Sim) -> None:
    assert sim.get("/api/points/get_timeseries", start_time=START, end_time=END).status == 405
