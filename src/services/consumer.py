"""The queue consumer: run job batches message by message, and fail jobs from the dead-letter queue.

Delivery is at least once, so every step is idempotent: a message whose job is no longer active
or whose batch is already done is acked and skipped, each part is counted once in D1 (so a
redelivered or continued batch resumes at its first missing part), and progress is derived from
the batch rows, never incremented. Failures are retried by the platform only (`message.retry`,
then the dead-letter queue after `max_retries`).

Sizing, per consumer invocation (limits in DESIGN section 3):
* memory: one part at a time, at most `JOB_PART_SAMPLES` (100,000) samples, fetched in pages of
  `JOB_PAGE_SAMPLES` (10,000), `JOB_UPSTREAM_CONCURRENCY` (2) at once: a page's JSON and its parsed
  objects cost far more than the columns they become, so pages in flight, not the part, set the peak;
* subrequests: at most `CONSUMER_MAX_UPSTREAM_CALLS` (40) FlightDeck calls, counting per-point
  fallbacks and retries, under the free plan's 50 external subrequests; a part takes ~4 binding
  calls (status, R2 put, D1 batch) against the 1,000 allowed for Cloudflare services. Past the
  cap the batch is not failed: the message is sent again as a follow-up and acked, and the next
  invocation resumes at the first part not yet in R2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .access import AccessService, token_hash
from .codec import encode
from .config import Settings
from .errors import Forbidden, NotFound, RateLimited, ServiceError, Unauthorized, UpstreamError, UpstreamTimeout
from .flightdeck import CallBudgetExhausted, FetchResult, FlightDeckClient
from .jobmodel import ACTIVE, JobStatus
from .jobs import job_queue, part_key
from .log import log_event
from .planning import PerDay, part_groups, plan_calls
from .ports import IncomingMessage, MessageQueue, ObjectStore
from .query import Priority
from .repositories import JobRepository
from .series import PointSeries
from .timerange import Span


class JobCancelled(Exception):
    """The job was cancelled while this batch ran."""




def retry_delay(attempts: int) -> int:
    """1 s, 2 s, 4 s … by the message's delivery attempts."""
    return 2 ** max(0, attempts - 1)


class JobConsumer:
    """Runs the batches delivered to the job queues; one instance per invocation."""

    def __init__(
        self,
        settings: Settings,
        repo: JobRepository,
        store: ObjectStore,
        client_for: Callable[[str], FlightDeckClient],
        access: AccessService,
        queues: dict[Priority, MessageQueue],
        now_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.store = store
        self.client_for = client_for
        self.access = access
        self.queues = queues
        self.now_ms = now_ms
        self.calls_left = settings.consumer_max_upstream_calls
        self.parts_written = 0

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
                  upstreamCalls=self.settings.consumer_max_upstream_calls - self.calls_left,
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
        client = self.client_for(str(body["token"]))
        client.call_limit = max(0, self.calls_left)
        try:
            finished = await self._run(client, job_id, job["result_prefix"] or f"jobs/{job_id}/", index, body,
                                       message.attempts)
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
        finally:
            self.calls_left -= client.stats.calls
        if not finished:
            await job_queue(self.queues, job["priority"]).send_batch([body])
            message.ack()
            return "continued", None
        return await self._finish(message, job_id, index, len(body["points"]))

    async def _finish(self, message: IncomingMessage, job_id: str, index: int, points: int) -> tuple[str, object]:
        """Every part is in R2: the batch is done, unless every one of its points failed."""
        errors = await self.repo.point_errors(job_id, index)
        message.ack()
        if errors and len(errors) >= points:
            error = "; ".join(sorted(set(errors.values())))
            await self.repo.fail(job_id, error, self.now_ms(), self.settings.job_retention_seconds)
            return "failed", error
        await self.repo.complete_batch(job_id, index, self.now_ms(), self.settings.job_retention_seconds)
        return "done", len(errors) or None

    async def _run(
        self, client: FlightDeckClient, job_id: str, prefix: str, index: int, body: dict, attempts: int
    ) -> bool:
        """Fetch the batch's missing parts and store each in R2 before fetching the next.

        False when the invocation's upstream-call budget ran out first (the rest continues later).
        """
        span = Span(int(body["start"]), int(body["end"]))
        points, site, owner = list(body["points"]), str(body["site"]), token_hash(str(body["token"]))
        per_day = await self._densities(client, owner, site, points, job_id)
        proposed = part_groups(points, span, self.settings.job_part_samples, per_day)
        groups, written = await self.repo.plan(job_id, index, proposed)
        for part in range(written, len(groups)):
            if await self.repo.status(job_id) == JobStatus.CANCELLED.value:
                raise JobCancelled()
            group = groups[part]
            planned = len(plan_calls(group, span, self.settings.upstream_page_samples, per_day))
            if self.parts_written and client.stats.calls + planned > (client.call_limit or 0):
                return False
            try:
                fetched = await self._fetch_part(client, group, span, per_day, attempts)
            except CallBudgetExhausted as exc:
                if not self.parts_written:  # even a fresh invocation cannot fit this part: a failure
                    raise UpstreamError(f"one part needs more than {exc} calls") from exc
                return False
            encoded = encode(fetched.series)
            await self.store.put(part_key(prefix, index, part), encoded.body, {
                "jobId": job_id, "batch": str(index), "part": str(part), "points": str(len(group)),
                "samples": str(encoded.samples), "codec": encoded.codec, "rawSize": str(encoded.raw_size),
                "compressedSize": str(len(encoded.body)),
            })
            await self.repo.record_part(job_id, index, part, encoded.samples, fetched.errors, self.now_ms())
            self.parts_written += 1
            if client.refused:  # the owner's other requests never read these points from the cache either
                await self.access.refuse(owner, site, sorted(client.refused))
                client.refused.clear()
        return True

    async def _fetch_part(
        self, client: FlightDeckClient, group: Sequence[str], span: Span, per_day: PerDay, attempts: int
    ) -> FetchResult:
        """A point still failing on delivery JOB_POINT_ATTEMPTS is recorded as its error, as the direct
        route does; before that the batch is retried (and resumes at this part)."""
        final = attempts >= self.settings.job_point_attempts
        try:
            fetched = await client.fetch_series(group, span, per_day=per_day)
        except UpstreamError as exc:
            if not final:
                raise
            return FetchResult({name: PointSeries() for name in group}, {name: exc.message for name in group})
        failing = {error for name, error in fetched.errors.items() if name not in client.refused}
        if failing and not final:  # a point FlightDeck refuses to the token is final at once
            raise UpstreamError("; ".join(sorted(failing)))
        return fetched

    async def _densities(
        self, client: FlightDeckClient, owner: str, site: str, points: Sequence[str], job_id: str,
    ) -> PerDay:
        """Points' densities size the calls and parts; without them, assume the densest interval."""
        try:
            return await self.access.densities(client, owner, site, points)
        except (UpstreamError, RateLimited, UpstreamTimeout, NotFound, CallBudgetExhausted) as exc:
            log_event("job.intervals_unknown", jobId=job_id, error=str(exc))  # a ServiceError's str is its message
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
