import json

import pytest

from services.appquery import sample_objects
from services.render import pairs_json
from services.series import PointSeries

CASES = pytest.mark.parametrize(
    "values",
    [[72.5, 73.0, -1.25], [0, 1, 1], ["occupied", "standby"], ["a,b", "c"], ['say "hi", then', 2.5], []],
    ids=["floats", "ints", "text", "text-with-comma", "quotes-and-comma", "empty"],
)


def _times(values: list) -> list[int]:
    return list(range(1_000, 1_000 + 60 * len(values), 60))


@CASES
def test_pairs_json_equals_dumping_the_pairs(values):
    times = _times(values)
    expected = json.dumps(list(zip(times, values)), separators=(",", ":"))[1:-1]
    assert pairs_json(PointSeries(times, values)) == expected


@CASES
def test_pairs_json_from_cached_texts_equals_dumping_the_pairs(values):
    times = _times(values)
    texts = [json.dumps(value, separators=(",", ":")) for value in values]
    expected = json.dumps(list(zip(times, values)), separators=(",", ":"))[1:-1]
    assert pairs_json(PointSeries(times, texts=texts)) == expected


@pytest.mark.parametrize("name", ["ahu-1:supply-temp", "100% fan speed", 'a "quoted", name'])
@CASES
def test_app_sample_objects_equal_dumping_each_sample(name, values):
    times = _times(values)
    expected = ",".join(json.dumps({"point_name": name, "timestamp": t, "value": v}, separators=(",", ":"))
                        for t, v in zip(times, values))
    assert sample_objects(name, PointSeries(times, values)) == expected
