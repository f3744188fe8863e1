"""`R2CacheService` on a dict R2 and SQLite, called the way the original design's examples do."""

import asyncio

from services.cache import DayObject, day_key
from services.series import PointSeries
from services.timerange import DAY_MS, Span, parse_iso

DAY = Span(parse_iso("2025-11-10"), parse_iso("2025-11-10") + DAY_MS)
POINT = "acme/demo-hq/ahu-1:cooling-valve"


def test_r2_cache_service_put_then_fetch_returns_the_same_day(services):
    key = day_key("demo-hq", [POINT], DAY)
    series = {POINT: PointSeries([DAY.start_ms, DAY.start_ms + 60_000], [21.5, "fault"])}
    asyncio.run(services.cache.put(key, DayObject("demo-hq", (POINT,), DAY, series, DAY.end_ms)))
    day = services.cache.parse(asyncio.run(services.cache.fetch(key)))
    assert day == DayObject("demo-hq", (POINT,), DAY, series, DAY.end_ms)


def test_r2_cache_service_put_records_the_object_in_d1(services, db, store):
    key = day_key("demo-hq", [POINT], DAY)
    series = {POINT: PointSeries([DAY.start_ms], [21.5])}
    asyncio.run(services.cache.put(key, DayObject("demo-hq", (POINT,), DAY, series, DAY.end_ms)))
    row = asyncio.run(db.first("SELECT * FROM cache_metadata WHERE cache_key = ?", (key,)))
    assert row["site"] == "demo-hq" and row["samples_count"] == 1 and row["day"] == "2025-11-10"
    assert row["compressed_size"] == len(store.objects[key].body)
