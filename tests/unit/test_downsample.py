import math
from itertools import pairwise

import pytest

from services.downsample import downsample_indices, lttb_indices, state_change_indices

# Each expected list was worked out by hand from the LTTB definition (bucket sizes, next-bucket
# means, triangle areas), not by running the code.
LTTB_CASES = {
    "peak and trough survive": ([0, 1, 2, 3, 4, 5, 6], [0, 1, 5, 2, 0, -4, 0], 4, [0, 2, 5, 6]),
    "a lone spike on a flat line": (list(range(12)), [0] * 7 + [10] + [0] * 4, 5, [0, 1, 6, 7, 11]),
    "two points keep the ends": ([0, 10, 20, 30], [1, 9, 2, 3], 2, [0, 3]),
    "uneven times, one sample off the line": ([0, 1, 2, 10, 11], [0, 3, 0, 0, 0], 3, [0, 1, 4]),
}


@pytest.mark.parametrize(("times", "values", "n", "expected"), LTTB_CASES.values(), ids=LTTB_CASES.keys())
def test_lttb_indices_match_hand_worked_cases(times, values, n, expected):
    assert lttb_indices(times, values, n) == expected


def test_lttb_indices_keep_every_sample_when_under_the_limit():
    assert lttb_indices([0, 1, 2], [5, 6, 7], 3) == [0, 1, 2]


def test_lttb_indices_on_a_week_of_minutes_keep_at_most_n_ordered_samples_with_both_ends():
    times = [i * 60_000 for i in range(10_080)]
    values = [round(20 + 5 * math.sin(i / 300), 1) for i in range(10_080)]
    kept = lttb_indices(times, values, 200)
    assert len(kept) == 200
    assert kept[0] == 0 and kept[-1] == 10_079
    assert all(a < b for a, b in pairwise(kept))


def test_lttb_indices_keep_the_global_extremes_of_a_daily_cycle():
    values = [round(20 + 5 * math.sin(2 * math.pi * i / 1440), 2) for i in range(7 * 1440)]
    kept = lttb_indices(list(range(len(values))), values, 100)
    assert max(values[i] for i in kept) == max(values)
    assert min(values[i] for i in kept) == min(values)


STATE_CASES = {
    "changes under the limit": (["off", "off", "on", "on", "on", "off", "off"], 10, [0, 2, 5, 6]),
    "last sample kept though unchanged": (["a", "a", "a"], 5, [0, 2]),
    "more changes than room are spread evenly": (["off", "off", "on", "on", "on", "off", "off"], 3, [0, 5, 6]),
}


@pytest.mark.parametrize(("values", "n", "expected"), STATE_CASES.values(), ids=STATE_CASES.keys())
def test_state_change_indices(values, n, expected):
    assert state_change_indices(values, n) == expected


def test_downsample_indices_use_state_changes_for_text_points():
    values = ["on"] * 50 + ["off"] * 50
    assert downsample_indices(list(range(100)), values, 10) == [0, 50, 99]


def test_downsample_indices_use_lttb_for_numeric_points():
    times, values = list(range(12)), [0] * 7 + [10] + [0] * 4
    assert downsample_indices(times, values, 5) == [0, 1, 6, 7, 11]


def test_downsample_indices_refuse_fewer_than_two_points():
    with pytest.raises(ValueError, match="at least 2"):
        downsample_indices([0, 1, 2], [1, 2, 3], 1)
