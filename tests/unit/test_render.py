import json

import pytest

from services.render import pairs_json


@pytest.mark.parametrize(
    "values",
    [[72.5, 73.0, -1.25], [0, 1, 1], ["occupied", "standby"], ["a,b", "c"], ['say "hi", then', 2.5], []],
    ids=["floats", "ints", "text", "text-with-comma", "quotes-and-comma", "empty"],
)
def test_pairs_json_equals_dumping_the_pairs(values):
    times = list(range(1_000, 1_000 + 60 * len(values), 60))
    assert pairs_json(times, values) == json.dumps(list(zip(times, values)), separators=(",", ":"))[1:-1]

