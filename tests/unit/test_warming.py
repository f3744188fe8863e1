"""Cache warming: demand and sealed tokens noted on cached requests; the cron fills yesterday within budget."""

import asyncio

import pytest

from services.api import Api
from services.app import Platform, Services
from services.config import Settings
from services.ports import HttpRequest
from services.timerange import DAY_MS, Span, parse_iso
from services.warming import BudgetedTransport, BudgetSpent
from tests.conftest import NOW_MS
from tests.doubles import XorSealer
from tests.fakeflightdeck import POINTS
from tests.unit.helpers import call, series_params

YESTERDAY = Span(parse_iso("2025-11-23T00:00:00Z"), parse_iso("2025-11-24T00:00:00Z"))
DAY_BEFORE = "2025-11-22T00:00:00Z"


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"FLIGHTDECK_BASE_URL": "http://flightdeck.test/api", "WARMING_MAX_CALLS": "10"})


@pytest.fixture
def sealer() -> XorSealer | None:
    return XorSealer("warming-secret")


@pytest.fixture
def services(settings, db, store, queues, transport, deferred, clock, sealer) -> Services:
    platform = Platform(db=db, store=store, queues=queues, transport=transport, defer=deferred, sealer=sealer)
    return Services(settings, platform, now_ms=clock.ms)


def ask(api: Api, deferred, points=POINTS, start=DAY_BEFORE, end="2025-11-23T00:00:00Z", token="good"):
    """A dashboard's cached request, with its after-response work (demand, cache writes) done."""
    response, body = call(api, "GET", "/api/timeseries", series_params(points, start, end, route="cached"),
                          token=token)
    asyncio.run(deferred.drain())
    return response, body


def warm(services) -> dict:
    return asyncio.run(services.warming().run())


def rows(db, table: str) -> list[dict]:
    return asyncio.run(db.all(f"SELECT * FROM {table}"))


def test_a_cached_request_counts_its_demand_and_keeps_its_token_sealed(api, db, deferred):
    ask(api, deferred)
    ask(api, deferred)
    assert [(r["site"], r["requests"]) for r in rows(db, "warming_demand")] == [("demo-hq", 2)]
    tokens = rows(db, "warming_tokens")
    assert len(tokens) == 1 and "good" not in str(tokens) and tokens[0]["sealed"]


@pytest.mark.parametrize("sealer", [None])
def test_without_the_warming_secret_no_token_is_kept_and_nothing_is_warmed(api, db, deferred, services, sealer):
    ask(api, deferred)
    assert rows(db, "warming_tokens") == []
    assert warm(services)["warmingStopped"] == "no WARMING_KEY secret"


def test_the_cron_warms_yesterday_so_the_morning_request_is_a_hit_without_upstream(api, services, deferred,
                                                                                     flightdeck):
    ask(api, deferred)
    report = warm(services)
    assert report["objectsWarmed"] == 1 and 0 < report["warmingCalls"] <= 10
    before = len(flightdeck.calls)
    response, body = ask(api, deferred, start="2025-11-23T00:00:00Z", end="2025-11-24T00:00:00Z")
    assert response.headers["x-cache-status"] == "hit" and len(flightdeck.calls) == before
    assert body["data"][POINTS[0]]["count"] > 0


def test_stats_report_the_warmed_objects_and_the_hits_they_served(api, services, deferred):
    ask(api, deferred)
    warm(services)
    for _ in range(2):
        ask(api, deferred, start="2025-11-23T06:00:00Z", end="2025-11-23T12:00:00Z")
    _, stats = call(api, "GET", "/api/stats")
    assert stats["warming"]["objectsWarmed"] == 1 and stats["warming"]["hitsServed"] == 2


def test_a_day_already_cached_costs_no_call(api, services, deferred):
    ask(api, deferred, start=DAY_BEFORE, end="2025-11-24T00:00:00Z")
    assert warm(services) == {"warmingSets": 1, "warmingCalls": 0, "objectsWarmed": 0, "warmingStopped": None}


@pytest.mark.parametrize("budget", [0, 1])
def test_warming_never_spends_more_than_its_budget(api, db, store, queues, transport, deferred, clock, sealer,
                                                   budget):
    ask(api, deferred)
    settings = Settings.from_env({"FLIGHTDECK_BASE_URL": "http://flightdeck.test/api",
                                  "WARMING_MAX_CALLS": str(budget), "UPSTREAM_PAGE_SAMPLES": "100"})
    platform = Platform(db=db, store=store, queues=queues, transport=transport, defer=deferred, sealer=sealer)
    report = warm(Services(settings, platform, now_ms=clock.ms))
    assert report["warmingCalls"] <= budget and report["warmingStopped"] == "budget"


def test_warming_stops_at_flightdeck_429(api, services, deferred, flightdeck):
    ask(api, deferred)
    flightdeck.faults = [429, 429, 429]
    report = warm(services)
    assert (report["warmingStopped"], report["warmingCalls"], report["objectsWarmed"]) == ("flightdeck_429", 1, 0)


def test_a_token_flightdeck_now_refuses_is_forgotten(api, services, deferred, flightdeck, db):
    ask(api, deferred)
    flightdeck.token = "rotated"
    assert warm(services)["objectsWarmed"] == 0 and rows(db, "warming_tokens") == []


def test_a_set_on_a_site_without_a_seen_token_is_not_warmed(services, flightdeck):
    asyncio.run(services.warming_repo.count_request("demo-hq", "h", "2025-11-24", f'["{POINTS[0]}"]'))
    assert warm(services)["warmingSets"] == 0 and flightdeck.calls == []


def test_the_budgeted_transport_refuses_the_call_past_its_budget(transport):
    budgeted = BudgetedTransport(transport, 2)
    request = HttpRequest("GET", "http://flightdeck.test/api/sites/demo-hq/points", {"authorization": "Bearer good"})
    for _ in range(2):
        asyncio.run(budgeted.send(request, 1))
    with pytest.raises(BudgetSpent):
        asyncio.run(budgeted.send(request, 1))
    assert len(transport.requests) == 2


def test_a_token_sealed_under_another_key_is_dropped(api, services, deferred, db):
    ask(api, deferred)
    services.platform.sealer.secret = "rotated-secret"
    assert warm(services)["objectsWarmed"] == 0 and rows(db, "warming_tokens") == []


def test_the_days_warmed_are_the_settled_ones(services, clock):
    clock.now_ms = NOW_MS - NOW_MS % DAY_MS + 5 * 60_000  # 00:05: yesterday is not settled yet
    assert services.warming().days() == [Span(YESTERDAY.start_ms - DAY_MS, YESTERDAY.start_ms)]
