import pytest

from services.series import PointSeries, any_text, parse_value


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


def cached(times: list[int], texts: list[str]) -> PointSeries:
    return PointSeries(times, texts=texts)


def test_values_of_a_cached_series_are_parsed_from_their_texts():
    assert cached([0, 10, 20], ["72.5", "3", '"on"']).values == [72.5, 3, "on"]


def test_window_and_slice_keep_the_texts():
    points = cached([0, 10, 20, 30], ["1.5", "2", "3", "4"])
    assert points.window(10, 30).texts == ["2", "3"]
    assert points.slice(2, 4).texts == ["3", "4"]


def test_extending_cached_with_cached_keeps_the_texts():
    points = PointSeries()
    points.extend(cached([0, 10], ["1.5", "2"]))
    points.extend(cached([20], ["3"]))
    assert points.texts == ["1.5", "2", "3"] and points.values == [1.5, 2, 3]


def test_extending_cached_with_fresh_samples_drops_the_texts_and_keeps_every_value():
    points = cached([0, 10], ["1.5", "2"])
    points.extend(PointSeries([20], [3.25]))
    assert points.texts is None and points == PointSeries([0, 10, 20], [1.5, 2, 3.25])


def test_a_series_extended_from_empty_does_not_share_the_source_lists():
    source = cached([0], ["1"])
    points = PointSeries()
    points.extend(source)
    points.extend(cached([10], ["2"]))
    assert source.times == [0] and source.texts == ["1"]


def test_count_is_the_size_of_the_window():
    points = PointSeries([0, 10, 20, 30], [1, 2, 3, 4])
    assert [points.count(a, b) for a, b in [(10, 30), (0, 100), (31, 40), (15, 15)]] == [2, 4, 0, 0]


def test_chunks_cover_the_series_in_order_and_keep_the_texts():
    points = PointSeries([1, 2, 3, 4, 5], texts=["1", "2", "3", "4", "5"])
    parts = list(points.chunks(2))
    assert [part.times for part in parts] == [[1, 2], [3, 4], [5]]
    assert [part.texts for part in parts] == [["1", "2"], ["3", "4"], ["5"]]
    assert list(PointSeries().chunks(2)) == []


def test_any_text_finds_a_text_value_among_numbers():
    assert any_text([1, 2.5, "on"])
    assert not any_text([1, 2.5, True])
    assert not any_text([])
