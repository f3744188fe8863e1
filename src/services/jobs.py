"""`QueueService`: create jobs for large requests, report their status, cancel them, stream results."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from .aggregate import TextValuesError
from .codec import decode
from .config import Settings
from .errors import Conflict, NotFound, RateLimited
from .formats import Writer
from .jobmodel import ACTIVE, JobStatus
from .planning import chunks
from .ports import MessageQueue, ObjectStore, Row
from .query import Priority, SeriesQuery
from .repositories import JobRepository, NewJob
from .routing import estimate_samples
from .series import PointSeries
from .shaping import Shaping
from .timerange import Span, db_time, parse_iso

JOB_ID_LENGTH = 32
LISTED_JOBS = 20
JOB_CAP_RETRY_AFTER_SECONDS = 30  # a batch takes seconds to minutes: ask again after a while


@dataclass(frozen=True)
class JobTicket:
    """The job that serves a queued request, and whether this request created it."""

    job: Row
    created: bool

    @property
    def job_id(self) -> str:
        return self.job["id"]


def request_hash(query: SeriesQuery) -> str:
    identity = [query.site, sorted(query.points), query.span.start_ms, query.span.end_ms]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def job_queue(queues: dict[Priority, MessageQueue], priority: str) -> MessageQueue:
    """High-priority jobs have their own queue; low and normal ones share the other."""
    return queues[Priority.HIGH if priority == Priority.HIGH else Priority.NORMAL]


def part_key(prefix: str, batch: int, part: int) -> str:
    return f"{prefix}b{batch:05d}-p{part:04d}"


def valid_job_id(job_id: str) -> bool:
    return len(job_id) == JOB_ID_LENGTH and all(c in "0123456789abcdef" for c in job_id)


def job_view(job: Row) -> dict:
    """The public status of a job (DESIGN section 6)."""
    completed = job["status"] == JobStatus.COMPLETED.value
    return {
        "jobId": job["id"],
        "status": job["status"],
        "progress": job["progress"],
        "priority": job["priority"],
        "site": job["site"],
        "pointsCount": len(json.loads(job["points"])),
        "startTime": job["start_time"],
        "endTime": job["end_time"],
        "createdAt": job["created_at"],
        "startedAt": job["started_at"],
        "completedAt": job["completed_at"],
        "estimatedSize": job["estimated_size"],
        "samplesCount": job["samples_count"],
        "totalBatches": job["total_batches"],
        "completedBatches": job["completed_batches"],
        "retries": job["retry_count"],
        "error": job["error"],
        "expiresAt": job["expires_at"],
        "resultUrl": f"/api/jobs/{job['id']}/result" if completed else None,
    }


class QueueService:
    """Jobs of one owner (the hash of a caller's token)."""

    def __init__(
        self,
        settings: Settings,
        repo: JobRepository,
        queues: dict[Priority, MessageQueue],
        store: ObjectStore,
        owner_hash: str,
        token: str,
        now_ms: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.queues = queues
        self.store = store
        self.owner_hash = owner_hash
        self._token = token
        self.now_ms = now_ms

    async def submit(
        self, query: SeriesQuery, estimate: int, request_id: str, left_out: dict[str, str] | None = None,
    ) -> JobTicket:
        """The live job for this request and owner, or a new one with its batches queued. `left_out`:
        asked-for points the token may not read, each with its error, which the result lists last."""
        digest = request_hash(query)
        existing = await self._live(digest)
        if existing is not None and not self._stale(existing):
            return JobTicket(existing, created=False)
        if existing is not None and await self._revive(existing):
            return JobTicket(await self.repo.get(existing["id"]), created=False)  # type: ignore[arg-type]
        await self._require_job_slot()
        batches = list(chunks(query.points, self.settings.job_batch_points))
        job = NewJob(
            id=uuid.uuid4().hex, site=query.site, points=query.points,
            start_time=db_time(query.span.start_ms), end_time=db_time(query.span.end_ms),
            owner_hash=self.owner_hash, request_hash=digest, priority=query.priority.value,
            estimated_size=estimate, batch_sizes=tuple(len(b) for b in batches), request_id=request_id,
            point_errors=left_out or {},
        )
        row = await self.repo.insert(job, self.now_ms())
        if row is None:
            twin = await self._live(digest)
            if twin is not None:
                return JobTicket(twin, created=False)
            raise Conflict("an identical job changed state while this one was created; try again")
        await self._enqueue(job.id, query, list(enumerate(batches)), job.request_id)
        return JobTicket(row, created=True)

    def _stale(self, job: Row) -> bool:
        """An active job with no progress for longer than its lease (its consumer died, a message was lost)."""
        lease_start = db_time(self.now_ms() - self.settings.job_lease_seconds * 1000)
        return job["status"] in ACTIVE and (job["heartbeat_at"] or job["created_at"]) < lease_start

    async def _revive(self, job: Row) -> bool:
        """Send a stale job's pending batches again (a bounded number of times; done parts are kept);
        past the bound, fail it so the caller gets a new job. True when revived."""
        now = self.now_ms()
        if job["requeues"] < self.settings.job_max_requeues and await self.repo.requeue(job["id"], now):
            points = tuple(json.loads(job["points"]))
            query = SeriesQuery(job["site"], points, Span(parse_iso(job["start_time"]), parse_iso(job["end_time"])),
                                priority=Priority(job["priority"]))
            pending, offset = [], 0
            for row in await self.repo.batches(job["id"]):
                if row["status"] == "pending":
                    pending.append((row["batch_index"], points[offset : offset + row["points_count"]]))
                offset += row["points_count"]
            await self._enqueue(job["id"], query, pending, job["request_id"])
            return True
        error = f"no progress for {self.settings.job_lease_seconds} s after {job['requeues']} re-enqueues"
        await self.repo.fail(job["id"], error, now, self.settings.job_retention_seconds)
        return False

    async def _require_job_slot(self) -> None:
        """RateLimited, naming the active jobs, when the owner already runs the most allowed."""
        active = await self.repo.active_ids(self.owner_hash)
        cap = self.settings.max_active_jobs_per_token
        if len(active) >= cap:
            raise RateLimited(
                f"{len(active)} jobs of this token are still active (at most {cap}); wait for one to finish"
                " or cancel one", retry_after=JOB_CAP_RETRY_AFTER_SECONDS,
                details={"limit": "MAX_ACTIVE_JOBS_PER_TOKEN", "activeJobs": active},
            )

    async def _live(self, digest: str) -> Row | None:
        job = await self.repo.find_live(self.owner_hash, digest)
        if job is not None and job["expires_at"] and job["expires_at"] <= db_time(self.now_ms()):
            await self.repo.archive(job["id"], self.now_ms())
            return None
        return job

    async def _enqueue(
        self, job_id: str, query: SeriesQuery, batches: Sequence[tuple[int, Sequence[str]]], request_id: str
    ) -> None:
        # The token travels in the message only: never in D1, R2 or a log line.
        messages = [
            {"jobId": job_id, "batch": index, "site": query.site, "points": list(points),
             "start": query.span.start_ms, "end": query.span.end_ms, "token": self._token,
             "requestId": request_id}
            for index, points in batches
        ]
        queue = job_queue(self.queues, query.priority)
        try:
            await queue.send_batch(messages)
        except Exception:
            retention = self.settings.job_retention_seconds
            await self.repo.fail(job_id, "could not enqueue the job", self.now_ms(), retention)
            raise

    async def queue_large_request(
        self, job_id: str, site: str, points: Sequence[str], start_time: str, end_time: str, user_id: str
    ) -> JobTicket:
        """The original design's call; the job id is chosen here, so `job_id` only names the request."""
        query = SeriesQuery(site, tuple(dict.fromkeys(points)), Span(parse_iso(start_time), parse_iso(end_time)))
        return await self.submit(query, estimate_samples(query, self.settings), job_id or user_id)

    async def own_job(self, job_id: str) -> Row:
        """The owner's job, or NotFound (an unknown id and another owner's job look the same)."""
        job = await self.repo.get(job_id) if valid_job_id(job_id) else None
        if job is None or job["owner_hash"] != self.owner_hash:
            raise NotFound(f"no job {job_id!r}")
        return job

    async def list_jobs(self) -> list[dict]:
        """The owner's most recent jobs, newest first (what the operations page shows)."""
        return [job_view(job) for job in await self.repo.for_owner(self.owner_hash, LISTED_JOBS)]

    async def get_job_status(self, job_id: str) -> dict:
        return job_view(await self.own_job(job_id))

    async def cancel_job(self, job_id: str) -> dict:
        job = await self.own_job(job_id)
        if job["status"] not in ACTIVE or not await self.repo.cancel(
            job_id, self.now_ms(), self.settings.job_retention_seconds
        ):
            current = await self.repo.status(job_id)
            raise Conflict(f"job is {current}; only queued, processing or retrying jobs can be cancelled",
                           details={"status": current})
        return {"success": True, "message": "Job cancelled", "jobId": job_id}

    async def result_job(self, job_id: str) -> Row:
        """The owner's completed job whose result is still stored."""
        job = await self.own_job(job_id)
        if job["purged_at"] or (job["expires_at"] and job["expires_at"] <= db_time(self.now_ms())
                                and job["status"] == JobStatus.COMPLETED.value):
            raise NotFound(f"the result of job {job_id!r} has expired")
        if job["status"] != JobStatus.COMPLETED.value:
            raise Conflict(f"job is {job['status']}, not completed", details={"status": job["status"]})
        return job

    async def result_chunks(self, job: Row, meta: dict, writer: Writer, shaping: Shaping) -> AsyncIterator[bytes]:
        """The result body, one R2 part at a time and each point shaped: never the whole result in memory."""
        order = {name: index for index, name in enumerate(json.loads(job["points"]))}
        left_out: dict[str, str] = json.loads(job["point_errors"] or "{}")
        yield writer.start(len(order) + len(left_out))
        read = returned = 0
        for batch, parts, errors in await self.repo.batch_parts(job["id"]):
            for part in range(parts):
                stored = await self.store.get(part_key(job["result_prefix"], batch, part))
                if stored is None:
                    raise NotFound(f"a part of job {job['id']!r} is missing")
                series = decode(stored.body)
                for name in sorted(series, key=lambda n: order.get(n, len(order))):
                    points, error = _shaped(series[name], shaping)
                    error = errors.get(name) or error
                    read, returned = read + len(series[name]), returned + len(points)
                    for chunk in writer.point(name, points, error):
                        yield chunk
        for name, error in left_out.items():
            for chunk in writer.point(name, PointSeries(), error):
                yield chunk
        if shaping.active:
            meta.update(samplesCount=returned, **shaping.meta(read, returned))
        yield writer.end(meta)


def _shaped(points: PointSeries, shaping: Shaping) -> tuple[PointSeries, str | None]:
    """A point of a streamed result, shaped; a text point under a numeric agg gets an error instead
    (the body has begun, so it cannot become a 400)."""
    try:
        return shaping.apply(points), None
    except TextValuesError as exc:
        return PointSeries(), f"holds text: {exc}"
