"""A D1 built by the previous release is brought up to date at start (wrangler's D1 migrations) and keeps serving."""

import hashlib
from pathlib import Path

import pytest

from tests.e2e.conftest import TOKEN, UNLIMITED, Worker
from tests.e2e.test_jobs_e2e import finished, job_params
from tests.servers import ROOT, d1_query, d1_statements, start_worker, wait_for

MIGRATIONS = sorted(path.name for path in (ROOT / "migrations").glob("*.sql"))
OWNER = hashlib.sha256(TOKEN["X-ACE-Token"].encode()).hexdigest()
OLD_JOB = "0123456789abcdef0123456789abcdef"
OLD_ROWS = f"""
INSERT INTO queue_jobs (id, site, points, start_time, end_time, owner_hash, request_hash, status, estimated_size,
  total_batches, completed_batches, progress, samples_count, result_prefix, created_at, started_at, completed_at,
  updated_at, expires_at)
VALUES ('{OLD_JOB}', 'demo-hq', '["acme/demo-hq/ahu-1:supply-air-temp"]', '2025-07-01T00:00:00.000Z',
  '2025-07-02T00:00:00.000Z', '{OWNER}', 'old-request', 'completed', 1440, 1, 1, 100, 1440, 'jobs/{OLD_JOB}/',
  '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:01.000Z', '2026-11-01T00:00:05.000Z', '2026-11-01T00:00:05.000Z',
  '2099-01-01T00:00:00.000Z');
INSERT INTO job_batches (job_id, batch_index, status, points_count, samples_count, attempts, parts, updated_at)
VALUES ('{OLD_JOB}', 0, 'done', 1, 1440, 1, 1, '2026-11-01T00:00:05.000Z');
INSERT INTO request_analytics (request_id, method, path, route_type, cache_status, site, status_code, duration_ms,
  created_at)
VALUES ('old-request', 'GET', '/api/timeseries', 'cached', 'miss', 'demo-hq', 200, 42, '2026-11-01T00:00:00.000Z');
"""


@pytest.fixture(scope="module")
def upgraded(simulator, tmp_path_factory):
    """A runtime started on a D1 that the previous release's schema.sql built and filled."""
    persist: Path = tmp_path_factory.mktemp("previous-release-state")
    d1_statements(persist, (ROOT / "migrations" / MIGRATIONS[0]).read_text() + OLD_ROWS)
    server = start_worker(simulator.url, persist, ratelimits=UNLIMITED)
    try:
        yield Worker(server.url, server), persist
    finally:
        server.stop()


def test_upgrade_records_every_migration_as_wrangler_does(upgraded):
    _, persist = upgraded
    assert [row["name"] for row in d1_query(persist, "SELECT name FROM d1_migrations ORDER BY id")] == MIGRATIONS


def test_upgraded_d1_serves_the_previous_release_job(upgraded):
    worker, _ = upgraded
    body = worker.get(f"/api/jobs/{OLD_JOB}").json()
    assert (body["status"], body["samplesCount"], body["progress"]) == ("completed", 1440, 100)


def test_upgraded_d1_keeps_the_previous_release_analytics_and_records_new_requests(upgraded, hq_points):
    worker, persist = upgraded
    params = {"site": "demo-hq", "points": hq_points[0], "start_time": "2025-08-04T00:00:00Z",
              "end_time": "2025-08-04T06:00:00Z", "route": "cached"}
    assert worker.get("/api/timeseries", params).status == 200
    rows = d1_query(persist, "SELECT request_id, duration_ms FROM request_analytics ORDER BY id")
    assert rows[0] == {"request_id": "old-request", "duration_ms": 42} and len(rows) >= 2


def test_upgraded_d1_runs_a_new_job_to_completion(upgraded, hq_points):
    worker, persist = upgraded
    reply = worker.get("/api/timeseries", job_params(hq_points[:3]))
    assert reply.status == 202
    job_id = reply.json()["jobId"]
    assert wait_for(lambda: finished(worker, job_id), deadline_s=90)["status"] == "completed"
    batch = d1_query(persist, f"SELECT plan FROM job_batches WHERE job_id = '{job_id}'")
    assert batch and batch[0]["plan"]
