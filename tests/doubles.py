"""Test doubles for the platform ports: real SQLite running schema.sql, a dict for R2, lists for queues."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from services.ports import HttpRequest, HttpResponse, ListedObject, Row, Statement, StoredObject

SCHEMA = Path(__file__).resolve().parents[1] / "schema.sql"


class SqliteDatabase:
    """`Database` on a real SQLite database built from the project's schema.sql."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(SCHEMA.read_text())

    async def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return [dict(row) for row in self.conn.execute(sql, tuple(params))]

    async def first(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    async def batch(self, statements: Sequence[Statement]) -> None:
        self.conn.execute("BEGIN")
        try:
            for sql, params in statements:
                self.conn.execute(sql, tuple(params))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


class MemoryStore:
    """`ObjectStore` in a dict; `fail` makes every call raise; `now_ms` stamps each write."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.objects: dict[str, StoredObject] = {}
        self.uploaded: dict[str, int] = {}
        self.now_ms = now_ms
        self.fail = False
        self.lists = 0

    def _check(self) -> None:
        if self.fail:
            raise OSError("R2 is down")

    async def get(self, key: str) -> StoredObject | None:
        self._check()
        return self.objects.get(key)

    async def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        self._check()
        self.objects[key] = StoredObject(key, body, dict(metadata))
        self.uploaded[key] = self.now_ms()

    async def delete(self, keys: Sequence[str]) -> None:
        self._check()
        for key in keys:
            self.objects.pop(key, None)

    async def list_page(self, prefix: str, limit: int, start_after: str | None = None) -> list[ListedObject]:
        self._check()
        self.lists += 1
        keys = sorted(k for k in self.objects if k.startswith(prefix) and (start_after is None or k > start_after))
        return [ListedObject(key, self.uploaded[key]) for key in keys[:limit]]


class ListQueue:
    """`MessageQueue` that keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send_batch(self, bodies: Sequence[dict]) -> None:
        self.sent.extend(bodies)


class FakeMessage:
    """`IncomingMessage` that records how it was settled."""

    def __init__(self, body: dict, attempts: int = 1) -> None:
        self.id = f"m{id(self)}"
        self.body = body
        self.attempts = attempts
        self.outcome: tuple[str, int | None] | None = None

    def ack(self) -> None:
        self.outcome = ("ack", None)

    def retry(self, delay_seconds: int) -> None:
        self.outcome = ("retry", delay_seconds)


class MockTransport:
    """`Transport` that hands each request to a handler, as httpx's MockTransport does."""

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []

    async def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        self.requests.append(request)
        result = self.handler(request)
        if asyncio.iscoroutine(result):
            result = await result
        return result  # type: ignore[return-value]


class Deferred:
    """Collects waitUntil work so a test can run it when it chooses."""

    def __init__(self) -> None:
        self.pending: list[Awaitable[None]] = []

    def __call__(self, awaitable: Awaitable[None]) -> None:
        self.pending.append(awaitable)

    async def drain(self) -> None:
        while self.pending:
            await self.pending.pop(0)


class CountingLimiter:
    """`RateLimiter` with a fixed limit per key and a window that never rolls (tests run in one window)."""

    def __init__(self, limit: int) -> None:
        self.limit_per_key = limit
        self.counts: dict[str, int] = {}

    async def limit(self, key: str) -> bool:
        if self.counts.get(key, 0) >= self.limit_per_key:
            return False
        self.counts[key] = self.counts.get(key, 0) + 1
        return True
