"""`R2CacheService` on a dict R2 and SQLite: point-month objects and their rows."""

import asyncio
from dataclasses import replace

from services.cache import PointObject, month_spans, subtract
from services.repositories import CacheEntry, CacheMetadataRepository
from services.series import PointSeries
from services.timerange import DAY_MS, Span, parse_iso

DAY = Span(parse_iso("2025-11-10"), parse_iso("2025-11-10") + DAY_MS)
(MONTH,) = month_spans(DAY)
POINT = "acme/demo-hq/ahu-1:cooling-valve"


def test_put_then_read_returns_the_same_point_month(services):
    obj = PointObject("demo-hq", POINT, MONTH, PointSeries([DAY.start_ms, DAY.start_ms + 60_000], [21.5, "fault"]),
                      (DAY,), (Span(DAY.end_ms, DAY.end_ms + 60_000),), DAY.end_ms + 300_000)
    asyncio.run(services.cache.put(obj))
    assert asyncio.run(services.cache.read("demo-hq", POINT, MONTH)) == obj


def test_put_records_the_object_in_d1(services, db, store):
    obj = PointObject("demo-hq", POINT, MONTH, PointSeries([DAY.start_ms], [21.5]), (DAY,))
    asyncio.run(services.cache.put(obj))
    row = asyncio.run(db.first("SELECT * FROM cache_metadata WHERE cache_key = ?", (obj.key,)))
    assert row["site"] == "demo-hq" and row["samples_count"] == 1 and row["day"] == "2025-11-01"
    assert row["covered_until"] == DAY.end_ms and row["compressed_size"] == len(store.objects[obj.key].body)


def test_an_object_holding_another_point_is_never_read_as_this_one(services, store):
    obj = PointObject("demo-hq", POINT, MONTH, PointSeries([DAY.start_ms], [21.5]), (DAY,))
    asyncio.run(services.cache.put(obj))
    other = PointObject("demo-hq", "other", MONTH, PointSeries(), ())
    store.objects[other.key] = store.objects[obj.key]
    assert asyncio.run(services.cache.read("demo-hq", "other", MONTH)) is None


def test_an_object_of_an_earlier_format_is_a_miss_never_misread(services, store):
    obj = PointObject("demo-hq", POINT, MONTH, PointSeries([DAY.start_ms], [21.5]), (DAY,))
    asyncio.run(services.cache.put(obj))
    stored = store.objects[obj.key]
    store.objects[obj.key] = replace(stored, body=stored.body[:4] + bytes([2]) + stored.body[5:])
    assert asyncio.run(services.cache.read("demo-hq", POINT, MONTH)) is None


def test_recent_spans_count_as_covered_only_until_they_expire():
    tail = Span(DAY.end_ms + 60_000, DAY.end_ms + 120_000)
    obj = PointObject("demo-hq", POINT, MONTH, PointSeries(), (DAY,), (tail,), 1_000)
    assert obj.coverage(999) == [DAY, tail]
    assert obj.coverage(1_000) == [DAY]


def test_subtract_leaves_the_uncovered_parts_in_order():
    assert subtract(Span(0, 100), [Span(10, 20), Span(15, 30), Span(90, 200)]) == [Span(0, 10), Span(30, 90)]


def test_hits_are_counted_once_each_even_past_one_statements_bound(db):
    meta = CacheMetadataRepository(db)
    keys = [f"points/2025-11/{i:064x}" for i in range(150)]
    for key in keys:
        asyncio.run(meta.upsert(CacheEntry(key, "demo-hq", "h", "2025-11-01", 1, 1, 1, 1, "zstd", 0, 10**13), 0))
    asyncio.run(meta.record_hits(keys[:120], 1_000))
    rows = asyncio.run(db.all("SELECT cache_key, hit_count FROM cache_metadata"))
    assert {row["cache_key"]: row["hit_count"] for row in rows} == {key: int(key in keys[:120]) for key in keys}
