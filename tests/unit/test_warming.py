"""Cache warming: demand noted on cached requests; the cron fills yesterday with WARMING_TOKEN, within budget."""

import asyncio
import json

import pytest

from services.api import Api
from services.app import Platform, Services
from services.cache import points_hash
from services.config import Settings
from services.ports import HttpRequest
from services.repositories import WarmingRepository
from services.timerange import DAY_MS, Span, parse_iso
from services.warming import BudgetedTransport, BudgetSpent
from tests.conftest import NOW_MS
from tests.fakeflightdeck import POINTS, FakeFlightDeck
from tests.leaks import cells_holding
from tests.unit.helpers import call, series_params

YESTERDAY = Span(parse_iso("2025-11-23T00:00:00Z"), parse_iso("2025-11-24T00:00:00Z"))
DAY_BEFORE = "2025-11-22T00:00:00Z"
TOKEN = "fd-token-3b9e51c7"  # distinctive, so a scan of D1 finds it wherever it might land


@pytest.fixture
def flightdeck() -> FakeFlightDeck:
    return FakeFlightDeck(TOKEN)


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"FLIGHTDECK_BASE_URL": "http://flightdeck.test/api", "WARMING_MAX_CALLS": "10"})


@pytest.fixture
def warming_token() -> str | None:
    return TOKEN


@pytest.fixture
def platform(db, store, queues, transport, deferred, warming_token) -> Platform:
    return Platform(db=db, store=store, queues=queues, transport=transport, defer=deferred,
                    warming_token=warming_token)


@pytest.fixture
def services(settings, platform, clock) -> Services:
    return Services(settings, platform, now_ms=clock.ms)


def ask(api: Api, deferred, points=POINTS, start=DAY_BEFORE, end="2025-11-23T00:00:00Z", token=TOKEN):
    """A dashboard's cached request, with its after-response work (demand, cache writes) done."""
    response, body = call(api, "GET", "/api/timeseries", series_params(points, start, end, route="cached"),
                          token=token)
    asyncio.run(deferred.drain())
    return response, body


def warm(services) -> dict:
    return asyncio.run(services.warming().run())


def rows(db, table: str) -> list[dict]:
    return asyncio.run(db.all(f"SELECT * FROM {table}"))


def every_table(db) -> dict[str, list[dict]]:
    names = rows(db, "sqlite_master")
    return {row["name"]: rows(db, f'"{row["name"]}"') for row in names if row["type"] == "table"}


def demand(services, site: str, points: tuple[str, ...], requests: int) -> None:
    """Today's demand for a set, as `requests` cached requests would have counted it."""
    for _ in range(requests):
        asyncio.run(services.warming_repo.count_request(site, points_hash(list(points)), "2025-11-24",
                                                        json.dumps(list(points))))


def test_a_cached_request_counts_its_demand(api, db, deferred):
    ask(api, deferred)
    ask(api, deferred)
    assert [(r["site"], r["requests"]) for r in rows(db, "warming_demand")] == [("demo-hq", 2)]


def test_no_token_is_written_to_any_table_by_a_request_or_a_warming_run(api, services, db, deferred):
    ask(api, deferred)
    assert warm(services)["objectsWarmed"] == 1
    ask(api, deferred, start="2025-11-23T00:00:00Z", end="2025-11-24T00:00:00Z")
    tables = every_table(db)
    assert tables["warming_demand"] and tables["warmed_objects"] and tables["cache_metadata"]
    assert "warming_tokens" not in tables
    assert cells_holding(tables, TOKEN) == []


def test_the_leak_scan_finds_a_token_stored_in_plain_or_encoded(db):
    for stored in (f"Bearer {TOKEN}", TOKEN.encode().hex(), "eyJ0IjoiZmQtdG9rZW4tM2I5ZTUxYzcifQ=="):
        assert cells_holding({"t": [{"c": stored}]}, TOKEN) == ["t.c"]


@pytest.mark.parametrize("warming_token", [None])
def test_without_the_warming_token_secret_nothing_is_warmed(api, deferred, services, flightdeck, warming_token):
    ask(api, deferred)
    before = len(flightdeck.calls)
    assert warm(services) == {"warmingSets": 0, "warmingCalls": 0, "objectsWarmed": 0,
                              "warmingStopped": "no WARMING_TOKEN secret"}
    assert len(flightdeck.calls) == before


def test_the_cron_warms_yesterday_so_the_morning_request_is_a_hit_without_upstream(api, services, deferred,
                                                                                     flightdeck):
    ask(api, deferred)
    report = warm(services)
    assert report["objectsWarmed"] == 1 and 0 < report["warmingCalls"] <= 10
    before = len(flightdeck.calls)
    response, body = ask(api, deferred, start="2025-11-23T00:00:00Z", end="2025-11-24T00:00:00Z")
    assert response.headers["x-cache-status"] == "hit" and len(flightdeck.calls) == before
    assert body["data"][POINTS[0]]["count"] > 0


def test_a_warmed_day_is_served_only_after_the_callers_own_access_check(api, services, deferred):
    ask(api, deferred)
    warm(services)
    response, body = ask(api, deferred, start="2025-11-23T00:00:00Z", end="2025-11-24T00:00:00Z",
                         token="someone-else")
    assert response.status == 401 and "data" not in body


def test_stats_report_the_warmed_objects_and_the_hits_they_served(api, services, deferred):
    ask(api, deferred)
    warm(services)
    for _ in range(2):
        ask(api, deferred, start="2025-11-23T06:00:00Z", end="2025-11-23T12:00:00Z")
    _, stats = call(api, "GET", "/api/stats", token=TOKEN)
    # One point-month object per point grew; each served both requests.
    assert stats["warming"]["objectsWarmed"] == len(POINTS) and stats["warming"]["hitsServed"] == 2 * len(POINTS)


def test_a_day_already_cached_costs_no_call(api, services, deferred):
    ask(api, deferred, start=DAY_BEFORE, end="2025-11-24T00:00:00Z")
    assert warm(services) == {"warmingSets": 1, "warmingCalls": 0, "objectsWarmed": 0, "warmingStopped": None}


@pytest.mark.parametrize("budget", [0, 1])
def test_warming_never_spends_more_than_its_budget(api, platform, deferred, clock, budget):
    ask(api, deferred)
    settings = Settings.from_env({"FLIGHTDECK_BASE_URL": "http://flightdeck.test/api",
                                  "WARMING_MAX_CALLS": str(budget), "UPSTREAM_PAGE_SAMPLES": "100"})
    report = warm(Services(settings, platform, now_ms=clock.ms))
    assert report["warmingCalls"] <= budget and report["warmingStopped"] == "budget"


def test_warming_stops_at_flightdeck_429(api, services, deferred, flightdeck):
    ask(api, deferred)
    flightdeck.faults = [429, 429, 429]
    report = warm(services)
    assert (report["warmingStopped"], report["warmingCalls"], report["objectsWarmed"]) == ("flightdeck_429", 1, 0)


def test_a_401_for_the_warming_token_stops_the_run_at_its_first_call(services, flightdeck):
    demand(services, "demo-hq", POINTS[:1], 2)
    demand(services, "demo-hq", POINTS[1:2], 1)
    flightdeck.access = {"rotated": {"demo-hq"}}  # the warming token is refused
    report = warm(services)
    assert (report["warmingStopped"], report["warmingCalls"], report["warmingSets"]) == ("flightdeck_401", 1, 1)


def test_a_site_the_warming_token_may_not_read_is_skipped(api, services, deferred, flightdeck):
    ask(api, deferred)
    demand(services, "other-site", POINTS[:1], 5)
    report = warm(services)
    assert (report["warmingSets"], report["objectsWarmed"], report["warmingStopped"]) == (2, 1, None)
    assert len(flightdeck.calls) == 2  # the day before, asked; yesterday, warmed for demo-hq only


def test_the_budgeted_transport_refuses_the_call_past_its_budget(transport):
    budgeted = BudgetedTransport(transport, 2)
    request = HttpRequest("GET", "http://flightdeck.test/api/sites/demo-hq/points",
                          {"authorization": f"Bearer {TOKEN}"})
    for _ in range(2):
        asyncio.run(budgeted.send(request, 1))
    with pytest.raises(BudgetSpent):
        asyncio.run(budgeted.send(request, 1))
    assert len(transport.requests) == 2


def test_the_days_warmed_are_the_settled_ones(services, clock):
    clock.now_ms = NOW_MS - NOW_MS % DAY_MS + 5 * 60_000  # 00:05: yesterday is not settled yet
    assert services.warming().days() == [Span(YESTERDAY.start_ms - DAY_MS, YESTERDAY.start_ms)]


def test_a_missing_day_is_checked_in_the_cache_once_before_it_is_warmed_and_once_after(api, services, deferred,
                                                                                        monkeypatch):
    ask(api, deferred)
    asked: list[Span] = []
    covers = services.cache.covers

    async def counted(site, points, span):
        asked.append(span)
        return await covers(site, points, span)

    monkeypatch.setattr(services.cache, "covers", counted)
    assert warm(services)["objectsWarmed"] == 1
    assert asked == [YESTERDAY, YESTERDAY]


def test_record_warmed_marks_more_keys_than_one_statement_binds_and_only_cached_ones(db):
    keys = [f"cache/demo-hq/p{index}/2025-11" for index in range(150)]
    for hits, key in enumerate(keys[:-1]):
        asyncio.run(db.run(
            "INSERT INTO cache_metadata (cache_key, site, points_hash, day, points_count, samples_count,"
            " original_size, compressed_size, compression_ratio, codec, covered_until, created_at, expires_at,"
            " hit_count) VALUES (?, 'demo-hq', 'h', '2025-11-01', 1, 1, 1, 1, 1, 'c', 0, 'x', 'x', ?)", (key, hits)))
    asyncio.run(WarmingRepository(db).record_warmed(keys, "demo-hq", "2025-11-23", NOW_MS))
    assert {row["cache_key"]: row["hits_before"] for row in rows(db, "warmed_objects")} == {
        key: hits for hits, key in enumerate(keys[:-1])}
