import pytest

from services.config import Settings
from services.query import Route, SeriesQuery
from services.routing import choose_route, estimate_samples
from services.timerange import DAY_MS, Span


def query(points: int, days: float, route: Route | None = None) -> SeriesQuery:
    return SeriesQuery("s", tuple(f"p{i}" for i in range(points)), Span(0, int(days * DAY_MS)), route)


@pytest.mark.parametrize(
    ("points", "days", "route"),
    [(1, 1, Route.DIRECT), (9, 1, Route.DIRECT), (10, 1, Route.CACHED), (100, 10, Route.CACHED),
     (101, 10, Route.QUEUED), (500, 365, Route.QUEUED)],
    ids=["tiny", "just-under-direct", "direct-threshold", "cached-threshold", "just-over", "a-year"],
)
def test_choose_route_follows_the_estimate(points, days, route):
    settings = Settings()
    q = query(points, days)
    assert choose_route(q, estimate_samples(q, settings), settings) is route


def test_estimate_uses_the_configured_samples_per_day():
    assert estimate_samples(query(2, 3), Settings(samples_per_point_per_day=10)) == 60


def test_route_parameter_overrides_the_estimate():
    q = query(1, 1, Route.QUEUED)
    assert choose_route(q, estimate_samples(q, Settings()), Settings()) is Route.QUEUED
