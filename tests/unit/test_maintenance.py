import asyncio
from dataclasses import replace

from services.cache import DayObject, day_key
from services.series import PointSeries
from services.timerange import DAY_MS, Span
from tests.fakeflightdeck import POINTS
from tests.unit.helpers import call, series_params

DAY = Span(1_763_942_400_000, 1_763_942_400_000 + DAY_MS)


def put_day(services, points=("a", "b")):
    key = day_key("demo-hq", points, DAY)
    series = {p: PointSeries([DAY.start_ms], [1.5]) for p in points}
    asyncio.run(services.cache.put(key, DayObject("demo-hq", points, DAY, series, DAY.end_ms)))
    return key


def test_cleanup_keeps_unexpired_objects_and_is_safe_twice(services, store):
    key = put_day(services)
    for _ in range(2):
        report = asyncio.run(services.maintenance().run())
        assert report["cacheObjectsExpired"] == 0 and report["cacheOrphansDeleted"] == 0
    assert key in store.objects


def test_cleanup_drops_expired_objects_and_their_rows(services, store, db, clock):
    key = put_day(services)
    clock.now_ms += 31 * DAY_MS
    assert asyncio.run(services.maintenance().run())["cacheObjectsExpired"] == 1
    assert key not in store.objects and asyncio.run(db.all("SELECT * FROM cache_metadata")) == []


HOUR_MS = 3_600_000


def test_cleanup_deletes_an_object_without_a_row(services, store, db, clock):
    key = put_day(services)
    asyncio.run(db.run("DELETE FROM cache_metadata"))
    clock.now_ms += HOUR_MS + 1
    assert asyncio.run(services.maintenance().run())["cacheOrphansDeleted"] == 1
    assert key not in store.objects


def test_the_sweep_never_deletes_an_object_written_moments_ago_whose_row_is_not_there_yet(services, store, db):
    key = put_day(services)
    asyncio.run(db.run("DELETE FROM cache_metadata"))  # as if the row's write were still on its way
    assert asyncio.run(services.maintenance().run())["cacheOrphansDeleted"] == 0
    assert key in store.objects


def test_the_sweep_continues_across_runs_from_a_cursor(services, store, db, clock):
    services.settings = replace(services.settings, cleanup_max_objects=2)
    keys = sorted(put_day(services, (f"p{i}",)) for i in range(5))
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
    key = put_day(services)
    del store.objects[key]
    clock.now_ms += 31 * DAY_MS
    assert asyncio.run(services.maintenance().run())["cacheObjectsExpired"] == 1


def test_cache_keys_are_canonical_and_stay_under_the_prefix():
    assert day_key("s", ["b", "a"], DAY) == day_key("s", ["a", "b"], DAY)
    assert day_key("s", ["a"], DAY) != day_key("s", ["a", "b"], DAY)
    evil = day_key("../../etc", ["../x"], DAY)
    assert evil.startswith("timeseries/2025-11-24/") and ".." not in evil
