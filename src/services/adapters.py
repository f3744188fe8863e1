"""The Worker adapters behind the ports in `ports.py`, over workerd's JS bindings.

This is the only module that touches `js` and `pyodide` (imported inside the adapters, so the
rest of the services import and unit-test under CPython). It does every JS↔Python conversion,
including Python `None` → SQL NULL, which would otherwise cross the FFI as `undefined`, and SQL
NULL → `None`, which would otherwise arrive as `pyodide.ffi.jsnull` (falsy, but not None).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .ports import (
    ApiRequest,
    ApiResponse,
    HttpRequest,
    HttpResponse,
    ListedObject,
    Row,
    Statement,
    StoredObject,
    TransportError,
)


def _raw(binding: Any) -> Any:
    """The JS object behind the SDK's binding wrapper (or the object itself)."""
    return getattr(binding, "_binding", binding)


def _to_js(value: Any) -> Any:
    from js import Object
    from pyodide.ffi import to_js

    return to_js(value, dict_converter=Object.fromEntries)


def _sql_param(value: object) -> Any:
    from pyodide.ffi import jsnull

    return jsnull if value is None else value


def _rows(result: Any) -> list[Row]:
    from pyodide.ffi import jsnull

    rows = result.results
    if rows is None:
        return []
    return [{column: None if value is jsnull else value for column, value in row.items()} for row in rows.to_py()]


class D1Database:
    """`Database` over a D1 binding."""

    def __init__(self, binding: Any) -> None:
        self._db = _raw(binding)

    def _prepare(self, sql: str, params: Sequence[object]) -> Any:
        statement = self._db.prepare(sql)
        return statement.bind(*[_sql_param(p) for p in params]) if params else statement

    async def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return _rows(await self._prepare(sql, params).all())

    async def first(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def run(self, sql: str, params: Sequence[object] = ()) -> int:
        result = await self._prepare(sql, params).run()
        return int(result.meta.changes)

    async def batch(self, statements: Sequence[Statement]) -> None:
        from pyodide.ffi import to_js

        await self._db.batch(to_js([self._prepare(sql, params) for sql, params in statements]))


class R2ObjectStore:
    """`ObjectStore` over an R2 bucket binding."""

    def __init__(self, binding: Any) -> None:
        self._bucket = _raw(binding)

    async def get(self, key: str) -> StoredObject | None:
        found = await self._bucket.get(key)
        if found is None or not hasattr(found, "arrayBuffer"):
            return None
        buffer = await found.arrayBuffer()
        metadata = found.customMetadata
        return StoredObject(key, buffer.to_bytes(), dict(metadata.to_py()) if metadata else {})

    async def put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        from pyodide.ffi import to_js

        await self._bucket.put(key, to_js(body), _to_js({"customMetadata": metadata}))

    async def delete(self, keys: Sequence[str]) -> None:
        from pyodide.ffi import to_js

        for start in range(0, len(keys), 1000):  # R2 deletes at most 1,000 keys a call
            await self._bucket.delete(to_js(list(keys[start : start + 1000])))

    async def list_page(self, prefix: str, limit: int, start_after: str | None = None) -> list[ListedObject]:
        options: dict[str, Any] = {"prefix": prefix, "limit": min(limit, 1000)}
        if start_after is not None:
            options["startAfter"] = start_after
        listing = await self._bucket.list(_to_js(options))
        return [ListedObject(item.key, int(item.uploaded.getTime())) for item in listing.objects]


class WorkerQueue:
    """`MessageQueue` over a Queues producer binding; bodies travel as JSON text."""

    def __init__(self, binding: Any) -> None:
        self._queue = _raw(binding)

    async def send_batch(self, bodies: Sequence[dict]) -> None:
        for start in range(0, len(bodies), 100):  # sendBatch takes at most 100 messages
            chunk = [{"body": json.dumps(body)} for body in bodies[start : start + 100]]
            await self._queue.sendBatch(_to_js(chunk))


class WorkerMessage:
    """`IncomingMessage` over a delivered queue message."""

    def __init__(self, message: Any) -> None:
        self._message = _raw(message)
        self.id = str(self._message.id)
        body = self._message.body
        self.body = json.loads(body) if isinstance(body, str) else body.to_py()
        self.attempts = int(self._message.attempts)

    def ack(self) -> None:
        self._message.ack()

    def retry(self, delay_seconds: int) -> None:
        self._message.retry(_to_js({"delaySeconds": delay_seconds}))


class WorkerRateLimiter:
    """`RateLimiter` over a Rate Limiting binding (`[[ratelimits]]`)."""

    def __init__(self, binding: Any) -> None:
        self._limiter = _raw(binding)

    async def limit(self, key: str) -> bool:
        outcome = await self._limiter.limit(_to_js({"key": key}))
        return bool(outcome.success)


class FetchTransport:
    """`Transport` over the runtime's `fetch`, aborted after `timeout` seconds or when cancelled."""

    async def send(self, request: HttpRequest, timeout: float) -> HttpResponse:
        from js import AbortController, AbortSignal, fetch
        from pyodide.ffi import JsException, to_js

        # Cancelling the Python task only stops waiting; abort() stops the fetch and frees its connection.
        controller = AbortController.new()
        init: dict[str, Any] = {
            "method": request.method,
            "headers": request.headers,
            "signal": AbortSignal.any(to_js([controller.signal, AbortSignal.timeout(max(1, int(timeout * 1000)))])),
        }
        if request.body is not None:
            init["body"] = to_js(request.body)
        try:
            response = await fetch(request.url, _to_js(init))
            body = (await response.arrayBuffer()).to_bytes()
        except JsException as exc:
            raise TransportError(str(exc)) from exc
        except asyncio.CancelledError:
            controller.abort()
            raise
        headers = {str(k).lower(): str(v) for k, v in response.headers.entries()}
        return HttpResponse(int(response.status), headers, body)


@contextmanager
def api_request(request: Any) -> Iterator[ApiRequest]:
    """The runtime's Request as an `ApiRequest` whose `gone` is set if the client disconnects.

    workerd aborts an incoming request's `signal` when its client goes only with the
    `enable_request_signal` compatibility flag (it has no default date); without it the signal
    never fires and every request runs to its end. The listener lives while the block runs.
    """
    from pyodide.ffi import create_proxy

    raw = getattr(request, "js_object", request)
    headers = {str(k).lower(): str(v) for k, v in raw.headers.entries()}
    incoming = ApiRequest(str(raw.method), str(raw.url), headers)
    signal = raw.signal
    listener = create_proxy(lambda _event: incoming.gone.set())
    signal.addEventListener("abort", listener)
    if signal.aborted:
        incoming.gone.set()
    try:
        yield incoming
    finally:
        signal.removeEventListener("abort", listener)
        listener.destroy()


def js_response(response: ApiResponse) -> Any:
    """Turn an `ApiResponse` into a JS Response, streaming an async-iterator body."""
    from js import Response
    from pyodide.ffi import to_js

    init = _to_js({"status": response.status, "headers": response.headers})
    if isinstance(response.body, bytes):
        body = to_js(response.body) if response.body else None
        return Response.new(body, init)
    return Response.new(_readable_stream(response.body), init)


def _readable_stream(chunks: AsyncIterator[bytes]) -> Any:
    """A pull-based ReadableStream: one chunk is produced each time the reader asks."""
    from js import Object, ReadableStream
    from pyodide.ffi import create_proxy, to_js

    async def pull(controller: Any) -> None:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            controller.close()
            return
        except Exception as exc:  # the headers are gone: end the stream with an error
            controller.error(str(exc))
            raise
        controller.enqueue(to_js(chunk))

    source = Object.fromEntries(to_js([["pull", create_proxy(pull)]]))
    return ReadableStream.new(source)


def env_vars(env: Any, names: Sequence[str]) -> dict[str, str]:
    """The string vars among `names` that the Worker's env defines."""
    values: dict[str, str] = {}
    for name in names:
        value = getattr(env, name, None)
        if isinstance(value, str):
            values[name] = value
    return values


def wait_until(ctx: Any, awaitable: Any) -> None:
    """Keep the invocation alive until `awaitable` finishes, without delaying the response."""
    import asyncio

    from pyodide.ffi import to_js

    ctx.waitUntil(to_js(asyncio.ensure_future(awaitable)))
