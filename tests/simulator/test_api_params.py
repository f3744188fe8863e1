"""Query validation: 400 JSON for missing or unparseable times and bad values."""

from __future__ import annotations

from tests.simulator.simclient import Sim

PATH = "/api/sites/demo-plant/timeseries/paginated"


def test_params_missing_start_time_is_400(sim: Sim) -> None:
    resp = sim.get(PATH, end_time="2026-03-02T12:00:00Z")
    assert resp.status == 400 and "start_time" in resp.json()["message"]


def test_params_unparseable_end_time_is_400(sim: Sim) -> None:
    resp = sim.get(PATH, start_time="2026-03-02T12:00:00Z", end_time="yesterday")
    assert resp.status == 400 and resp.headers["Content-Type"] == "application/json"


def test_params_end_before_start_is_400(sim: Sim) -> None:
    assert sim.get(PATH, start_time="2026-03-02T12:00:00Z", end_time="2026-03-02T11:00:00Z").status == 400


def test_params_offset_and_naive_times_agree(sim: Sim) -> None:
    offset = sim.get(PATH, start_time="2026-03-02T13:00:00+01:00", end_time="2026-03-02T13:30:00+01:00")
    naive = sim.get(PATH, start_time="2026-03-02T12:00:00", end_time="2026-03-02T12:30:00")
    zulu = sim.get(PATH, start_time="2026-03-02T12:00:00Z", end_time="2026-03-02T12:30:00Z")
    assert offset.status == 200 and offset.body == naive.body == zulu.body


def test_params_bad_raw_data_is_400(sim: Sim) -> None:
    assert sim.get(PATH, start_time="2026-03-02", end_time="2026-03-03", raw_data="maybe").status == 400


def test_params_non_integer_page_size_is_400(sim: Sim) -> None:
    assert sim.get(PATH, start_time="2026-03-02", end_time="2026-03-03", page_size="ten").status == 400


def test_params_unknown_path_is_404(sim: Sim) -> None:
    assert sim.get("/api/gateways/").status == 404
