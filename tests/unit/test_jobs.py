"""Queued jobs end to end in-process: submit, consume (with redelivery, retries, DLQ), status, result."""

import asyncio
from dataclasses import replace

import pytest

from services.query import Priority
from services.timerange import parse_iso
from tests.doubles import FakeMessage
from tests.fakeflightdeck import MANY, POINTS, truth
from tests.unit.helpers import call, series_params

pytestmark = pytest.mark.usefixtures("many_points")


def queue_job(api, points=POINTS, token="good", **extra):
    return call(api, "GET", "/api/timeseries", series_params(points, route="queued", **extra), token=token)


def deliver(services, queues, attempts=1, priority=Priority.NORMAL):
    messages = [FakeMessage(body, attempts) for body in queues[priority].sent]
    queues[priority].sent.clear()
    asyncio.run(services.consumer().consume("building-vitals-jobs", messages))
    return messages


def job_row(db, job_id):
    return asyncio.run(db.first("SELECT * FROM queue_jobs WHERE id = ?", (job_id,)))


def test_queued_request_answers_202_with_location_and_stores_the_job(api, db, queues):
    response, body = queue_job(api)
    assert response.status == 202 and body["status"] == "queued" and body["pollInterval"] == 5000
    assert response.headers["location"] == body["statusUrl"] == f"/api/jobs/{body['jobId']}"
    assert response.headers["retry-after"] == "5"
    row = job_row(db, body["jobId"])
    assert row["status"] == "queued" and row["total_batches"] == 1 and row["owner_hash"] != "good"


def test_the_token_travels_only_in_the_queue_message(api, db, queues):
    queue_job(api)
    assert queues[Priority.NORMAL].sent[0]["token"] == "good"
    dump = "\n".join(str(row) for table in ("queue_jobs", "job_batches")
                     for row in asyncio.run(db.all(f"SELECT * FROM {table}")))
    assert "good" not in dump


def test_120_points_make_3_batches_of_at_most_50(api, queues, db):
    _, body = queue_job(api, MANY)
    sent = queues[Priority.NORMAL].sent
    assert [len(m["points"]) for m in sent] == [50, 50, 20]
    assert job_row(db, body["jobId"])["total_batches"] == 3


def test_the_same_request_returns_the_same_job(api, queues):
    _, first = queue_job(api)
    _, second = queue_job(api)
    assert second["jobId"] == first["jobId"] and len(queues[Priority.NORMAL].sent) == 1


def test_another_owner_gets_its_own_job_and_cannot_see_this_one(api, flightdeck):
    _, mine = queue_job(api)
    response, _ = call(api, "GET", f"/api/jobs/{mine['jobId']}", token="other")
    assert response.status == 404
    response, _ = call(api, "DELETE", f"/api/jobs/{mine['jobId']}", token="other")
    assert response.status == 404


def test_high_priority_jobs_go_to_their_own_queue(api, queues, db):
    _, body = queue_job(api, priority="high")
    assert len(queues[Priority.HIGH].sent) == 1 and not queues[Priority.NORMAL].sent
    assert job_row(db, body["jobId"])["priority"] == "high"


def test_consumer_completes_the_job_and_the_result_equals_truth(api, services, queues, db):
    _, body = queue_job(api, POINTS)
    deliver(services, queues)
    row = job_row(db, body["jobId"])
    assert row["status"] == "completed" and row["progress"] == 100 and row["started_at"] and row["completed_at"]
    _, status = call(api, "GET", f"/api/jobs/{body['jobId']}")
    assert status["resultUrl"] == f"/api/jobs/{body['jobId']}/result" and status["samplesCount"] == 3 * 3 * 288
    _, result = call(api, "GET", f"/api/jobs/{body['jobId']}/result")
    for point in POINTS:
        assert result["data"][point]["samples"] == truth(point, parse_iso("2025-11-10"), parse_iso("2025-11-13"))
    assert list(result["data"]) == list(POINTS)


def test_progress_moves_batch_by_batch(api, services, queues, db):
    _, body = queue_job(api, MANY)
    messages = [FakeMessage(m) for m in queues[Priority.NORMAL].sent]
    seen = []
    for message in messages:
        asyncio.run(services.consumer().consume("q", [message]))
        seen.append(job_row(db, body["jobId"])["progress"])
    assert seen == [33, 66, 100]


def test_a_redelivered_batch_does_not_count_twice(api, services, queues, db):
    _, body = queue_job(api, MANY)
    first = queues[Priority.NORMAL].sent[0]
    for _ in range(2):
        asyncio.run(services.consumer().consume("q", [FakeMessage(first)]))
    row = job_row(db, body["jobId"])
    assert row["completed_batches"] == 1 and row["progress"] == 33


def test_a_failing_batch_is_retried_with_exponential_delay_and_shows_retrying(api, services, queues, flightdeck, db):
    _, body = queue_job(api)
    flightdeck.faults = [500] * 50
    (message,) = deliver(services, queues, attempts=2)
    assert message.outcome == ("retry", 2)
    row = job_row(db, body["jobId"])
    assert row["status"] == "retrying" and "500" in row["error"] and row["retry_count"] == 1


def test_dead_letter_marks_the_job_failed_with_the_last_error(api, services, queues, flightdeck, db):
    _, body = queue_job(api)
    sent = list(queues[Priority.NORMAL].sent)
    flightdeck.faults = [500] * 50
    deliver(services, queues)
    asyncio.run(services.consumer().consume_dead_letters([FakeMessage(sent[0])]))
    row = job_row(db, body["jobId"])
    assert row["status"] == "failed" and "500" in row["error"]


def test_cancel_stops_the_consumer_and_is_never_overwritten(api, services, queues, db, flightdeck):
    _, body = queue_job(api)
    response, cancelled = call(api, "DELETE", f"/api/jobs/{body['jobId']}")
    assert response.status == 200 and cancelled == {"success": True, "message": "Job cancelled", "jobId": body["jobId"]}
    (message,) = deliver(services, queues)
    assert message.outcome == ("ack", None) and flightdeck.calls == []
    assert job_row(db, body["jobId"])["status"] == "cancelled"


def test_cancelling_a_finished_job_is_409_with_its_status(api, services, queues):
    _, body = queue_job(api)
    deliver(services, queues)
    response, error = call(api, "DELETE", f"/api/jobs/{body['jobId']}")
    assert response.status == 409 and error["error"]["status"] == "completed"


def test_result_of_an_unfinished_job_is_409(api):
    _, body = queue_job(api)
    response, error = call(api, "GET", f"/api/jobs/{body['jobId']}/result")
    assert response.status == 409 and error["error"]["status"] == "queued"


def test_unknown_job_is_404(api):
    assert call(api, "GET", "/api/jobs/0123456789abcdef0123456789abcdef")[0].status == 404
    assert call(api, "GET", "/api/jobs/..%2F..%2Fetc")[0].status == 404


def test_queue_large_request_keeps_the_original_call_shape(services, queues):
    ticket = asyncio.run(services.jobs("good").queue_large_request(
        "ignored", "demo-hq", list(POINTS), "2025-11-10T00:00:00Z", "2025-11-13T00:00:00Z", "user-1"))
    assert ticket.created and ticket.job["estimated_size"] == 3 * 3 * 100
    assert len(queues[Priority.NORMAL].sent) == 1


def test_the_consumer_sizes_calls_by_the_points_collect_interval(api, services, queues, flightdeck):
    queue_job(api, POINTS, start="2025-10-01T00:00:00Z", end="2025-11-10T00:00:00Z")
    deliver(services, queues)
    # 3 five-minute points over 40 days are 34,560 samples: 4 calls of JOB_PAGE_SAMPLES (10,000), not the 18
    # that 1-minute data would need
    assert len(flightdeck.calls) == 4


def test_an_expired_result_is_404_and_the_same_request_then_makes_a_new_job(api, services, queues, clock):
    _, first = queue_job(api)
    deliver(services, queues)
    clock.now_ms += 2 * 86_400_000
    response, _ = call(api, "GET", f"/api/jobs/{first['jobId']}/result")
    assert response.status == 404
    _, second = queue_job(api)
    assert second["jobId"] != first["jobId"] and second["status"] == "queued"


def test_job_list_holds_only_the_callers_jobs_newest_first(api, clock):
    _, older = queue_job(api)
    clock.now_ms += 60_000
    _, newer = queue_job(api, POINTS[:1])
    queue_job(api, token="other")
    response, body = call(api, "GET", "/api/jobs")
    assert response.status == 200
    assert [job["jobId"] for job in body["jobs"]] == [newer["jobId"], older["jobId"]]
    assert body["jobs"][0]["status"] == "queued" and body["jobs"][0]["progress"] == 0


def redeliver(services, bodies, attempts, consumer=None):
    messages = [FakeMessage(body, attempts) for body in bodies]
    asyncio.run((consumer or services.consumer()).consume("building-vitals-jobs", messages))
    return messages


def test_a_point_that_keeps_failing_is_retried_then_becomes_that_points_error(api, services, queues, flightdeck, db):
    _, body = queue_job(api)
    bodies = list(queues[Priority.NORMAL].sent)
    flightdeck.broken = {POINTS[1]}
    (first,) = redeliver(services, bodies, attempts=1)
    assert first.outcome[0] == "retry" and job_row(db, body["jobId"])["status"] == "retrying"
    (last,) = redeliver(services, bodies, attempts=services.settings.job_point_attempts)
    assert last.outcome == ("ack", None) and job_row(db, body["jobId"])["status"] == "completed"
    _, result = call(api, "GET", f"/api/jobs/{body['jobId']}/result")
    assert result["data"][POINTS[1]]["samples"] == [] and "500" in result["data"][POINTS[1]]["error"]
    assert result["data"][POINTS[0]]["samples"] == truth(POINTS[0], parse_iso("2025-11-10"), parse_iso("2025-11-13"))


def small_parts(services):
    """Parts of at most 2,000 samples: the 3 five-minute points over 3 days (864 each) make parts of 2 and 1."""
    services.settings = replace(services.settings, job_part_samples=2_000)


def test_past_its_call_budget_a_batch_continues_in_a_follow_up_message_at_its_next_part(api, services, queues,
                                                                                         flightdeck, db):
    small_parts(services)
    _, body = queue_job(api)
    consumer = services.consumer()
    consumer.calls_left = 1  # one call a part
    (message,) = redeliver(services, queues[Priority.NORMAL].sent, 1, consumer)
    follow_up = queues[Priority.NORMAL].sent[-1]
    assert message.outcome == ("ack", None) and follow_up["batch"] == 0 and len(flightdeck.calls) == 1
    assert job_row(db, body["jobId"])["status"] == "processing"
    redeliver(services, [follow_up], 1)
    assert [names for names, _, _ in flightdeck.calls] == [",".join(POINTS[:2]), POINTS[2]]
    assert job_row(db, body["jobId"])["status"] == "completed"
    _, result = call(api, "GET", f"/api/jobs/{body['jobId']}/result")
    for point in POINTS:
        assert result["data"][point]["samples"] == truth(point, parse_iso("2025-11-10"), parse_iso("2025-11-13"))


def test_a_part_too_big_for_a_fresh_invocations_budget_is_retried_not_looped(api, services, queues):
    queue_job(api)
    consumer = services.consumer()
    consumer.calls_left = 0
    (message,) = redeliver(services, queues[Priority.NORMAL].sent, 1, consumer)
    assert message.outcome[0] == "retry" and len(queues[Priority.NORMAL].sent) == 1


def test_the_job_row_and_its_batch_rows_are_created_in_one_d1_batch(api, db):
    db.conn.execute("DROP TABLE job_batches")
    response, _ = queue_job(api)
    assert response.status == 500 and asyncio.run(db.all("SELECT id FROM queue_jobs")) == []


LEASE_MS = 16 * 60_000  # past the 15-minute lease


def test_the_cron_fails_a_job_whose_consumer_died_within_its_lease(api, services, db, clock):
    _, body = queue_job(api)
    asyncio.run(services.jobs_repo.start(body["jobId"], clock.now_ms))  # the runtime is killed here
    clock.now_ms += LEASE_MS
    assert asyncio.run(services.maintenance().run())["staleJobsFailed"] == 1
    row = job_row(db, body["jobId"])
    assert row["status"] == "failed" and "lease" in row["error"] and row["expires_at"]


def test_the_cron_leaves_a_job_making_progress(api, services, db, clock):
    _, body = queue_job(api)
    clock.now_ms += LEASE_MS // 2
    asyncio.run(services.jobs_repo.start(body["jobId"], clock.now_ms))
    clock.now_ms += LEASE_MS // 2
    assert asyncio.run(services.maintenance().run())["staleJobsFailed"] == 0


def test_a_repeat_of_a_stale_job_sends_its_pending_batches_again(api, services, queues, db, clock):
    _, first = queue_job(api, MANY)
    redeliver(services, queues[Priority.NORMAL].sent[:1], 1)  # batch 0 done, the other messages lost
    queues[Priority.NORMAL].sent.clear()
    clock.now_ms += LEASE_MS
    _, again = queue_job(api, MANY)
    assert again["jobId"] == first["jobId"]
    assert [m["batch"] for m in queues[Priority.NORMAL].sent] == [1, 2]
    assert [len(m["points"]) for m in queues[Priority.NORMAL].sent] == [50, 20]


def test_a_job_stale_after_its_re_enqueues_is_failed_and_the_repeat_gets_a_new_job(api, services, queues, db, clock):
    _, first = queue_job(api)
    for _ in range(services.settings.job_max_requeues):
        clock.now_ms += LEASE_MS
        queue_job(api)
    clock.now_ms += LEASE_MS
    _, fresh = queue_job(api)
    assert fresh["jobId"] != first["jobId"] and fresh["status"] == "queued"
    assert job_row(db, first["jobId"])["status"] == "failed"


def test_a_new_job_beyond_the_active_cap_is_429_naming_the_active_jobs(api, queues):
    active = [queue_job(api, (point,))[1]["jobId"] for point in MANY[:3]]
    response, body = queue_job(api, MANY[3:5])
    assert response.status == 429 and response.headers["retry-after"] == "30"
    assert body["error"]["activeJobs"] == active and body["error"]["limit"] == "MAX_ACTIVE_JOBS_PER_TOKEN"


def test_the_same_request_is_answered_even_at_the_cap(api, queues):
    jobs = [queue_job(api, (point,))[1]["jobId"] for point in MANY[:3]]
    response, body = queue_job(api, MANY[:1])
    assert response.status == 202 and body["jobId"] == jobs[0]


def test_a_finished_job_frees_its_slot(api, services, queues):
    for point in MANY[:3]:
        queue_job(api, (point,))
    deliver(services, queues)
    assert queue_job(api, MANY[3:5])[0].status == 202


def test_a_point_flightdeck_refuses_is_that_points_error_at_once_and_remembered(api, services, queues, flightdeck, db):
    _, body = queue_job(api)
    flightdeck.refused = {POINTS[1]}
    (message,) = deliver(services, queues)
    assert message.outcome == ("ack", None) and job_row(db, body["jobId"])["status"] == "completed"
    _, result = call(api, "GET", f"/api/jobs/{body['jobId']}/result")
    assert result["data"][POINTS[1]]["samples"] == [] and "refuses" in result["data"][POINTS[1]]["error"]
    assert result["data"][POINTS[0]]["samples"] == truth(POINTS[0], parse_iso("2025-11-10"), parse_iso("2025-11-13"))
    assert asyncio.run(db.all("SELECT name, reason FROM point_refusals")) == [{"name": POINTS[1], "reason": "refused"}]


def test_a_job_outliving_its_owners_access_answer_sizes_calls_from_the_remembered_site_list(api, services, queues,
                                                                                          transport, clock):
    queue_job(api)
    clock.now_ms += services.settings.access_ttl_seconds * 1000 + 1  # still within CATALOG_TTL_SECONDS
    sent = len(transport.requests)
    (message,) = deliver(services, queues)
    assert message.outcome == ("ack", None)
    assert not any("/sites/" in request.url for request in transport.requests[sent:])
