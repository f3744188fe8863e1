import pytest

from services.aggregate import Agg
from services.config import Settings
from services.errors import BadRequest
from services.series import PointSeries
from services.shaping import Shaping, parse_shaping

SETTINGS = Settings(max_response_samples=10_000)


def test_parse_shaping_without_parameters_leaves_samples_alone():
    samples = PointSeries(list(range(50)), [float(i % 7) for i in range(50)])
    assert parse_shaping({}, SETTINGS).apply(samples) is samples


def test_parse_shaping_reads_max_points():
    assert parse_shaping({"max_points": "200"}, SETTINGS) == Shaping(max_points=200)


@pytest.mark.parametrize(
    ("raw", "expected_ms"),
    [("1m", 60_000), ("5m", 300_000), ("15m", 900_000), ("1h", 3_600_000), ("1d", 86_400_000), ("90", 90_000),
     ("30s", 30_000), ("1H", 3_600_000)],
)
def test_parse_shaping_reads_intervals(raw, expected_ms):
    assert parse_shaping({"interval": raw, "agg": "max"}, SETTINGS) == Shaping(
        interval=raw.lower(), interval_ms=expected_ms, agg=Agg.MAX)


def test_parse_shaping_averages_when_agg_is_not_given():
    assert parse_shaping({"interval": "1h"}, SETTINGS).agg is Agg.AVG


@pytest.mark.parametrize(
    ("params", "field"),
    [({"interval": "0"}, "interval"), ({"interval": "1w"}, "interval"), ({"interval": "500d"}, "interval"),
     ({"interval": "1h", "agg": "median"}, "agg"), ({"agg": "avg"}, "agg")],
)
def test_parse_shaping_refuses_bad_intervals_and_aggs_naming_the_field(params, field):
    with pytest.raises(BadRequest) as caught:
        parse_shaping(params, SETTINGS)
    assert caught.value.field == field


def test_shaping_buckets_then_downsamples():
    samples = PointSeries([i * 60_000 for i in range(600)], [float(i) for i in range(600)])
    shaped = Shaping(max_points=5, interval="1h", interval_ms=3_600_000, agg=Agg.MAX).apply(samples)
    hourly_max = PointSeries([h * 3_600_000 for h in range(10)], [60.0 * h + 59 for h in range(10)])
    assert len(shaped) == 5 and set(shaped.times) <= set(hourly_max.times)
    assert all(v == hourly_max.values[t // 3_600_000] for t, v in zip(shaped.times, shaped.values))


@pytest.mark.parametrize("raw", ["1", "0", "-5", "2.5", "lots", "10001"])
def test_parse_shaping_refuses_a_bad_max_points_naming_the_field(raw):
    with pytest.raises(BadRequest) as caught:
        parse_shaping({"max_points": raw}, SETTINGS)
    assert caught.value.field == "max_points"


def test_shaping_max_points_keeps_real_samples_and_both_ends():
    samples = PointSeries([i * 60_000 for i in range(1_000)], [float((i * 37) % 101) for i in range(1_000)])
    shaped = Shaping(max_points=100).apply(samples)
    originals = dict(zip(samples.times, samples.values))
    assert len(shaped) == 100
    assert all(originals[t] == v for t, v in zip(shaped.times, shaped.values))
    assert (shaped.times[0], shaped.times[-1]) == (samples.times[0], samples.times[-1])


def test_shaping_meta_says_what_was_applied():
    shaping = Shaping(max_points=5, interval="1h", interval_ms=3_600_000, agg=Agg.AVG)
    assert shaping.meta(100, 10) == {"interval": "1h", "agg": "avg", "maxPoints": 5, "samplesBefore": 100,
                                     "samplesAfter": 10}
