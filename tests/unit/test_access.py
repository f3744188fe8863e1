"""Access per token and site: FlightDeck's answers on sites and points, remembered per token hash in real SQLite."""

import asyncio
from urllib.parse import unquote

import pytest

from services.access import names_digest, token_hash
from services.errors import Forbidden
from services.query import Priority
from services.repositories import AccessRepository, CatalogRepository, SiteList
from services.timerange import parse_iso
from tests.conftest import NOW_MS
from tests.doubles import FakeMessage
from tests.fakeflightdeck import POINTS, SITE, truth
from tests.unit.helpers import call, series_params

ALICE, BOB = token_hash("alice"), token_hash("bob")
TTL_S = 300
LIST = {name: 288 for name in POINTS}


def remember_list(db, token_digest, listed, site_list=LIST, now=NOW_MS):
    """What an access check with the token stores: the site's list and what the token's own list lacks."""
    catalog = CatalogRepository(db)
    stored = SiteList(site_list, names_digest(site_list), now + 3_600_000)
    asyncio.run(AccessRepository(db).remember(token_digest, SITE, True, now, TTL_S, stored.digest,
                                              sorted(site_list.keys() - set(listed)),
                                              catalog.replace(SITE, stored, now)))


def readable(db, token_digest, names=POINTS, now=NOW_MS):
    return asyncio.run(AccessRepository(db).readable(token_digest, SITE, names, now))


def test_repository_readable_leaves_out_the_points_a_tokens_own_list_lacks(db):
    remember_list(db, ALICE, POINTS)
    remember_list(db, BOB, POINTS[:2])
    assert readable(db, ALICE) == (True, LIST)
    assert readable(db, BOB) == (True, {POINTS[0]: 288, POINTS[1]: 288})


def test_repository_readable_leaves_out_names_the_site_lacks(db):
    remember_list(db, ALICE, POINTS)
    assert readable(db, ALICE, [POINTS[0], "acme/elsewhere/x"]) == (True, {POINTS[0]: 288})


def test_repository_a_403_refusal_is_remembered_for_the_token_only(db):
    remember_list(db, ALICE, POINTS)
    remember_list(db, BOB, POINTS)
    asyncio.run(AccessRepository(db).refuse(BOB, SITE, [POINTS[2]], NOW_MS, TTL_S))
    assert POINTS[2] not in readable(db, BOB)[1] and POINTS[2] in readable(db, ALICE)[1]


def test_repository_a_403_refusal_expires_after_its_ttl(db):
    remember_list(db, BOB, POINTS)
    asyncio.run(AccessRepository(db).refuse(BOB, SITE, [POINTS[2]], NOW_MS, TTL_S))
    later = NOW_MS + 60_000
    assert asyncio.run(AccessRepository(db).refused(BOB, SITE, POINTS, later)) == {POINTS[2]}
    remember_list(db, BOB, POINTS, now=later)  # a fresh access answer outlives the refusal
    assert POINTS[2] in readable(db, BOB, now=NOW_MS + TTL_S * 1000 + 1)[1]


def test_repository_an_answer_compared_with_another_site_list_is_not_taken(db):
    remember_list(db, BOB, POINTS[:2], site_list={name: 288 for name in POINTS[:2]})
    remember_list(db, ALICE, POINTS)  # Alice's list adds POINTS[2] to the site's: Bob was never compared with it
    assert readable(db, BOB) is None
    assert asyncio.run(AccessRepository(db).lookup(BOB, SITE, NOW_MS)) is None


def test_repository_a_site_refusal_is_remembered_without_any_site_list(db):
    asyncio.run(AccessRepository(db).remember(BOB, SITE, False, NOW_MS, TTL_S))
    assert readable(db, BOB) == (False, {})
    assert asyncio.run(AccessRepository(db).lookup(BOB, SITE, NOW_MS)) is False


def test_repository_readable_takes_more_names_than_one_statement_binds(db):
    names = [f"acme/demo-hq/p{index}" for index in range(250)]
    site_list = {name: 96 for name in names}
    remember_list(db, ALICE, names[1:], site_list=site_list)
    allowed, per_day = readable(db, ALICE, names)
    assert allowed and set(per_day) == set(names[1:])


def test_repository_readable_of_no_names_still_answers_on_the_site(db):
    remember_list(db, ALICE, POINTS)
    assert readable(db, ALICE, []) == (True, {}) and readable(db, BOB, []) is None


def test_repository_keeps_only_token_hashes(db):
    remember_list(db, token_hash("secret-token"), POINTS[:1])
    rows = asyncio.run(db.all("SELECT token_hash FROM site_access UNION ALL SELECT token_hash FROM point_refusals"))
    assert rows and all(row["token_hash"] == token_hash("secret-token") for row in rows)


def test_repository_expired_answers_and_refusals_are_deleted(db):
    remember_list(db, BOB, POINTS[:2])
    asyncio.run(AccessRepository(db).refuse(BOB, SITE, [POINTS[0]], NOW_MS, TTL_S))
    assert asyncio.run(AccessRepository(db).delete_expired(NOW_MS + TTL_S * 1000 + 1)) == 3
    assert asyncio.run(db.all("SELECT * FROM point_refusals")) == []


@pytest.fixture
def narrow(flightdeck):
    """A token that reads the demo HQ, but whose list of it lacks POINTS[1] (and whose calls for it get 403)."""
    flightdeck.access["narrow"] = {SITE}
    flightdeck.unlisted["narrow"] = {POINTS[1]}


def cache_all(api, deferred):
    call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    asyncio.run(deferred.drain())


def data_calls_for(transport, name, since=0):
    """The data calls sent to FlightDeck for the point (answered or refused) after the first `since` requests."""
    return [r for r in transport.requests[since:] if "timeseries" in r.url
            and (name in unquote(r.url) or name.encode() in (r.body or b""))]


@pytest.mark.usefixtures("narrow")
def test_a_point_the_tokens_list_lacks_is_never_served_from_what_another_token_cached(api, deferred, transport):
    cache_all(api, deferred)
    sent = len(transport.requests)
    response, body = call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"), token="narrow")
    assert response.status == 200 and response.headers["x-cache-status"] == "hit"
    assert body["data"][POINTS[1]]["samples"] == [] and "may read" in body["data"][POINTS[1]]["error"]
    assert body["data"][POINTS[0]]["samples"] == truth(POINTS[0], parse_iso("2025-11-10"), parse_iso("2025-11-13"))
    assert not any("timeseries" in r.url for r in transport.requests[sent:])


@pytest.mark.usefixtures("narrow")
def test_a_point_the_tokens_list_lacks_is_left_out_of_its_job_and_listed_as_an_error(api, services, queues):
    _, ticket = call(api, "GET", "/api/timeseries", series_params(POINTS, route="queued"), token="narrow")
    sent = queues[Priority.NORMAL].sent
    assert sent and all(POINTS[1] not in message["points"] for message in sent)
    asyncio.run(services.consumer().consume("building-vitals-jobs", [FakeMessage(body) for body in sent]))
    _, result = call(api, "GET", f"/api/jobs/{ticket['jobId']}/result", token="narrow")
    assert result["data"][POINTS[1]]["samples"] == [] and "may read" in result["data"][POINTS[1]]["error"]
    assert result["data"][POINTS[0]]["count"] == 3 * 288 and list(result["data"])[-1] == POINTS[1]


def test_a_403_for_a_listed_point_hides_what_is_cached_of_it_and_is_remembered(api, deferred, flightdeck, db):
    call(api, "GET", "/api/timeseries", series_params(POINTS, end="2025-11-12T00:00:00Z", route="cached"))
    asyncio.run(deferred.drain())
    flightdeck.refused = {POINTS[1]}
    first, body = call(api, "GET", "/api/timeseries", series_params(POINTS, route="cached"))
    asyncio.run(deferred.drain())
    assert first.headers["x-cache-status"] == "partial" and body["data"][POINTS[1]]["samples"] == []
    assert "refuses" in body["data"][POINTS[1]]["error"] and body["data"][POINTS[0]]["count"] == 3 * 288
    (row,) = asyncio.run(db.all("SELECT name, reason FROM point_refusals"))
    assert (row["name"], row["reason"]) == (POINTS[1], "refused")


def test_a_remembered_403_is_not_asked_again_until_it_expires(api, deferred, flightdeck, transport, clock, services):
    flightdeck.refused = {POINTS[1]}
    params = series_params(POINTS, route="cached")
    call(api, "GET", "/api/timeseries", params)
    asyncio.run(deferred.drain())
    sent = len(transport.requests)
    _, body = call(api, "GET", "/api/timeseries", {**params, "route": "direct"})
    assert body["data"][POINTS[1]]["samples"] == [] and body["data"][POINTS[1]]["error"]
    assert data_calls_for(transport, POINTS[1], sent) == [] and data_calls_for(transport, POINTS[0], sent)
    flightdeck.refused = set()
    clock.now_ms += services.settings.access_ttl_seconds * 1000 + 1
    _, body = call(api, "GET", "/api/timeseries", params)
    assert body["data"][POINTS[1]]["count"] == 3 * 288 and body["data"][POINTS[1]]["error"] is None


def test_a_remembered_answer_reads_d1_once_and_asks_flightdeck_nothing(services, db, transport):
    client = services.client("good")
    asyncio.run(services.access.readable(client, token_hash("good"), SITE, POINTS))
    statements = []
    original = db.all
    db.all = lambda sql, params=(): statements.append(sql) or original(sql, params)
    sent = len(transport.requests)
    assert asyncio.run(services.access.readable(client, token_hash("good"), SITE, POINTS)) == LIST
    assert len(statements) == 1 and len(transport.requests) == sent


def test_a_token_refused_the_site_is_forbidden_without_asking_again(services, flightdeck, transport):
    client = services.client("limited")
    for _ in range(2):
        with pytest.raises(Forbidden):
            asyncio.run(services.access.readable(client, token_hash("limited"), SITE, POINTS))
    assert sum("/sites/demo-hq/points" in request.url for request in transport.requests) == 1


@pytest.mark.usefixtures("narrow")
def test_two_tokens_with_different_lists_each_keep_their_own_view(services, transport):
    narrow, good = services.client("narrow"), services.client("good")
    narrow_view = asyncio.run(services.access.readable(narrow, token_hash("narrow"), SITE, POINTS))
    good_view = asyncio.run(services.access.readable(good, token_hash("good"), SITE, POINTS))
    again = asyncio.run(services.access.readable(narrow, token_hash("narrow"), SITE, POINTS))
    assert set(narrow_view) == set(again) == {POINTS[0], POINTS[2]} and set(good_view) == set(POINTS)
