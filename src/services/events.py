"""Live job progress as Server-Sent Events: poll D1, send what changed, end with the job's outcome.

The stream is the job's status as `GET /api/jobs/{id}` shows it: a `progress` event each time the
status or progress changes, then one terminal event (`completed`, `failed` or `cancelled`), then
the end. Each event's id names the state it shows, so a client reconnecting with `Last-Event-ID`
gets only what changed since. A stream lasts at most `events_max_seconds` (a bounded number of D1
reads per invocation); the client then reconnects, as EventSource does by itself.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

from .config import Settings
from .jobmodel import FINISHED
from .jobs import job_view
from .ports import Row
from .repositories import JobRepository

RECONNECT_MS = 2_000  # the `retry:` an EventSource waits before reconnecting after a stream ends
HEARTBEAT = b": heartbeat\n\n"


def state_id(job: Row) -> str:
    """The event id of the state a job is in: what a client sends back as Last-Event-ID."""
    return f"{job['status']}-{job['progress']}-{job['completed_batches']}"


def seen_outcome(job: Row, last_event_id: str | None) -> bool:
    """True when the client already received this finished job's terminal event."""
    return job["status"] in FINISHED and last_event_id == state_id(job)


def event(name: str, job: Row) -> bytes:
    data = json.dumps(job_view(job), separators=(",", ":"))
    return f"id: {state_id(job)}\nevent: {name}\ndata: {data}\n\n".encode()


class JobEvents:
    """Streams one job's changes from D1 for a bounded time."""

    def __init__(
        self, settings: Settings, repo: JobRepository, sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.sleep = sleep
        self.clock = clock

    async def stream(self, job: Row, last_event_id: str | None) -> AsyncIterator[bytes]:
        """Events from `job` (already read and owned by the caller) until it finishes or time is up."""
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        started = quiet_since = self.clock()
        seen = last_event_id
        current: Row | None = job
        while current is not None:
            if state_id(current) != seen:
                seen = state_id(current)
                finished = current["status"] in FINISHED
                yield event(current["status"] if finished else "progress", current)
                if finished:
                    return
                quiet_since = self.clock()
            elif self.clock() - quiet_since >= self.settings.events_heartbeat_seconds:
                yield HEARTBEAT  # keeps proxies from closing an idle stream
                quiet_since = self.clock()
            if self.clock() - started >= self.settings.events_max_seconds:
                return
            await self.sleep(self.settings.events_poll_seconds)
            current = await self.repo.get(job["id"])
