import pytest

from services.config import Settings
from services.errors import BadRequest
from services.query import Priority, Route, parse_series_query

GOOD = {"site": "demo-hq", "points": "a/b:c,d.e/f", "start_time": "2025-11-01T00:00:00Z",
        "end_time": "2025-11-02T00:00:00Z"}


def parse(**changes):
    params = {**GOOD, **changes}
    return parse_series_query({k: v for k, v in params.items() if v is not None}, Settings(max_points=3))


def test_parse_keeps_point_names_with_slashes_colons_and_dots():
    assert parse().points == ("a/b:c", "d.e/f")


def test_parse_removes_duplicate_points_in_first_seen_order():
    assert parse(points="b,a,b,,a").points == ("b", "a")


def test_parse_normalises_offsets_to_utc():
    assert parse(start_time="2025-11-01T01:00:00+01:00").span.start_ms == parse().span.start_ms


def test_parse_reads_route_and_priority():
    query = parse(route="QUEUED", priority="high")
    assert query.route is Route.QUEUED and query.priority is Priority.HIGH


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"site": None}, "site"),
        ({"points": None}, "points"),
        ({"points": " , "}, "points"),
        ({"points": "a,b,c,d"}, "points"),
        ({"start_time": None}, "start_time"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"end_time": "2025-13-01"}, "end_time"),
        ({"end_time": "2025-11-01T00:00:00Z"}, "end_time"),
        ({"end_time": "2027-01-01T00:00:00Z"}, "end_time"),
        ({"route": "fastest"}, "route"),
        ({"priority": "urgent"}, "priority"),
    ],
    ids=["no-site", "no-points", "blank-points", "too-many-points", "no-start", "bad-start", "bad-end",
         "end-not-after-start", "range-too-long", "unknown-route", "unknown-priority"],
)
def test_parse_rejects_bad_input_naming_the_field(changes, field):
    with pytest.raises(BadRequest) as caught:
        parse(**changes)
    assert caught.value.field == field
    assert caught.value.to_body()["error"]["field"] == field
