"""The queue consumer: run job batches message by message, and fail jobs from the dead-letter queue.

Delivery is at least once, so every step is idempotent: a message whose job is no longer active
or whose batch is already done is acked and skipped, and progress is derived from the batch
rows, never incremented. Failures are retried by the platform only (`message.retry`, then the
dead-letter queue after `max_retries`); the consumer never re-sends a message itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .codec import encode
from .config import Settings
from .errors import Forbidden, RateLimited, ServiceError, Unauthorized, UpstreamError, UpstreamTimeout
from .flightdeck import FlightDeckClient
from .jobmodel import ACTIVE, JobStatus
from .jobs import part_key
from .log import log_event
from .planning import PerDay, part_groups
from .ports import IncomingMessage, ObjectStore
from .repositories import JobRepository
from .timerange import Span


class JobCancelled(Exception):
    """The job was cancelled while this batch ran."""


@dataclass(frozen=True)
class BatchOutcome:
    samples: int
    parts: int


def retry_delay(attempts: int) -> int:
    """1 s, 2 s, 4 s … by the message's delivery attempts."""
    return 2 ** max(0, attempts - 1)


class JobConsumer:
    """Runs the batches delivered to the job queues."""

    def __init__(
        self,
        settings: Settings,
        repo: JobRepository,
        store: ObjectStore,
        client_for: Callable[[str], FlightDeckClient],
        now_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.store = store
        self.client_for = client_for
        self.now_ms = now_ms

    async def consume(self, queue: str, messages: Sequence[IncomingMessage]) -> None:
        """Handle a batch, one message at a time (bounded memory), each acked or retried on its own."""
        started = time.monotonic()
        results = []
        for message in messages:
            outcome, detail = await self._handle(message)
            body = message.body
            results.append({"jobId": body.get("jobId"), "batch": body.get("batch"),
                            "requestId": body.get("requestId"), "attempts": message.attempts,
                            "outcome": outcome, "detail": detail})
        log_event("queue.batch", queue=queue, messages=len(results), results=results,
                  durationMs=round((time.monotonic() - started) * 1000))

    async def _handle(self, message: IncomingMessage) -> tuple[str, object]:
        body = message.body
        job_id, index = str(body.get("jobId", "")), int(body.get("batch", -1))
        job = await self.repo.get(job_id)
        status = job["status"] if job else None
        if status not in ACTIVE or await self.repo.batch_done(job_id, index):
            message.ack()
            return "skipped", status
        await self.repo.start(job_id, self.now_ms())
        try:
            done = await self._run(job_id, job["result_prefix"] or f"jobs/{job_id}/", index, body)
        except JobCancelled:
            message.ack()
            return "cancelled", None
        except (Unauthorized, Forbidden) as exc:
            await self.repo.fail(job_id, exc.message, self.now_ms(), self.settings.job_retention_seconds)
            message.ack()
            return "failed", exc.message
        except Exception as exc:
            error = exc.message if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
            await self.repo.record_failure(job_id, index, error, self.now_ms())
            message.retry(retry_delay(message.attempts))
            return "retrying", error
        await self.repo.complete_batch(
            job_id, index, done.samples, done.parts, self.now_ms(), self.settings.job_retention_seconds
        )
        message.ack()
        return "done", done.samples

    async def _run(self, job_id: str, prefix: str, index: int, body: dict) -> BatchOutcome:
        """Fetch the batch a part at a time and store each part in R2 before fetching the next."""
        client = self.client_for(str(body["token"]))
        span = Span(int(body["start"]), int(body["end"]))
        samples = 0
        per_day = await self._samples_per_day(client, str(body["site"]), job_id)
        groups = part_groups(list(body["points"]), span, per_day)
        for part, group in enumerate(groups):
            if await self.repo.status(job_id) == JobStatus.CANCELLED.value:
                raise JobCancelled()
            fetched = await client.fetch_series(group, span, per_day=per_day)
            if fetched.errors:
                raise UpstreamError("; ".join(sorted(set(fetched.errors.values()))))
            encoded = encode(fetched.series)
            await self.store.put(part_key(prefix, index, part), encoded.body, {
                "jobId": job_id, "batch": str(index), "part": str(part), "points": str(len(group)),
                "samples": str(encoded.samples), "codec": encoded.codec, "rawSize": str(encoded.raw_size),
                "compressedSize": str(len(encoded.body)),
            })
            samples += encoded.samples
        return BatchOutcome(samples, len(groups))

    async def _samples_per_day(self, client: FlightDeckClient, site: str, job_id: str) -> PerDay:
        """Points' densities size the calls and parts; without them, assume the densest interval."""
        try:
            return await client.samples_per_day(site)
        except (UpstreamError, RateLimited, UpstreamTimeout) as exc:
            log_event("job.intervals_unknown", jobId=job_id, error=exc.message)
            return {}

    async def consume_dead_letters(self, messages: Sequence[IncomingMessage]) -> None:
        """A message that exhausted its retries fails its job with the last error seen."""
        for message in messages:
            job_id = str(message.body.get("jobId", ""))
            error = await self.repo.last_error(job_id) or "the batch exhausted its retries"
            failed = await self.repo.fail(job_id, error, self.now_ms(), self.settings.job_retention_seconds)
            message.ack()
            log_event("queue.dead_letter", jobId=job_id, batch=message.body.get("batch"),
                      requestId=message.body.get("requestId"), failed=failed, error=error)
