"""make bench's fair floor: `/__bench/floor`, answered only by a runtime started with --floor-module."""

from pathlib import Path

import pytest

from services.cache import month_spans, point_key
from services.timerange import Span, parse_iso
from tests.e2e.conftest import UNLIMITED, Worker
from tests.servers import ROOT, d1_query, start_worker, wait_for

FLOOR_MODULE = ROOT / "bench" / "floorworker.py"
FLOOR_PATH = "/__bench/floor"
SPAN = {"start_time": "2025-04-29T00:00:00Z", "end_time": "2025-05-02T00:00:00Z"}  # crosses a month: 2 objects a point
BODY_BYTES = 123_457


@pytest.fixture(scope="module")
def floor_state(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("floor-state")


@pytest.fixture(scope="module")
def floor_worker(simulator, floor_state):
    server = start_worker(simulator.url, floor_state, ratelimits=UNLIMITED, floor_module=FLOOR_MODULE)
    try:
        yield Worker(server.url, server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cached_query(floor_worker, hq_points) -> dict:
    """A query whose hit is cached in the floor worker's R2."""
    query = {"site": "demo-hq", "points": ",".join(hq_points[:2]), **SPAN, "route": "cached"}
    assert floor_worker.get("/api/timeseries", query).status == 200
    wait_for(lambda: floor_worker.get("/api/timeseries", query).headers.get("x-cache-status") == "hit")
    return query


def hit_keys(query: dict) -> list[str]:
    span = Span(parse_iso(query["start_time"]), parse_iso(query["end_time"]))
    return [point_key(query["site"], name, month) for name in query["points"].split(",") for month in month_spans(span)]


def test_floor_path_is_the_services_404_without_the_option(worker, hq_points):
    reply = worker.get(FLOOR_PATH, {"site": "demo-hq", "points": hq_points[0], **SPAN, "bytes": "100"})
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_floor_answers_a_body_of_the_bytes_asked(floor_worker, cached_query):
    reply = floor_worker.get(FLOOR_PATH, {**cached_query, "bytes": str(BODY_BYTES)})
    assert reply.status == 200
    assert len(reply.body) == BODY_BYTES and isinstance(reply.json(), str)


def test_floor_reads_every_object_the_hit_reads(floor_worker, floor_state, cached_query):
    keys = set(hit_keys(cached_query))
    reply = floor_worker.get(FLOOR_PATH, {**cached_query, "bytes": "100"})
    rows = d1_query(floor_state, "SELECT cache_key, compressed_size FROM cache_metadata")
    stored = sum(row["compressed_size"] for row in rows if row["cache_key"] in keys)
    assert len(keys) == 4  # two points, each in two months
    assert reply.headers["x-floor-objects"] == "4"
    assert int(reply.headers["x-floor-object-bytes"]) == stored


def test_floor_of_a_query_not_cached_is_a_404(floor_worker, hq_points):
    reply = floor_worker.get(FLOOR_PATH, {"site": "demo-hq", "points": hq_points[5], **SPAN, "bytes": "100"})
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_floor_worker_serves_every_other_path_with_the_worker(floor_worker):
    reply = floor_worker.get("/api/health", headers=None)
    assert reply.status == 200 and reply.json()["status"] == "healthy"
