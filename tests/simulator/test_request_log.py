"""`/_sim/log`: one entry per API call, with what was asked and answered, never the token."""

from __future__ import annotations

from tests.simulator.simclient import Sim

RANGE = {"start_time": "2026-03-02T12:00:00Z", "end_time": "2026-03-02T12:10:00Z"}


def _log(sim: Sim) -> list[dict]:
    return sim.control("GET", "log").json()


def test_request_log_records_a_paginated_call(sim: Sim) -> None:
    sim.call("GET", "/api/sites/demo-lab/timeseries/paginated", {**RANGE, "page_size": 10, "raw_data": "true"})
    (entry,) = _log(sim)
    assert entry["method"] == "GET" and entry["path"] == "/api/sites/demo-lab/timeseries/paginated"
    assert (entry["site"], entry["page_size"], entry["status"], entry["samples"]) == ("demo-lab", 10, 200, 10)
    assert (entry["start_time"], entry["end_time"], entry["cursor"]) == (RANGE["start_time"], RANGE["end_time"], None)
    assert entry["token_ok"] is True and entry["bytes"] > 0 and entry["duration_ms"] >= 0


def test_request_log_has_every_field(sim: Sim) -> None:
    sim.get("/api/sites/")
    assert set(_log(sim)[0]) >= {
        "seq",
        "method",
        "path",
        "point_names",
        "site",
        "start_time",
        "end_time",
        "cursor",
        "page_size",
        "status",
        "samples",
        "bytes",
        "duration_ms",
        "token_ok",
    }


def test_request_log_records_batch_point_names(sim: Sim) -> None:
    names = ["acme/demo-plant/meter.main/kW", "acme/demo-lab/lab-1:zone-temp"]
    sim.call("POST", "/api/points/get_timeseries", RANGE, {"points": [{"name": n} for n in names]})
    entry = _log(sim)[0]
    assert entry["point_names"] == names and entry["site"] == "demo-lab,demo-plant" and entry["samples"] == 12


def test_request_log_records_decoded_point_name(sim: Sim) -> None:
    sim.get("/api/points/acme%2Fdemo-plant%2Fmeter.main%2FkW/timeseries", **RANGE)
    entry = _log(sim)[0]
    assert entry["point_names"] == ["acme/demo-plant/meter.main/kW"] and entry["site"] == "demo-plant"


def test_request_log_never_records_the_token(sim: Sim) -> None:
    sim.call("GET", "/api/sites/", token="secret-token-xyz")
    sim.get("/api/sites/")
    text = sim.control("GET", "log").body.decode()
    assert "secret-token-xyz" not in text and "dev-token" not in text
    assert [e["token_ok"] for e in _log(sim)] == [False, True]


def test_request_log_seq_increases(sim: Sim) -> None:
    for _ in range(3):
        sim.get("/api/sites/")
    seqs = [e["seq"] for e in _log(sim)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_request_log_delete_clears(sim: Sim) -> None:
    sim.get("/api/sites/")
    assert sim.control("DELETE", "log").json() == {"cleared": 1}
    assert _log(sim) == []


def test_request_log_records_injected_faults(sim: Sim) -> None:
    sim.control("PUT", "faults", {"rules": [{"path_contains": "/api/", "status": 503, "times": 1}]})
    sim.get("/api/sites/")
    entry = _log(sim)[0]
    assert entry["status"] == 503 and entry["fault"] == "status:503"
