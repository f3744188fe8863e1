"""Bucket aggregation, checked against values worked out by hand."""

import pytest

from services.aggregate import INTERVALS_MS, Agg, TextValuesError, aggregate, bucket_start
from services.series import PointSeries

MIN = 60_000
DAY = 86_400_000
T0 = 1_760_000_400_000  # 2025-10-09T09:00:00Z, a multiple of an hour
# 08:59, 09:00, 09:02, 09:04, 09:05, 09:11 (minutes past T0 - 1)
TIMES = [T0 - MIN, T0, T0 + 2 * MIN, T0 + 4 * MIN, T0 + 5 * MIN, T0 + 11 * MIN]
VALUES = [10, 1.5, 2.5, 5, 7, 4]


def series() -> PointSeries:
    return PointSeries(list(TIMES), list(VALUES))


@pytest.mark.parametrize(("agg", "expected"), [
    (Agg.AVG, [10, 3.0, 7, 4]),
    (Agg.MIN, [10, 1.5, 7, 4]),
    (Agg.MAX, [10, 5, 7, 4]),
    (Agg.SUM, [10, 9.0, 7, 4]),
    (Agg.COUNT, [1, 3, 1, 1]),
    (Agg.FIRST, [10, 1.5, 7, 4]),
    (Agg.LAST, [10, 5, 7, 4]),
])
def test_aggregate_five_minute_buckets_per_aggregate(agg, expected):
    out = aggregate(series(), 5 * MIN, agg)
    assert out.times == [T0 - 5 * MIN, T0, T0 + 5 * MIN, T0 + 10 * MIN]
    assert out.values == expected


def test_aggregate_hour_bucket_starts_on_the_utc_hour():
    out = aggregate(series(), INTERVALS_MS["1hr"], Agg.AVG)
    assert out.times == [T0 - 60 * MIN, T0] and out.values == [10, 4.0]


def test_aggregate_day_bucket_starts_at_utc_midnight():
    out = aggregate(series(), INTERVALS_MS["1day"], Agg.COUNT)
    assert out.times == [T0 - 9 * 60 * MIN] and out.values == [6]


def test_aggregate_skips_empty_buckets():
    out = aggregate(PointSeries([0, 3 * DAY], [1, 2]), DAY, Agg.SUM)
    assert out.times == [0, 3 * DAY] and out.values == [1, 2]


def test_aggregate_of_nothing_is_nothing():
    assert len(aggregate(PointSeries(), 5 * MIN, Agg.AVG)) == 0


@pytest.mark.parametrize(("agg", "expected"), [(Agg.FIRST, ["on", "on"]), (Agg.LAST, ["off", "on"]),
                                               (Agg.COUNT, [2, 1])])
def test_aggregate_text_accepts_first_last_and_count(agg, expected):
    text = PointSeries([0, MIN, 5 * MIN], ["on", "off", "on"])
    assert aggregate(text, 5 * MIN, agg).values == expected


@pytest.mark.parametrize("agg", [Agg.AVG, Agg.MIN, Agg.MAX, Agg.SUM])
def test_aggregate_numeric_aggregates_refuse_text(agg):
    with pytest.raises(TextValuesError):
        aggregate(PointSeries([0, MIN], [1.0, "nan"]), 5 * MIN, agg)


@pytest.mark.parametrize(("stamp", "interval", "start"), [
    (T0 + 299_999, 5 * MIN, T0), (T0 + 300_000, 5 * MIN, T0 + 300_000), (T0 - 1, 60 * MIN, T0 - 60 * MIN),
])
def test_bucket_start_is_a_utc_multiple_of_the_interval(stamp, interval, start):
    assert bucket_start(stamp, interval) == start
