"""Fixtures chained settings → db → platform → services → api, on real SQLite and simple doubles."""

from __future__ import annotations

import asyncio

import pytest

from services.api import Api
from services.app import Platform, Services
from services.config import Settings
from services.query import Priority
from tests.doubles import Deferred, ListQueue, MemoryStore, MockTransport, SqliteDatabase
from tests.fakeflightdeck import MANY, POINTS, SITE, FakeFlightDeck

NOW_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z


class Clock:
    def __init__(self) -> None:
        self.now_ms = NOW_MS

    def ms(self) -> int:
        return self.now_ms


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"FLIGHTDECK_BASE_URL": "http://flightdeck.test/api", "UPSTREAM_TIMEOUT_SECONDS": "5",
                              "ALLOWED_ORIGINS": "https://app.example"})


@pytest.fixture
def db() -> SqliteDatabase:
    return SqliteDatabase()


@pytest.fixture
def store(clock) -> MemoryStore:
    return MemoryStore(clock.ms)


@pytest.fixture
def flightdeck() -> FakeFlightDeck:
    return FakeFlightDeck()


@pytest.fixture
def many_points(flightdeck: FakeFlightDeck) -> None:
    """The fake lists the 120 `MANY` points at the demo HQ, beside `POINTS`."""
    flightdeck.site_points[SITE] = tuple(dict.fromkeys(POINTS + MANY))


@pytest.fixture
def transport(flightdeck: FakeFlightDeck) -> MockTransport:
    return MockTransport(flightdeck)


@pytest.fixture
def queues() -> dict[Priority, ListQueue]:
    return {Priority.NORMAL: ListQueue(), Priority.HIGH: ListQueue()}


@pytest.fixture
def deferred():
    pending = Deferred()
    yield pending
    asyncio.run(pending.drain())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(settings, db, store, queues, transport, deferred, clock) -> Services:
    platform = Platform(db=db, store=store, queues=queues, transport=transport, defer=deferred)
    async def no_sleep(_seconds: float) -> None:
        return None

    return Services(settings, platform, now_ms=clock.ms, sleep=no_sleep)


@pytest.fixture
def api(services) -> Api:
    return Api(services)
