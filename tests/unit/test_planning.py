import pytest

from services.planning import plan_calls
from services.timerange import DAY_MS, Span


def test_plan_calls_keeps_each_call_under_the_page_budget():
    calls = plan_calls([f"p{i}" for i in range(100)], Span(0, 30 * DAY_MS), 50_000)
    for group, window in calls:
        assert len(group) * (window.end_ms - window.start_ms) / DAY_MS * 1440 <= 50_000 * 1.01
    assert {p for group, _ in calls for p in group} == {f"p{i}" for i in range(100)}


@pytest.mark.parametrize(
    ("points", "per_day", "days", "groups", "calls"),
    [
        (1, None, 1, 1, 1),
        (34, None, 1, 1, 1),
        (35, None, 1, 2, 2),
        (10, None, 7, 1, 3),
        (10, {f"p{i}": 96 for i in range(10)}, 7, 1, 1),
        (100, None, 1, 3, 3),
        (100, {f"p{i}": 96 for i in range(100)}, 1, 1, 1),
        (100, {f"p{i}": 96 for i in range(100)}, 30, 1, 6),
        (2, {"p0": 1440}, 35, 1, 3),
    ],
    ids=["one-point-one-day", "densest-group-fills-a-page", "one-point-too-many", "a-dense-week",
         "15-minute-points-one-call", "hundred-unknown-points-a-day", "hundred-15-minute-points-a-day",
         "hundred-15-minute-points-a-month", "unknown-density-counts-as-densest"],
)
def test_plan_calls_sizes_groups_and_windows_by_density(points, per_day, days, groups, calls):
    names = [f"p{i}" for i in range(points)]
    plan = plan_calls(names, Span(0, days * DAY_MS), 50_000, per_day)
    assert len({group for group, _ in plan}) == groups and len(plan) == calls
