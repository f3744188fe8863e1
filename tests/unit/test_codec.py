import json

import pytest

from services.codec import CODECS, decode, encode
from services.series import PointSeries
from services.timerange import Span
from simulator.catalog import point
from simulator.data import iter_point

WEEK_START_MS = 1_762_732_800_000  # Monday 2025-11-10T00:00:00Z


def series_of(values, step=60_000, start=1_763_942_400_000):
    return PointSeries([start + i * step for i in range(len(values))], list(values))


@pytest.mark.parametrize(
    "values",
    [
        [72.1, 72.3, 72.2, 71.9],
        [0, 1, 1, 0],
        [123.45, 0.01, -5.5, 1e-7],
        [1.0 / 3, 2.0 / 3],
        ["occupied", "standby", "unoccupied"],
        [1, "on", 2.5],
        [],
    ],
    ids=["decimals", "binary", "mixed-scales", "irrational-floats", "text", "mixed-types", "empty"],
)
@pytest.mark.parametrize("codec", sorted(CODECS))
def test_encode_then_decode_returns_the_same_samples(values, codec):
    series = {"acme/site/dev:1/analogValue.13": series_of(values), "other": series_of([5, 6], step=900_000)}
    back = decode(encode(series, CODECS[codec]).body)
    assert {k: (v.times, v.values) for k, v in back.items()} == {k: (v.times, v.values) for k, v in series.items()}


def test_encode_records_the_codec_it_really_used():
    for name, codec in CODECS.items():
        encoded = encode({"p": series_of([1.5, 2.5])}, codec)
        assert encoded.codec == name
        assert encoded.body[6 : 6 + len(name)].decode() == name


def test_encoded_sensor_week_is_under_five_percent_of_its_json():
    # A week of the simulator's 1-minute supply air temperature (0.1 degree resolution, daily cycle, noise).
    name = "acme/demo-hq/ahu-1:supply-air-temp"
    samples = [(t * 1000, float(v)) for t, v in iter_point(point(name), WEEK_START_MS, WEEK_START_MS + 7 * 86_400_000)]
    assert len(samples) == 7 * 1440
    series = {name: PointSeries([t for t, _ in samples], [v for _, v in samples])}
    as_json = json.dumps({name: [[t, v] for t, v in samples]}, separators=(",", ":"))
    assert len(encode(series).body) < 0.05 * len(as_json)


def test_decode_refuses_bytes_that_are_not_an_object():
    with pytest.raises(ValueError):
        decode(b"not an object")


DAY_MS = 86_400_000


def gappy_month() -> PointSeries:
    """Ten days of 15-minute samples from noon of day 0, with day 4 missing."""
    start = WEEK_START_MS + DAY_MS // 2
    times = [t for t in range(start, start + 10 * DAY_MS, 900_000) if (t - WEEK_START_MS) // DAY_MS != 4]
    values = [round(20 + (t // 900_000) % 7 * 0.1, 1) for t in times]
    return PointSeries(times, values)


@pytest.mark.parametrize(
    ("start_day", "end_day"),
    [(0, 11), (1, 3), (0.25, 0.75), (2.3, 6.7), (4, 5), (3.5, 4.5), (-3, 0.5), (10.5, 20), (12, 13)],
    ids=["all", "whole-days", "before-first-sample", "mid-days", "missing-day", "around-missing-day",
         "from-before", "past-the-end", "after-all"],
)
@pytest.mark.parametrize("text", [False, True], ids=["numbers", "text-with-comma"])
def test_a_windowed_decode_returns_exactly_the_window(start_day, end_day, text):
    points = gappy_month()
    if text:
        points.values[5] = "on, then off"
    window = Span(WEEK_START_MS + int(start_day * DAY_MS), WEEK_START_MS + int(end_day * DAY_MS))
    back = decode(encode({"p": points}).body, window)["p"]
    assert back == points.window(window.start_ms, window.end_ms)


def test_decoded_values_keep_their_json_text():
    back = decode(encode({"p": series_of([72.5, 0, -1.25, 1e-7])}).body)["p"]
    assert back.texts == ["72.5", "0", "-1.25", "1e-07"]
