"""The job model: a job's statuses, and which of them count as active, live or finished."""

from __future__ import annotations

from enum import Enum


class JobStatus(str, Enum):
    """Matches `queue_jobs.status`'s CHECK constraint and the API."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRYING = "retrying"
    CANCELLED = "cancelled"


ACTIVE = (JobStatus.QUEUED.value, JobStatus.PROCESSING.value, JobStatus.RETRYING.value)
LIVE = (*ACTIVE, JobStatus.COMPLETED.value)
FINISHED = (JobStatus.COMPLETED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
