import pytest

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
    assert Shaping(max_points=5).meta(100, 10) == {"maxPoints": 5, "samplesBefore": 100, "samplesAfter": 10}
