"""A point FlightDeck refuses to one token is never served to it from what another token cached.

The simulator's `point-token` reads two demo-hq points (supply-air temperature and the occupancy mode):
FlightDeck's list of the site it gives that token holds only those, and its data calls for any other
point answer 403. `dev-token` reads everything and fills the shared cache first.
"""

from urllib.parse import quote, urlencode

import pytest

from services.timerange import parse_iso
from tests.servers import request, wait_for

SAT = "acme/demo-hq/ahu-1:supply-air-temp"  # granted to point-token
RAT = "acme/demo-hq/ahu-1:return-air-temp"  # refused to point-token
MODE = "acme/demo-hq/ahu-1:occupancy-mode"  # granted to point-token; one test makes FlightDeck refuse it (403)
POINT_TOKEN = {"X-ACE-Token": "point-token"}


def params(points, start, end, **extra):
    return {"site": "demo-hq", "points": ",".join(points), "start_time": start, "end_time": end, **extra}


def cache_for_dev_token(worker, start, end):
    query = params([SAT, RAT], start, end, route="cached")
    worker.get("/api/timeseries", query)
    assert wait_for(lambda: worker.get("/api/timeseries", query).headers["x-cache-status"] == "hit")


def rat_calls(simulator) -> list[dict]:
    """The simulator's data calls naming RAT (the request log keeps point names, never tokens)."""
    return [c for c in simulator.api_calls() if RAT in (c["point_names"] or [])]


@pytest.mark.parametrize("points", [[RAT], [SAT, RAT]], ids=["refused-alone", "refused-beside-granted"])
def test_cached_route_never_serves_a_refused_point_another_token_cached(worker, simulator, points):
    start, end = "2025-07-01T00:00:00Z", "2025-07-03T00:00:00Z"
    cache_for_dev_token(worker, start, end)
    simulator.reset()
    reply = worker.get("/api/timeseries", params(points, start, end, route="cached"), headers=POINT_TOKEN)
    assert reply.status == 200, reply.json()
    data = reply.json()["data"]
    assert data[RAT]["count"] == 0 and data[RAT]["samples"] == [] and "may read" in data[RAT]["error"]
    if SAT in points:
        assert data[SAT]["error"] is None and data[SAT]["samples"] == simulator.truth(SAT, start, end)
        assert reply.headers["x-cache-status"] == "hit"
    assert rat_calls(simulator) == []


def test_app_query_never_serves_a_refused_point_another_token_cached(worker, simulator):
    start, end = "2025-07-05T00:00:00Z", "2025-07-06T00:00:00Z"
    cache_for_dev_token(worker, start, end)
    query = {"site_name": "demo-hq", "point_names": f"{SAT},{RAT}", "start_time": str(parse_iso(start)),
             "end_time": str(parse_iso(end))}
    reply = request("GET", f"{worker.url}/timeseries/query?{urlencode(query)}", POINT_TOKEN)
    assert reply.status == 200, reply.json()
    body = reply.json()
    served = {sample["point_name"] for sample in body["samples"]}
    assert served == {SAT} and len(body["samples"]) == len(simulator.truth(SAT, start, end))
    assert "may read" in body["metadata"]["errors"][RAT]


def test_a_job_of_a_refused_point_lists_it_as_an_error_and_serves_the_granted_one(worker, simulator):
    start, end = "2025-07-08T00:00:00Z", "2025-07-09T00:00:00Z"
    cache_for_dev_token(worker, start, end)
    simulator.reset()
    reply = worker.get("/api/timeseries", params([SAT, RAT], start, end, route="queued"), headers=POINT_TOKEN)
    assert reply.status == 202, reply.json()
    job_id = reply.json()["jobId"]
    assert wait_for(lambda: worker.get(f"/api/jobs/{job_id}", headers=POINT_TOKEN).json()["status"] == "completed",
                    deadline_s=60)
    data = worker.get(f"/api/jobs/{job_id}/result", headers=POINT_TOKEN).json()["data"]
    assert data[RAT]["samples"] == [] and "may read" in data[RAT]["error"]
    assert data[SAT]["samples"] == simulator.truth(SAT, start, end)
    assert rat_calls(simulator) == []


def test_paginated_never_serves_a_refused_point_another_token_cached(worker, simulator):
    start, end = "2025-07-10T00:00:00Z", "2025-07-11T00:00:00Z"
    cache_for_dev_token(worker, start, end)
    query = urlencode({"start_time": start, "end_time": end, "raw_data": "true", "page_size": "100000",
                       "point_names": f"{SAT},{RAT}"})
    reply = request("GET", f"{worker.url}/api/sites/demo-hq/timeseries/paginated?{query}", POINT_TOKEN)
    assert reply.status == 200, reply.body[:300]
    samples = reply.json()["point_samples"]
    assert {s["name"] for s in samples} == {SAT} and len(samples) == len(simulator.truth(SAT, start, end))


def test_a_403_for_a_listed_point_hides_its_cached_days_and_is_not_asked_again(worker, simulator):
    cached = params([MODE], "2025-07-12T00:00:00Z", "2025-07-14T00:00:00Z", route="cached")
    worker.get("/api/timeseries", cached)
    assert wait_for(lambda: worker.get("/api/timeseries", cached).headers["x-cache-status"] == "hit")
    simulator.faults([{"path_contains": quote(MODE, safe=""), "status": 403}])  # FlightDeck now refuses MODE
    wider = params([MODE], "2025-07-12T00:00:00Z", "2025-07-15T00:00:00Z", route="cached")
    refused = worker.get("/api/timeseries", wider, headers=POINT_TOKEN).json()["data"][MODE]
    assert refused["samples"] == [] and "refuses" in refused["error"]
    # The refusal is written after the response (waitUntil): the fully cached days show when it is in D1.
    assert wait_for(lambda: "may read" in (worker.get("/api/timeseries", cached, headers=POINT_TOKEN)
                                           .json()["data"][MODE]["error"] or ""))
    simulator.reset()  # FlightDeck would answer now: the remembered refusal still keeps MODE from this token
    again = worker.get("/api/timeseries", wider, headers=POINT_TOKEN).json()["data"][MODE]
    assert again["samples"] == [] and "may read" in again["error"]
    assert [c for c in simulator.api_calls() if MODE in (c["point_names"] or [])] == []
