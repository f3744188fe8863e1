import asyncio
from dataclasses import replace

from services.cache import PointObject, month_spans, point_key
from services.series import PointSeries
from services.timerange import DAY_MS, Span
from tests.fakeflightdeck import POINTS
from tests.unit.helpers import call, series_params

DAY = Span(1_763_942_400_000, 1_763_942_400_000 + DAY_MS)
(MONTH,) = month_spans(DAY)


def put_point(services, point="a"):
    obj = PointObject("demo-hq", point, MONTH, PointSeries([DAY.start_ms], [1.5]), (DAY,))
    asyncio.run(services.cache.put(obj))
    return obj.key


def test_cleanup_keeps_unexpired_objects_and_is_safe_twice(services, store):
    key = put_point(services)
    for _ in range(2):
        report = asyncio.run(services.maintenance().run())
        assert report["cacheObjectsExpired"] == 0 and report["cacheOrphansDeleted"] == 0
    assert key in store.objects


def test_cleanup_drops_expired_objects_and_their_rows(services, store, db, clock):
    key = put_point(services)
    clock.now_ms += 31 * DAY_MS
    assert asyncio.run(services.maintenance().run())["cacheObjectsExpired"] == 1
    assert key not in store.objects and asyncio.run(db.all("SELECT * FROM cache_metadata")) == []


HOUR_MS = 3_600_000


def test_cleanup_deletes_an_object_without_a_row(services, store, db, clock):
    key = put_point(services)
    asyncio.run(db.run("DELETE FROM cache_metadata"))
    clock.now_ms += HOUR_MS + 1
    assert asyncio.run(services.maintenance().run())["cacheOrphansDeleted"] == 1
    assert key not in store.objects


def test_the_sweep_never_deletes_an_object_written_moments_ago_whose_row_is_not_there_yet(services, store, db):
    key = put_point(services)
    asyncio.run(db.run("DELETE FROM cache_metadata"))  # as if the row's write were still on its way
    assert asyncio.run(services.maintenance().run())["cacheOrphansDeleted"] == 0
    assert key in store.objects


def test_the_sweep_continues_across_runs_from_a_cursor(services, store, db, clock):
    services.settings = replace(services.settings, cleanup_max_objects=2)
    keys = sorted(put_point(services, f"p{i}") for i in range(5))
    asyncio.run(db.run("DELETE FROM cache_metadata WHERE cache_key = ?", (keys[-1],)))
    clock.now_ms += HOUR_MS + 1
    deleted = [asyncio.run(services.maintenance().run())["cacheOrphansDeleted"] for _ in range(3)]
    assert deleted == [0, 0, 1] and keys[-1] not in store.objects and len(store.objects) == 4


def test_a_cron_run_stops_at_its_operation_budget(api, services, clock):
    services.settings = replace(services.settings, cleanup_max_operations=20, max_active_jobs_per_token=30)
    for day in range(11, 41):
        call(api, "GET", "/api/timeseries", series_params(POINTS[:1], end=f"2025-12-{day - 10:02d}", route="queued"))
    clock.now_ms += 16 * 60_000
    first = asyncio.run(services.maintenance().run())
    second = asyncio.run(services.maintenance().run())
    assert first["operations"] <= 20 and first["staleJobsFailed"] == 19 and second["staleJobsFailed"] == 11


def test_cleanup_survives_a_row_without_an_object(services, store, clock):
    key = put_point(services)
    del store.objects[key]
    clock.now_ms += 31 * DAY_MS
    assert asyncio.run(services.maintenance().run())["cacheObjectsExpired"] == 1


def test_cache_keys_are_canonical_and_stay_under_the_prefix():
    assert point_key("s", "a", MONTH) != point_key("s", "b", MONTH) != point_key("t", "b", MONTH)
    evil = point_key("../../etc", "../x", MONTH)
    assert evil.startswith("points/2025-11/") and ".." not in evil


def test_objects_of_the_earlier_layout_are_swept_with_their_rows(services, store, db, clock):
    asyncio.run(store.put("timeseries/2025-11-24/abc", b"BVTS", {}))
    asyncio.run(db.run(
        "INSERT INTO cache_metadata (cache_key, site, points_hash, day, points_count, samples_count, original_size,"
        " compressed_size, compression_ratio, codec, covered_until, created_at, expires_at)"
        " VALUES (?, 'demo-hq', 'h', '2025-11-24', 2, 1, 1, 1, 1, 'zstd', 0, '2025-11-24', '2026-01-01')",
        ("timeseries/2025-11-24/abc",)))
    key = put_point(services)
    clock.now_ms += HOUR_MS + 1
    assert asyncio.run(services.maintenance().run())["legacyCacheDeleted"] == 1
    assert list(store.objects) == [key]
    assert [row["cache_key"] for row in asyncio.run(db.all("SELECT cache_key FROM cache_metadata"))] == [key]
