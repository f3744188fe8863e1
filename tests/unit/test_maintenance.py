import asyncio

from services.cache import DayObject, day_key
from services.series import PointSeries
from services.timerange import DAY_MS, Span

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


def test_cleanup_deletes_an_object_without_a_row(services, store, db):
    key = put_day(services)
    asyncio.run(db.run("DELETE FROM cache_metadata"))
    assert asyncio.run(services.maintenance().run())["cacheOrphansDeleted"] == 1
    assert key not in store.objects


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
