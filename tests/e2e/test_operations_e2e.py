"""Operations: stats that match what was done, the cron cleanup, and the monitoring queries via wrangler."""


from tests.servers import d1_query, request, wait_for

SAT = "acme/demo-lab/ahu-1:supply-air-temp"


def lab_points(simulator, count):
    reply = request("GET", f"{simulator.url}/api/sites/demo-lab/points?per_page=100",
                    {"authorization": "Bearer dev-token"})
    return [item["name"] for item in reply.json()["items"]][:count]


def stats(worker):
    return worker.get("/api/stats").json()


def route_counts(worker):
    return {row["route_type"]: row for row in stats(worker)["requests"]}


def test_stats_count_what_the_test_did(worker, simulator):
    points = lab_points(simulator, 2)
    before = route_counts(worker)
    objects_before = stats(worker)["cache"]["totalObjects"]
    query = {"site": "demo-lab", "points": ",".join(points), "start_time": "2025-05-01T00:00:00Z",
             "end_time": "2025-05-03T00:00:00Z", "route": "cached"}
    worker.get("/api/timeseries", query)
    wait_for(lambda: stats(worker)["cache"]["totalObjects"] == objects_before + 2)
    worker.get("/api/timeseries", query)
    worker.get("/api/timeseries", {**query, "route": "direct", "end_time": "2025-05-01T01:00:00Z"})

    def settled():
        after = route_counts(worker)
        cached = after["cached"]["count"] - before.get("cached", {}).get("count", 0)
        direct = after["direct"]["count"] - before.get("direct", {}).get("count", 0)
        return (cached, direct) == (2, 1) and after

    after = wait_for(settled)
    assert after["cached"]["cache_hits"] - before.get("cached", {}).get("cache_hits", 0) == 1
    assert stats(worker)["cache"]["newestEntry"] is not None


def test_stats_count_jobs_by_status(worker, simulator):
    before = stats(worker)["jobs"]
    point = lab_points(simulator, 3)[2]
    job = worker.get("/api/timeseries", {"site": "demo-lab", "points": point, "start_time": "2025-04-01T00:00:00Z",
                                         "end_time": "2025-04-02T00:00:00Z", "route": "queued"}).json()
    wait_for(lambda: worker.get(f"/api/jobs/{job['jobId']}").json()["status"] == "completed", deadline_s=60)
    after = stats(worker)["jobs"]
    assert after["total_jobs"] == before["total_jobs"] + 1 and after["completed"] == before["completed"] + 1


def test_the_cron_run_is_safe_twice(worker):
    for _ in range(2):
        reply = request("GET", f"{worker.url}/cdn-cgi/handler/scheduled?cron=*/15+*+*+*+*")
        assert reply.status == 200
    assert worker.get("/api/health").status == 200


def test_original_monitoring_queries_work_verbatim_through_wrangler(worker, simulator, state_dir):
    point = lab_points(simulator, 5)[4]
    cached = {"site": "demo-lab", "points": point, "start_time": "2025-02-01T00:00:00Z",
              "end_time": "2025-02-02T00:00:00Z", "route": "cached"}
    worker.get("/api/timeseries", cached)
    job_id = worker.get("/api/timeseries", {**cached, "route": "queued", "start_time": "2025-02-02T00:00:00Z",
                                            "end_time": "2025-02-03T00:00:00Z"}).json()["jobId"]
    wait_for(lambda: worker.get(f"/api/jobs/{job_id}").json()["status"] == "completed", deadline_s=60)
    wait_for(lambda: worker.get("/api/timeseries", cached).headers["x-cache-status"] == "hit")
    d1_query(state_dir, "SELECT * FROM queue_jobs WHERE status='failed'")
    performance = d1_query(state_dir, "SELECT * FROM v_job_performance")
    assert any(row["status"] == "completed" for row in performance)
    assert any(row["site"] == "demo-lab" for row in d1_query(state_dir, "SELECT * FROM v_cache_performance"))


def test_logs_have_one_json_line_per_request_batch_and_cron_and_never_a_token(worker, simulator):
    point = lab_points(simulator, 4)[3]
    reply = worker.get("/api/timeseries", {"site": "demo-lab", "points": point, "route": "queued",
                                           "start_time": "2025-03-01T00:00:00Z", "end_time": "2025-03-02T00:00:00Z"})
    job_id = reply.json()["jobId"]
    wait_for(lambda: worker.get(f"/api/jobs/{job_id}").json()["status"] == "completed", deadline_s=60)
    request("GET", f"{worker.url}/cdn-cgi/handler/scheduled?cron=*/15+*+*+*+*")
    lines = wait_for(lambda: [x for x in worker.events() if x["event"] == "cron"] and worker.events())
    requests = [x for x in lines if x["event"] == "request" and x.get("jobId") == job_id]
    assert requests[0]["requestId"] == reply.headers["x-request-id"] and requests[0]["route"] == "queued"
    batches = [x for x in lines if x["event"] == "queue.batch" and any(r["jobId"] == job_id for r in x["results"])]
    assert batches and batches[0]["results"][0]["requestId"] == reply.headers["x-request-id"]
    assert "dev-token" not in "".join(worker.server.output) and "limited-token" not in "".join(worker.server.output)
