"""GET /api/stats from D1 rows the test wrote itself: every figure is checked."""

import asyncio

from services.repositories import CacheEntry, RequestRecord
from services.timerange import DAY_MS, db_time
from tests.conftest import NOW_MS
from tests.unit.helpers import call


def record(services, route, status, duration, when=NOW_MS):
    analytics = RequestRecord("r", "GET", "/api/timeseries", 200, duration, route_type=route, cache_status=status)
    asyncio.run(services.analytics.record(analytics, when))


def test_stats_report_exactly_what_was_recorded(api, services, db):
    meta = services.cache.meta
    for index, size in enumerate((1_048_576, 524_288)):
        entry = CacheEntry(f"timeseries/2025-11-2{index}/k{index}", "demo-hq", "h", f"2025-11-2{index}", 2, 100,
                           10 * size, size, "zstd", 0, NOW_MS + DAY_MS)
        asyncio.run(meta.upsert(entry, NOW_MS - (2 - index) * 1000))
    record(services, "cached", "hit", 10)
    record(services, "cached", "miss", 30)
    record(services, "cached", "partial", 20)
    record(services, "direct", "bypass", 5)
    record(services, "direct", "bypass", 7, when=NOW_MS - 2 * DAY_MS)  # older than 24 h
    for job_id, status in (("a", "completed"), ("b", "failed"), ("c", "processing"), ("d", "queued")):
        asyncio.run(db.run(
            "INSERT INTO queue_jobs (id, site, points, start_time, end_time, owner_hash, request_hash, status,"
            " estimated_size, total_batches, created_at, updated_at) VALUES (?, 's', '[]', '', '', 'o', ?, ?,"
            " 1, 1, ?, ?)", (job_id, job_id, status, db_time(NOW_MS), db_time(NOW_MS))))

    response, stats = call(api, "GET", "/api/stats", token=None)

    assert response.status == 200
    cache = stats["cache"]
    assert (cache["totalObjects"], cache["totalSizeMB"], cache["totalSamples"]) == (2, 1.5, 200)
    assert (cache["oldestEntry"], cache["newestEntry"]) == (db_time(NOW_MS - 2000), db_time(NOW_MS - 1000))
    assert (cache["lookups24h"], cache["hits24h"], cache["partialHits24h"], cache["hitRate"]) == (3, 1, 1, 0.3333)
    jobs = stats["jobs"]
    assert (jobs["total_jobs"], jobs["completed"], jobs["failed"], jobs["active"], jobs["cancelled"]) == (4, 1, 1, 2, 0)
    assert stats["requests"] == [
        {"route_type": "cached", "count": 3, "avg_duration": 20.0, "cache_hits": 1},
        {"route_type": "direct", "count": 1, "avg_duration": 5.0, "cache_hits": 0},
    ]


def test_stats_of_an_empty_service_are_zero_not_errors(api):
    _, stats = call(api, "GET", "/api/stats", token=None)
    assert stats["cache"]["totalObjects"] == 0 and stats["cache"]["hitRate"] is None
    assert stats["jobs"]["total_jobs"] == 0 and stats["requests"] == []


def test_stats_hit_rate_counts_cache_lookups_from_the_apps_paths(api, services):
    record(services, "query", "hit", 10)
    record(services, "paginated", "miss", 30)
    record(services, "query", "hit", 20)
    _, stats = call(api, "GET", "/api/stats", token=None)
    assert (stats["cache"]["lookups24h"], stats["cache"]["hitRate"]) == (3, 0.6667)
    assert [(row["route_type"], row["count"]) for row in stats["requests"]] == [("paginated", 1), ("query", 2)]
