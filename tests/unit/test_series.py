import pytest

from services.series import PointSeries, parse_value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("72.5", 72.5), ("1", 1), ("-3", -3), ("0.10", 0.1), ("occupied", "occupied"), ("NaN", "NaN"),
     ("inf", "inf"), ("", "")],
    ids=["decimal", "int", "negative", "trailing-zero", "text", "nan-stays-text", "inf-stays-text", "empty"],
)
def test_parse_value_makes_numbers_of_numeric_strings(raw, expected):
    assert parse_value(raw) == expected
    assert type(parse_value(raw)) is type(expected)


def test_window_selects_half_open_range():
    points = PointSeries([0, 10, 20, 30], [1, 2, 3, 4])
    assert points.window(10, 30).times == [10, 20]
