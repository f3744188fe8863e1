"""The queued route on Miniflare's real queues: batches, progress, retries, the DLQ, cancel, results."""

import time
from urllib.parse import quote

from tests.e2e.conftest import Worker
from tests.servers import request, start_worker, wait_for

START, END = "2025-08-04T00:00:00Z", "2025-08-05T00:00:00Z"


def job_params(points, start=START, end=END, **extra):
    return {"site": "demo-hq", "points": ",".join(points), "start_time": start, "end_time": end,
            "route": "queued", **extra}


def status(worker, job_id, token="dev-token"):
    return worker.get(f"/api/jobs/{job_id}", headers={"X-ACE-Token": token})


def finished(worker, job_id):
    body = status(worker, job_id).json()
    return body if body["status"] in ("completed", "failed", "cancelled") else None


def test_a_120_point_job_completes_in_3_batches_and_equals_truth(worker, simulator, hq_points):
    points = hq_points[:120]
    simulator.faults([], latency_ms=150)
    reply = worker.get("/api/timeseries", job_params(points))
    assert reply.status == 202 and reply.headers["location"] == f"/api/jobs/{reply.json()['jobId']}"
    job_id = reply.json()["jobId"]
    seen = set()

    def done():
        body = status(worker, job_id).json()
        seen.add(body["progress"])
        return body if body["status"] == "completed" else None

    final = wait_for(done, deadline_s=120, every_s=0.05)
    assert final["totalBatches"] == 3 and final["progress"] == 100
    assert any(0 < p < 100 for p in seen)
    result = worker.get(final["resultUrl"]).json()
    assert list(result["data"]) == points
    for point in points[::17]:
        assert result["data"][point]["samples"] == simulator.truth(point, START, END)
    assert final["samplesCount"] == sum(entry["count"] for entry in result["data"].values())


def test_the_same_request_returns_the_same_job(worker, hq_points):
    first = worker.get("/api/timeseries", job_params(hq_points[120:122]))
    second = worker.get("/api/timeseries", job_params(hq_points[120:122]))
    assert first.json()["jobId"] == second.json()["jobId"]


def test_another_token_can_neither_read_nor_cancel_the_job(worker, hq_points):
    job_id = worker.get("/api/timeseries", job_params(hq_points[122:124])).json()["jobId"]
    assert status(worker, job_id, token="limited-token").status == 404
    assert worker.delete(f"/api/jobs/{job_id}", headers={"X-ACE-Token": "limited-token"}).status == 404
    assert worker.get(f"/api/jobs/{job_id}/result", headers={"X-ACE-Token": "limited-token"}).status == 404


def test_a_batch_that_fails_twice_then_succeeds_completes_with_retries(worker, simulator, hq_points):
    point = hq_points[130]
    calls_per_attempt = 4  # one call and UPSTREAM_MAX_RETRIES=3 retries
    simulator.faults([{"path_contains": quote(point, safe=""), "status": 500, "times": 2 * calls_per_attempt}])
    job_id = worker.get("/api/timeseries", job_params([point])).json()["jobId"]
    final = wait_for(lambda: finished(worker, job_id), deadline_s=90)
    assert final["status"] == "completed" and final["retries"] == 2 and final["error"] is None


def test_a_batch_that_always_fails_ends_failed_through_the_dead_letter_queue(worker, simulator, hq_points):
    point = hq_points[131]
    simulator.faults([{"path_contains": quote(point, safe=""), "status": 500}])
    job_id = worker.get("/api/timeseries", job_params([point])).json()["jobId"]
    final = wait_for(lambda: finished(worker, job_id), deadline_s=120)
    assert final["status"] == "failed" and "500" in final["error"]


def test_cancel_during_a_job_stays_cancelled_and_stops_upstream_calls(worker, simulator, hq_points):
    points = hq_points[:150]  # three batches of 50
    simulator.faults([], latency_ms=400)
    job_id = worker.get("/api/timeseries", job_params(points, "2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z")
                        ).json()["jobId"]
    wait_for(lambda: status(worker, job_id).json()["status"] == "processing", deadline_s=30, every_s=0.05)
    cancelled = worker.delete(f"/api/jobs/{job_id}")
    assert cancelled.status == 200 and cancelled.json()["message"] == "Job cancelled"
    cancel_seq = max((entry["seq"] for entry in simulator.log()), default=0)
    # Once every batch's message has been handled, nothing can call upstream for this job any more.
    wait_for(lambda: handled_batches(worker, job_id) == {0, 1, 2}, deadline_s=60)
    later = [entry for entry in simulator.api_calls() if entry["seq"] > cancel_seq]
    batches_after_cancel = {points.index(name) // 50 for entry in later
                            for name in entry.get("point_names") or () if name in points}
    assert len(batches_after_cancel) <= 1  # at most the batch in flight finished its part
    assert status(worker, job_id).json()["status"] == "cancelled"
    again = worker.delete(f"/api/jobs/{job_id}")
    assert again.status == 409 and again.json()["error"]["status"] == "cancelled"


def handled_batches(worker, job_id) -> set[int]:
    """The job's batches whose queue message the consumer has finished with (acked, not retried)."""
    return {result["batch"] for event in worker.events() if event.get("event") == "queue.batch"
            for result in event["results"]
            if result["jobId"] == job_id and result["outcome"] in ("done", "cancelled", "skipped", "failed")}


def test_result_of_a_job_still_running_is_409(worker, simulator, hq_points):
    simulator.faults([], latency_ms=1500)
    job_id = worker.get("/api/timeseries", job_params(hq_points[140:142], "2025-06-01T00:00:00Z",
                                                      "2025-06-02T00:00:00Z")).json()["jobId"]
    reply = worker.get(f"/api/jobs/{job_id}/result")
    assert reply.status == 409 and reply.json()["error"]["status"] in ("queued", "processing")
    worker.delete(f"/api/jobs/{job_id}")


def test_a_high_priority_job_finishes_before_a_long_low_priority_one_started_earlier(worker, simulator, hq_points):
    simulator.faults([], latency_ms=600)
    low = worker.get("/api/timeseries", job_params(hq_points[:150], "2025-05-01T00:00:00Z", "2025-05-04T00:00:00Z",
                                                   priority="low")).json()["jobId"]
    wait_for(lambda: status(worker, low).json()["status"] == "processing", deadline_s=30, every_s=0.05)
    high = worker.get("/api/timeseries", job_params(hq_points[150:151], "2025-05-01T00:00:00Z",
                                                    "2025-05-02T00:00:00Z", priority="high")).json()["jobId"]
    high_done = wait_for(lambda: finished(worker, high), deadline_s=60)
    low_done = wait_for(lambda: finished(worker, low), deadline_s=180)
    assert high_done["status"] == low_done["status"] == "completed"
    assert high_done["completedAt"] < low_done["completedAt"]


LEASE_S = 2


def test_jobs_cut_off_by_a_runtime_stop_end_completed_or_failed_within_their_lease(simulator, hq_points,
                                                                                   tmp_path):
    """One is repeated after its lease (re-enqueued, completes); the other is left to the cron (failed)."""
    variables = {"UPSTREAM_TIMEOUT_SECONDS": "30", "JOB_LEASE_SECONDS": str(LEASE_S)}
    first = Worker(*_started(simulator, tmp_path, variables))
    revived, abandoned = job_params(hq_points[:3]), job_params(hq_points[3:6])
    try:
        simulator.faults([], latency_ms=3000)
        replies = [first.get("/api/timeseries", params).json() for params in (revived, abandoned)]
        assert all("jobId" in r for r in replies), replies
        ids = [r["jobId"] for r in replies]
        wait_for(lambda: status(first, ids[0]).json()["status"] == "processing", deadline_s=30)
    finally:
        first.server.stop()
    simulator.faults([], latency_ms=0)
    second = Worker(*_started(simulator, tmp_path, variables))
    try:
        time.sleep(LEASE_S + 0.5)  # the lease is wall-clock time: let it pass
        again = second.get("/api/timeseries", revived).json()
        assert again["jobId"] == ids[0]
        request("GET", f"{second.url}/cdn-cgi/handler/scheduled?cron=*/15+*+*+*+*")
        assert wait_for(lambda: finished(second, ids[0]), deadline_s=60)["status"] == "completed"
        assert wait_for(lambda: finished(second, ids[1]), deadline_s=10)["status"] in ("completed", "failed")
    finally:
        second.server.stop()


def _started(simulator, state, variables):
    server = start_worker(simulator.url, state, **variables)
    return server.url, server
