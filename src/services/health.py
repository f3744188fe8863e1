"""`GET /api/health`: do R2, D1 and the queue answer (and FlightDeck, with `deep`)?

Anyone may call it, so the plain check only reads (a D1 query, an R2 get): a write probe costs an
R2 write and a consumer run. The write probes (R2 put, queue send) run only with `deep=1` and a
token FlightDeck accepts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable

from .config import Settings
from .errors import Unauthorized
from .ports import HttpRequest, MessageQueue, ObjectStore, Transport
from .repositories import JobRepository

PROBE_KEY = "health/probe"


async def _timed(check: Callable[[], Awaitable[object]]) -> dict:
    started = time.monotonic()
    try:
        detail = await check()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result: dict = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    if detail is not None:
        result["detail"] = detail
    return result


def runtime_versions(settings: Settings) -> dict:
    versions = {"service": settings.version, "python": sys.version.split()[0]}
    pyodide = sys.modules.get("pyodide")
    if pyodide is not None:
        versions["pyodide"] = getattr(pyodide, "__version__", "unknown")
    return versions


class HealthService:
    def __init__(
        self, settings: Settings, jobs: JobRepository, store: ObjectStore, queue: MessageQueue, transport: Transport
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.store = store
        self.queue = queue
        self.transport = transport

    async def check(self, deep: bool, token: str | None) -> tuple[bool, dict]:
        """Read-only checks; with `deep` and an accepted token, FlightDeck and the write probes too."""
        checks = {"d1": await _timed(self.jobs.count_by_status)}
        if deep:
            if not token:
                raise Unauthorized("deep=1 needs a FlightDeck token (X-ACE-Token or Authorization: Bearer)")
            flightdeck = await _timed(lambda: self._flightdeck(token))
            if flightdeck.get("detail", {}).get("status") == 401:
                raise Unauthorized("FlightDeck rejected the token; deep=1 needs one it accepts")
            checks["r2"] = await _timed(self._r2)  # the write probe reads its object back: no separate read
            checks["flightdeck"] = flightdeck
            checks["queue"] = await _timed(lambda: self.queue.send_batch([{"kind": "probe"}]))
        else:
            checks["r2"] = await _timed(self._r2_read)
        healthy = all(check["ok"] for check in checks.values())
        return healthy, {"status": "healthy" if healthy else "unhealthy", "checks": checks,
                         "versions": runtime_versions(self.settings)}

    async def _r2_read(self) -> None:
        """The read probe: one R2 get (of the write probe's object, there or not); the object is not the answer."""
        await self.store.get(PROBE_KEY)

    async def _r2(self) -> None:
        """The write probe: put an object and read it back."""
        await self.store.put(PROBE_KEY, b"ok", {"kind": "probe"})
        if await self.store.get(PROBE_KEY) is None:
            raise RuntimeError("the probe object was not read back")

    async def _flightdeck(self, token: str) -> dict:
        url = f"{self.settings.flightdeck_base_url.rstrip('/')}/sites/?per_page=2"
        request = HttpRequest("GET", url, {"authorization": f"Bearer {token}", "accept": "application/json"})
        response = await self.transport.send(request, self.settings.upstream_timeout_seconds)
        if response.status >= 500:
            raise RuntimeError(f"FlightDeck answered {response.status}")
        return {"status": response.status}
