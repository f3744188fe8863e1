"""D1 statements, one class per table family; every value is bound, never formatted into SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from .jobmodel import ACTIVE, FINISHED, LIVE
from .planning import chunks
from .ports import Database, Row, Statement
from .timerange import db_time, parse_iso

# D1 binds at most 100 values a statement.
MAX_BOUND = 99


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


@dataclass(frozen=True)
class NewJob:
    id: str
    site: str
    points: tuple[str, ...]
    start_time: str
    end_time: str
    owner_hash: str
    request_hash: str
    priority: str
    estimated_size: int
    batch_sizes: tuple[int, ...]
    request_id: str
    point_errors: dict[str, str] = field(default_factory=dict)  # asked-for points left out of the job


class JobRepository:
    """`queue_jobs` and `job_batches`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, job: NewJob, now_ms: int) -> Row | None:
        """Insert the job and its pending batches in one D1 batch (all or nothing) and return its row;
        None when a live twin already exists (the job row is not inserted, so neither are its batches)."""
        now = db_time(now_ms)
        await self.db.batch([
            ("INSERT INTO queue_jobs (id, site, points, start_time, end_time, owner_hash, request_hash,"
             " priority, status, estimated_size, total_batches, result_prefix, request_id, created_at,"
             " updated_at, heartbeat_at, point_errors)"
             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
             (job.id, job.site, json.dumps(list(job.points)), job.start_time, job.end_time,
              job.owner_hash, job.request_hash, job.priority, job.estimated_size,
              len(job.batch_sizes), f"jobs/{job.id}/", job.request_id, now, now, now,
              json.dumps(job.point_errors) if job.point_errors else None)),
            *(("INSERT INTO job_batches (job_id, batch_index, points_count, updated_at)"
               " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM queue_jobs WHERE id = ?)",
               (job.id, index, size, now, job.id))
              for index, size in enumerate(job.batch_sizes)),
        ])
        return await self.get(job.id)

    async def find_live(self, owner_hash: str, request_hash: str) -> Row | None:
        return await self.db.first(
            f"SELECT * FROM queue_jobs WHERE owner_hash = ? AND request_hash = ? AND archived = 0"
            f" AND status IN ({_marks(LIVE)})",
            (owner_hash, request_hash, *LIVE),
        )

    async def get(self, job_id: str) -> Row | None:
        return await self.db.first("SELECT * FROM queue_jobs WHERE id = ?", (job_id,))

    async def for_owner(self, owner_hash: str, limit: int) -> list[Row]:
        return await self.db.all(
            "SELECT * FROM queue_jobs WHERE owner_hash = ? ORDER BY created_at DESC, id LIMIT ?", (owner_hash, limit)
        )

    async def active_ids(self, owner_hash: str) -> list[str]:
        """The owner's queued, processing and retrying jobs, oldest first."""
        rows = await self.db.all(
            f"SELECT id FROM queue_jobs WHERE owner_hash = ? AND status IN ({_marks(ACTIVE)}) ORDER BY created_at",
            (owner_hash, *ACTIVE),
        )
        return [row["id"] for row in rows]

    async def archive(self, job_id: str, now_ms: int) -> None:
        await self.db.run(
            "UPDATE queue_jobs SET archived = 1, updated_at = ? WHERE id = ?", (db_time(now_ms), job_id)
        )

    async def batch_done(self, job_id: str, batch_index: int) -> bool:
        row = await self.db.first(
            "SELECT status FROM job_batches WHERE job_id = ? AND batch_index = ?", (job_id, batch_index)
        )
        return row is not None and row["status"] == "done"

    async def start(self, job_id: str, now_ms: int) -> bool:
        """Mark the job processing (started_at set once); False if it is no longer active."""
        now = db_time(now_ms)
        return bool(await self.db.run(
            f"UPDATE queue_jobs SET status = 'processing', started_at = COALESCE(started_at, ?),"
            f" updated_at = ?, heartbeat_at = ? WHERE id = ? AND status IN ({_marks(ACTIVE)})",
            (now, now, now, job_id, *ACTIVE),
        ))

    async def status(self, job_id: str) -> str | None:
        row = await self.db.first("SELECT status FROM queue_jobs WHERE id = ?", (job_id,))
        return None if row is None else row["status"]

    async def plan(self, job_id: str, batch_index: int, proposed: list[tuple[str, ...]]) -> tuple[list[list[str]], int]:
        """The batch's parts (fixed by its first run, so a resumed run writes the same parts) and how
        many of them are already in R2."""
        await self.db.run(
            "UPDATE job_batches SET plan = ? WHERE job_id = ? AND batch_index = ? AND plan IS NULL",
            (json.dumps([list(group) for group in proposed]), job_id, batch_index),
        )
        row = await self.db.first(
            "SELECT plan, parts FROM job_batches WHERE job_id = ? AND batch_index = ?", (job_id, batch_index)
        )
        if row is None:
            return [list(group) for group in proposed], 0
        return json.loads(row["plan"]), row["parts"]

    async def record_part(
        self, job_id: str, batch_index: int, part: int, samples: int, errors: dict[str, str], now_ms: int
    ) -> None:
        """A part is in R2: count it once (a redelivered part matches no row) and renew the job's lease."""
        now = db_time(now_ms)
        await self.db.batch([
            ("UPDATE job_batches SET parts = ? + 1, samples_count = samples_count + ?,"
             " point_errors = json_patch(COALESCE(point_errors, '{}'), ?), updated_at = ?"
             " WHERE job_id = ? AND batch_index = ? AND parts = ? AND status = 'pending'",
             (part, samples, json.dumps(errors), now, job_id, batch_index, part)),
            ("UPDATE queue_jobs SET heartbeat_at = ?, updated_at = ? WHERE id = ?", (now, now, job_id)),
        ])

    async def complete_batch(self, job_id: str, batch_index: int, now_ms: int, retention_s: int) -> None:
        """Record a batch as done (once) and derive the job's progress from its batches."""
        now = db_time(now_ms)
        expires = db_time(now_ms + retention_s * 1000)
        await self.db.batch([
            ("UPDATE job_batches SET status = 'done', error = NULL,"
             " attempts = attempts + 1, updated_at = ? WHERE job_id = ? AND batch_index = ? AND status != 'done'",
             (now, job_id, batch_index)),
            ("UPDATE queue_jobs SET"
             " completed_batches = (SELECT COUNT(*) FROM job_batches b"
             "   WHERE b.job_id = queue_jobs.id AND b.status = 'done'),"
             " samples_count = (SELECT COALESCE(SUM(samples_count), 0) FROM job_batches b"
             "   WHERE b.job_id = queue_jobs.id AND b.status = 'done'),"
             " updated_at = ?, heartbeat_at = ? WHERE id = ?",
             (now, now, job_id)),
            ("UPDATE queue_jobs SET progress = completed_batches * 100 / total_batches,"
             " status = CASE WHEN completed_batches = total_batches THEN 'completed' ELSE 'processing' END,"
             " error = CASE WHEN completed_batches = total_batches THEN NULL ELSE error END,"
             " completed_at = CASE WHEN completed_batches = total_batches THEN ? ELSE NULL END,"
             " expires_at = CASE WHEN completed_batches = total_batches THEN ? ELSE NULL END"
             f" WHERE id = ? AND status IN ({_marks(ACTIVE)})",
             (now, expires, job_id, *ACTIVE)),
        ])

    async def point_errors(self, job_id: str, batch_index: int) -> dict[str, str]:
        row = await self.db.first(
            "SELECT point_errors FROM job_batches WHERE job_id = ? AND batch_index = ?", (job_id, batch_index)
        )
        return json.loads(row["point_errors"]) if row and row["point_errors"] else {}

    async def batches(self, job_id: str) -> list[Row]:
        """The job's batch rows in order: `batch_index`, `points_count`, `status`."""
        return await self.db.all(
            "SELECT batch_index, points_count, status FROM job_batches WHERE job_id = ? ORDER BY batch_index",
            (job_id,),
        )

    async def requeue(self, job_id: str, now_ms: int) -> bool:
        """Count a re-enqueue of a stale job and renew its lease; False if it is no longer active."""
        now = db_time(now_ms)
        return bool(await self.db.run(
            f"UPDATE queue_jobs SET requeues = requeues + 1, heartbeat_at = ?, updated_at = ?"
            f" WHERE id = ? AND status IN ({_marks(ACTIVE)})",
            (now, now, job_id, *ACTIVE),
        ))

    async def fail_stale(self, now_ms: int, lease_s: int, retention_s: int, limit: int) -> list[str]:
        """Fail active jobs with no progress for longer than their lease; their results expire as usual."""
        rows = await self.db.all(
            f"SELECT id FROM queue_jobs WHERE status IN ({_marks(ACTIVE)}) AND heartbeat_at < ?"
            " ORDER BY heartbeat_at LIMIT ?",
            (*ACTIVE, db_time(now_ms - lease_s * 1000), limit),
        )
        error = f"no progress for {lease_s} s (lease expired); repeat the request to start it again"
        failed = []
        for row in rows:
            if await self.fail(row["id"], error, now_ms, retention_s):
                failed.append(row["id"])
        return failed

    async def record_failure(self, job_id: str, batch_index: int, error: str, now_ms: int) -> None:
        """A batch attempt failed and will be retried: the job shows `retrying` and the error."""
        now = db_time(now_ms)
        await self.db.batch([
            ("UPDATE job_batches SET attempts = attempts + 1, error = ?, updated_at = ?"
             " WHERE job_id = ? AND batch_index = ?", (error, now, job_id, batch_index)),
            (f"UPDATE queue_jobs SET status = 'retrying', error = ?, retry_count = retry_count + 1,"
             f" updated_at = ?, heartbeat_at = ? WHERE id = ? AND status IN ({_marks(ACTIVE)})",
             (error, now, now, job_id, *ACTIVE)),
        ])

    async def fail(self, job_id: str, error: str, now_ms: int, retention_s: int) -> bool:
        """End an active job as failed; a cancelled or completed job keeps its status."""
        now = db_time(now_ms)
        return bool(await self.db.run(
            f"UPDATE queue_jobs SET status = 'failed', error = ?, completed_at = ?, updated_at = ?,"
            f" expires_at = ? WHERE id = ? AND status IN ({_marks(ACTIVE)})",
            (error, now, now, db_time(now_ms + retention_s * 1000), job_id, *ACTIVE),
        ))

    async def cancel(self, job_id: str, now_ms: int, retention_s: int) -> bool:
        now = db_time(now_ms)
        return bool(await self.db.run(
            f"UPDATE queue_jobs SET status = 'cancelled', completed_at = ?, updated_at = ?, expires_at = ?"
            f" WHERE id = ? AND status IN ({_marks(ACTIVE)})",
            (now, now, db_time(now_ms + retention_s * 1000), job_id, *ACTIVE),
        ))

    async def last_error(self, job_id: str) -> str | None:
        row = await self.db.first(
            "SELECT error FROM job_batches WHERE job_id = ? AND error IS NOT NULL"
            " ORDER BY updated_at DESC LIMIT 1", (job_id,)
        )
        return None if row is None else row["error"]

    async def batch_parts(self, job_id: str) -> list[tuple[int, int, dict[str, str]]]:
        """(batch index, number of R2 parts, errors of points that kept failing) of each done batch, in order."""
        rows = await self.db.all(
            "SELECT batch_index, parts, point_errors FROM job_batches WHERE job_id = ? AND status = 'done'"
            " ORDER BY batch_index",
            (job_id,),
        )
        return [(row["batch_index"], row["parts"], json.loads(row["point_errors"] or "{}")) for row in rows]

    async def expired_results(self, now_ms: int, limit: int) -> list[Row]:
        return await self.db.all(
            "SELECT id, result_prefix FROM queue_jobs WHERE purged_at IS NULL AND expires_at IS NOT NULL"
            " AND expires_at < ? ORDER BY expires_at LIMIT ?",
            (db_time(now_ms), limit),
        )

    async def unpurged(self, job_ids: Sequence[str]) -> set[str]:
        """Which of `job_ids` have a row whose objects are still wanted (chunked: D1 binds ≤ 100 values)."""
        found: set[str] = set()
        for chunk in chunks(job_ids, MAX_BOUND):
            rows = await self.db.all(
                f"SELECT id FROM queue_jobs WHERE purged_at IS NULL AND id IN ({_marks(chunk)})", chunk
            )
            found.update(row["id"] for row in rows)
        return found

    async def mark_purged(self, job_id: str, now_ms: int) -> None:
        now = db_time(now_ms)
        await self.db.run(
            "UPDATE queue_jobs SET purged_at = ?, archived = 1, updated_at = ? WHERE id = ?", (now, now, job_id)
        )

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.db.all("SELECT status, COUNT(*) AS n FROM queue_jobs GROUP BY status")
        return {row["status"]: row["n"] for row in rows}

    async def delete_old(self, before_ms: int, limit: int) -> int:
        """Delete finished, purged job rows older than the row retention."""
        old = await self.db.all(
            f"SELECT id FROM queue_jobs WHERE purged_at IS NOT NULL AND status IN ({_marks(FINISHED)})"
            " AND updated_at < ? LIMIT ?",
            (*FINISHED, db_time(before_ms), limit),
        )
        ids = [row["id"] for row in old]
        if ids:
            await self.db.batch(
                [("DELETE FROM job_batches WHERE job_id = ?", (i,)) for i in ids]
                + [("DELETE FROM queue_jobs WHERE id = ?", (i,)) for i in ids]
            )
        return len(ids)


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    method: str
    path: str
    status_code: int
    duration_ms: int
    route_type: str | None = None
    cache_status: str | None = None
    site: str | None = None
    points_count: int | None = None
    estimated_samples: int | None = None
    actual_samples: int | None = None
    upstream_calls: int | None = None
    job_id: str | None = None


class AnalyticsRepository:
    """`request_analytics`: one row per API request."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, record: RequestRecord, now_ms: int) -> None:
        await self.db.run(
            "INSERT INTO request_analytics (request_id, method, path, route_type, cache_status, site,"
            " points_count, estimated_samples, actual_samples, upstream_calls, job_id, status_code,"
            " duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.request_id, record.method, record.path, record.route_type, record.cache_status,
             record.site, record.points_count, record.estimated_samples, record.actual_samples,
             record.upstream_calls, record.job_id, record.status_code, record.duration_ms,
             db_time(now_ms)),
        )

    async def cache_lookups(self, since_ms: int) -> Row:
        """Requests that looked in the cache since `since_ms`, on any path: how many, how many hit, in part."""
        return await self.db.first(
            "SELECT COUNT(*) AS lookups, COALESCE(SUM(cache_status = 'hit'), 0) AS hits,"
            " COALESCE(SUM(cache_status = 'partial'), 0) AS partial FROM request_analytics"
            " WHERE cache_status IN ('hit', 'partial', 'miss') AND created_at >= ?", (db_time(since_ms),)
        ) or {}

    async def by_route(self, since_ms: int) -> list[Row]:
        """Requests since `since_ms` per route: count, mean duration and cache hits."""
        return await self.db.all(
            "SELECT route_type, COUNT(*) AS count, AVG(duration_ms) AS avg_duration,"
            " COALESCE(SUM(cache_status = 'hit'), 0) AS cache_hits FROM request_analytics"
            " WHERE route_type IS NOT NULL AND created_at >= ? GROUP BY route_type ORDER BY route_type",
            (db_time(since_ms),),
        )

    async def delete_old(self, before_ms: int, limit: int) -> int:
        return await self.db.run(
            "DELETE FROM request_analytics WHERE id IN (SELECT id FROM request_analytics WHERE created_at < ?"
            " ORDER BY id LIMIT ?)", (db_time(before_ms), limit)
        )


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    site: str
    points_hash: str
    day: str
    points_count: int
    samples_count: int
    original_size: int
    compressed_size: int
    codec: str
    covered_until: int
    expires_ms: int


class CacheMetadataRepository:
    """`cache_metadata`: what R2 holds, so stats and cleanup never list the bucket."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, entry: CacheEntry, now_ms: int) -> None:
        ratio = entry.compressed_size / entry.original_size if entry.original_size else 0.0
        await self.db.run(
            "INSERT INTO cache_metadata (cache_key, site, points_hash, day, points_count, samples_count,"
            " original_size, compressed_size, compression_ratio, codec, covered_until, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (cache_key) DO UPDATE SET samples_count = excluded.samples_count,"
            " original_size = excluded.original_size, compressed_size = excluded.compressed_size,"
            " compression_ratio = excluded.compression_ratio, codec = excluded.codec,"
            " covered_until = excluded.covered_until, expires_at = excluded.expires_at",
            (entry.cache_key, entry.site, entry.points_hash, entry.day, entry.points_count,
             entry.samples_count, entry.original_size, entry.compressed_size, round(ratio, 6),
             entry.codec, entry.covered_until, db_time(now_ms), db_time(entry.expires_ms)),
        )

    async def totals(self) -> Row:
        """Objects, bytes, samples, hits and the oldest and newest entry over the whole cache."""
        return await self.db.first(
            "SELECT COUNT(*) AS objects, COALESCE(SUM(compressed_size), 0) AS bytes,"
            " COALESCE(SUM(samples_count), 0) AS samples, MIN(created_at) AS oldest, MAX(created_at) AS newest,"
            " COALESCE(SUM(hit_count), 0) AS hits FROM cache_metadata"
        ) or {}

    async def record_hits(self, keys: list[str], now_ms: int) -> None:
        """Count a read of each of `keys`: one statement per 98 keys, all in one batch."""
        now = db_time(now_ms)
        await self.db.batch([
            ("UPDATE cache_metadata SET hit_count = hit_count + 1, last_accessed = ?"
             f" WHERE cache_key IN ({_marks(chunk)})", (now, *chunk)) for chunk in chunks(keys, MAX_BOUND - 1)
        ])

    async def matching(self, site: str, points_hash: str | None, first_day: str | None,
                       last_day: str | None, limit: int) -> list[str]:
        """Keys of a site's objects, optionally for one point set and a day range."""
        rows = await self.db.all(
            "SELECT cache_key FROM cache_metadata WHERE site = ? AND (? IS NULL OR points_hash = ?)"
            " AND (? IS NULL OR day >= ?) AND (? IS NULL OR day <= ?) LIMIT ?",
            (site, points_hash, points_hash, first_day, first_day, last_day, last_day, limit),
        )
        return [row["cache_key"] for row in rows]

    async def expired(self, now_ms: int, limit: int) -> list[str]:
        rows = await self.db.all(
            "SELECT cache_key FROM cache_metadata WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
            (db_time(now_ms), limit),
        )
        return [row["cache_key"] for row in rows]

    async def older_than(self, before_ms: int, limit: int) -> list[str]:
        rows = await self.db.all(
            "SELECT cache_key FROM cache_metadata WHERE created_at < ? ORDER BY created_at LIMIT ?",
            (db_time(before_ms), limit),
        )
        return [row["cache_key"] for row in rows]

    async def existing(self, keys: list[str]) -> list[str]:
        """Which of `keys` have a row (D1 binds at most 100 values a statement, so chunk)."""
        found: list[str] = []
        for chunk in chunks(keys, MAX_BOUND):
            rows = await self.db.all(
                f"SELECT cache_key FROM cache_metadata WHERE cache_key IN ({_marks(chunk)})", chunk)
            found.extend(row["cache_key"] for row in rows)
        return found

    async def delete(self, keys: list[str]) -> None:
        await self.db.batch([("DELETE FROM cache_metadata WHERE cache_key = ?", (key,)) for key in keys])


class AccessRepository:
    """`site_access` and `point_refusals`: FlightDeck's answers on token × site and token × point, remembered
    briefly (by token hash)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def lookup(self, token_hash: str, site: str, now_ms: int) -> bool | None:
        """The remembered answer on the site alone (`readable` with no names)."""
        known = await self.readable(token_hash, site, (), now_ms)
        return None if known is None else known[0]

    async def readable(
        self, token_hash: str, site: str, names: Sequence[str], now_ms: int,
    ) -> tuple[bool, dict[str, int]] | None:
        """Whether the token reads the site, and the samples a day of those `names` it may read there
        (names the site lacks or the token is refused are absent); None when no answer is remembered,
        or when the site's point list changed since the token's own list was compared with it (then
        the token is checked again). The access answer, the site's list and the token's refusals in
        one statement per 94 names."""
        found: dict[str, int] = {}
        for chunk in list(chunks(names, MAX_BOUND - 5)) or [[]]:  # even for no names: the access answer
            rows = await self.db.all(
                "SELECT a.allowed, p.name, p.samples_per_day, r.reason FROM site_access a"
                " LEFT JOIN site_catalog c ON c.site = a.site"
                f" LEFT JOIN site_points p ON p.site = a.site AND p.name IN ({_marks(chunk)})"
                " LEFT JOIN point_refusals r ON r.token_hash = a.token_hash AND r.site = a.site AND r.name = p.name"
                " AND r.expires_at > ?"
                f" WHERE a.token_hash = ? AND a.site = ? AND a.expires_at > ? AND {_CURRENT}",
                (*chunk, db_time(now_ms), token_hash, site, db_time(now_ms), db_time(now_ms)),
            )
            if not rows:
                return None
            if not rows[0]["allowed"]:
                return False, {}
            found.update((row["name"], row["samples_per_day"]) for row in rows if row["name"] and not row["reason"])
        return True, found

    async def refused(self, token_hash: str, site: str, names: Sequence[str], now_ms: int) -> set[str]:
        """Those `names` a data call with the token was refused (403) lately. One statement per 96 names."""
        found: set[str] = set()
        for chunk in chunks(names, MAX_BOUND - 3):
            rows = await self.db.all(
                "SELECT name FROM point_refusals WHERE token_hash = ? AND site = ? AND expires_at > ?"
                f" AND reason = 'refused' AND name IN ({_marks(chunk)})",
                (token_hash, site, db_time(now_ms), *chunk),
            )
            found.update(row["name"] for row in rows)
        return found

    async def remember(self, token_hash: str, site: str, allowed: bool, now_ms: int, ttl_s: int,
                       catalog_digest: str | None = None, unlisted: Sequence[str] = (),
                       catalog: Sequence[Statement] = ()) -> None:
        """The answer on the site, and (when allowed) the site's points the token's own list lacks and
        the site list it was compared with, written with `catalog` in one D1 batch."""
        expires = db_time(now_ms + ttl_s * 1000)
        statements: list[Statement] = [*catalog, (
            "INSERT INTO site_access (token_hash, site, allowed, checked_at, expires_at, catalog_digest)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash, site) DO UPDATE SET allowed = excluded.allowed,"
            " checked_at = excluded.checked_at, expires_at = excluded.expires_at,"
            " catalog_digest = excluded.catalog_digest",
            (token_hash, site, int(allowed), db_time(now_ms), expires, catalog_digest),
        ), (
            "DELETE FROM point_refusals WHERE token_hash = ? AND site = ? AND reason = 'unlisted'",
            (token_hash, site),
        )]
        statements.extend(_refusal_rows(token_hash, site, unlisted, "unlisted", expires))
        await self.db.batch(statements)

    async def refuse(self, token_hash: str, site: str, names: Sequence[str], now_ms: int, ttl_s: int) -> None:
        """Remember that data calls with the token were refused (403) for `names` of the site."""
        await self.db.batch(_refusal_rows(token_hash, site, names, "refused", db_time(now_ms + ttl_s * 1000)))

    async def delete_expired(self, now_ms: int) -> int:
        now = db_time(now_ms)
        return (await self.db.run("DELETE FROM site_access WHERE expires_at < ?", (now,))
                + await self.db.run("DELETE FROM point_refusals WHERE expires_at < ?", (now,)))


# A remembered access answer holds while the site's list is the one the token's list was compared with.
_CURRENT = "(a.allowed = 0 OR (c.names_digest = a.catalog_digest AND c.expires_at > ?))"


def _refusal_rows(token_hash: str, site: str, names: Sequence[str], reason: str, expires: str) -> list[Statement]:
    return [(
        "INSERT INTO point_refusals (token_hash, site, name, reason, expires_at) VALUES "
        + ", ".join("(?, ?, ?, ?, ?)" for _ in chunk)
        + " ON CONFLICT (token_hash, site, name) DO UPDATE SET reason = excluded.reason,"
        " expires_at = excluded.expires_at",
        tuple(value for name in chunk for value in (token_hash, site, name, reason, expires)),
    ) for chunk in chunks(names, MAX_BOUND // 5)]


@dataclass(frozen=True)
class SiteList:
    """A site's remembered point list: samples a day by name, the digest of the names, when it expires."""

    per_day: dict[str, int]
    digest: str | None
    expires_ms: int


class CatalogRepository:
    """`site_catalog` and `site_points`: each site's point names and densities, remembered for a while."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def current(self, site: str, now_ms: int) -> SiteList | None:
        """The site's whole remembered list, or None when there is none or it has expired."""
        rows = await self.db.all(
            "SELECT c.names_digest, c.expires_at, p.name, p.samples_per_day FROM site_catalog c"
            " LEFT JOIN site_points p ON p.site = c.site WHERE c.site = ? AND c.expires_at > ?",
            (site, db_time(now_ms)),
        )
        if not rows:
            return None
        per_day = {row["name"]: row["samples_per_day"] for row in rows if row["name"]}
        return SiteList(per_day, rows[0]["names_digest"], parse_iso(rows[0]["expires_at"]))

    async def densities(self, site: str, names: Sequence[str], now_ms: int) -> dict[str, int] | None:
        """Samples a day of those `names` the site has (names it lacks are absent); None when the site's
        list is not remembered or has expired. One statement per 97 names."""
        found: dict[str, int] = {}
        for chunk in chunks(names, MAX_BOUND - 2):
            rows = await self.db.all(
                "SELECT p.name, p.samples_per_day FROM site_catalog c LEFT JOIN site_points p"
                f" ON p.site = c.site AND p.name IN ({_marks(chunk)}) WHERE c.site = ? AND c.expires_at > ?",
                (*chunk, site, db_time(now_ms)),
            )
            if not rows:
                return None
            found.update((row["name"], row["samples_per_day"]) for row in rows if row["name"])
        return found

    def replace(self, site: str, listed: SiteList, now_ms: int) -> list[Statement]:
        """The statements that store a site's whole point list (run them in one D1 batch: readers see the
        old list or the new)."""
        statements: list[Statement] = [("DELETE FROM site_points WHERE site = ?", (site,))]
        for chunk in chunks(list(listed.per_day.items()), MAX_BOUND // 3):
            statements.append((
                "INSERT INTO site_points (site, name, samples_per_day) VALUES "
                + ", ".join("(?, ?, ?)" for _ in chunk),
                tuple(value for name, density in chunk for value in (site, name, density)),
            ))
        statements.append((
            "INSERT INTO site_catalog (site, points_count, fetched_at, expires_at, names_digest)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (site) DO UPDATE SET points_count = excluded.points_count,"
            " fetched_at = excluded.fetched_at, expires_at = excluded.expires_at,"
            " names_digest = excluded.names_digest",
            (site, len(listed.per_day), db_time(now_ms), db_time(listed.expires_ms), listed.digest),
        ))
        return statements

    async def delete_expired(self, now_ms: int) -> int:
        """Forget the point lists of sites nobody asked about lately (one D1 batch)."""
        expired = await self.db.all("SELECT site FROM site_catalog WHERE expires_at < ? LIMIT ?",
                                    (db_time(now_ms), MAX_BOUND))
        sites = [row["site"] for row in expired]
        if sites:
            await self.db.batch([
                (f"DELETE FROM site_points WHERE site IN ({_marks(sites)})", sites),
                (f"DELETE FROM site_catalog WHERE site IN ({_marks(sites)})", sites),
            ])
        return len(sites)


class SweepCursorRepository:
    """`sweep_cursors`: the last R2 key each cron sweep looked at."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, name: str) -> str | None:
        row = await self.db.first("SELECT after_key FROM sweep_cursors WHERE name = ?", (name,))
        return None if row is None else row["after_key"]

    async def set(self, name: str, after_key: str | None, now_ms: int) -> None:
        """Remember where to continue; None starts the next sweep from the beginning."""
        if after_key is None:
            await self.db.run("DELETE FROM sweep_cursors WHERE name = ?", (name,))
            return
        await self.db.run(
            "INSERT INTO sweep_cursors (name, after_key, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET after_key = excluded.after_key, updated_at = excluded.updated_at",
            (name, after_key, db_time(now_ms)),
        )


class WarmingRepository:
    """`warming_demand` and `warmed_objects`: what the cron warms, and the hits it served."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def count_request(self, site: str, points_hash: str, day: str, points_json: str) -> None:
        await self.db.run(
            "INSERT INTO warming_demand (site, points_hash, day, points, requests) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (site, points_hash, day) DO UPDATE SET requests = requests + 1",
            (site, points_hash, day, points_json),
        )

    async def top_sets(self, since_day: str, limit: int) -> list[Row]:
        """The point sets asked for most since `since_day`."""
        return await self.db.all(
            "SELECT site, points_hash, MAX(points) AS points, SUM(requests) AS requests"
            " FROM warming_demand WHERE day >= ?"
            " GROUP BY site, points_hash ORDER BY requests DESC, site, points_hash LIMIT ?",
            (since_day, limit),
        )

    async def forget_before(self, demand_before_day: str) -> None:
        """Drop demand older than the look-back, and warmed marks of objects no longer cached."""
        await self.db.batch([
            ("DELETE FROM warming_demand WHERE day < ?", (demand_before_day,)),
            ("DELETE FROM warmed_objects WHERE cache_key NOT IN (SELECT cache_key FROM cache_metadata)", ()),
        ])

    async def record_warmed(self, cache_keys: Sequence[str], site: str, day: str, now_ms: int) -> None:
        """Mark cached objects as warmed, each with the hits it had already served (one D1 batch)."""
        await self.db.batch([(
            "INSERT INTO warmed_objects (cache_key, site, day, warmed_at, hits_before)"
            f" SELECT cache_key, ?, ?, ?, hit_count FROM cache_metadata WHERE cache_key IN ({_marks(chunk)})"
            " ON CONFLICT (cache_key) DO UPDATE SET warmed_at = excluded.warmed_at, hits_before = excluded.hits_before",
            (site, day, db_time(now_ms), *chunk),
        ) for chunk in chunks(cache_keys, MAX_BOUND - 3)])

    async def totals(self) -> Row:
        """Warmed objects still cached, and the hits they served."""
        return await self.db.first(
            "SELECT COUNT(*) AS objects, COALESCE(SUM(c.hit_count - w.hits_before), 0) AS hits,"
            " MAX(w.warmed_at) AS last_warmed"
            " FROM warmed_objects w JOIN cache_metadata c ON c.cache_key = w.cache_key"
        ) or {}
