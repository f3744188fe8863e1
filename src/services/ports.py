"""The ports to the platform: the protocols the services depend on, and plain data types.

The Worker implementations are in `adapters.py`; the unit tests' doubles are in `tests/doubles.py`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Row = dict[str, Any]
Statement = tuple[str, Sequence[object]]
# waitUntil: keep the invocation alive for a task without delaying the response.
Defer = Callable[[Awaitable[None]], None]


class Database(Protocol):
    """D1 (SQLite): every statement binds its values."""

    async def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...
    async def first(self, sql: str, params: Sequence[object] = ()) -> Row | None: ...
    async def run(self, sql: str, params: Sequence[object] = ()) -> int: ...
    async def batch(self, statements: Sequence[Statement]) -> None: ...


@dataclass(frozen=True)
class StoredObject:
    """An R2 object's bytes and custom metadata."""

    key: str
    body: bytes
    metadata: dict[str, str]


@dataclass(frozen=True)
class ListedObject:
    """One entry of an R2 listing: its key and when it was written (epoch ms)."""

    key: str
    uploaded_ms: int


class ObjectStore(Protocol):
    """R2: bytes under keys, with string metadata."""

    async def get(self, key: str) -> StoredObject | None: ...
    async def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None: ...
    async def delete(self, keys: Sequence[str]) -> None: ...
    async def list_page(self, prefix: str, limit: int, start_after: str | None = None) -> list[ListedObject]: ...


class MessageQueue(Protocol):
    """A Queues producer; bodies are JSON-serialisable dicts."""

    async def send_batch(self, bodies: Sequence[dict]) -> None: ...


class IncomingMessage(Protocol):
    """One delivered queue message; each is acked or retried on its own."""

    id: str
    body: dict
    attempts: int

    def ack(self) -> None: ...
    def retry(self, delay_seconds: int) -> None: ...


class RateLimiter(Protocol):
    """A Rate Limiting binding: True while `key` is under the binding's limit (and counts the call)."""

    async def limit(self, key: str) -> bool: ...


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Transport(Protocol):
    """All outgoing HTTP goes through one method, as in httpx."""

    async def send(self, request: HttpRequest, timeout: float) -> HttpResponse: ...


class TransportError(Exception):
    """The request did not produce a complete response (connection refused, reset, aborted)."""


@dataclass(frozen=True)
class ApiRequest:
    """An incoming HTTP request as the API sees it; `gone` is set when its client disconnects."""

    method: str
    url: str
    headers: dict[str, str]
    gone: asyncio.Event = field(default_factory=asyncio.Event, compare=False)


@dataclass
class ApiResponse:
    """An outgoing response; `body` is bytes, or an async iterator of chunks to stream."""

    status: int
    body: bytes | AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)
