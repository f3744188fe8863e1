-- From release 974949d to the hardening round (leases, batch plans, site catalog, sweep cursors,
-- warming). schema.sql holds the result; tests/unit/test_migrations.py checks the two agree.

-- Job leases (services/jobs.py): the last sign of progress and how often a stale job was re-sent.
ALTER TABLE queue_jobs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE queue_jobs ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0;
-- A token's jobs, newest first (its active-job cap and job list).
CREATE INDEX IF NOT EXISTS ix_queue_jobs_owner ON queue_jobs (owner_hash, created_at);

-- A batch's part plan, fixed at its first run, and the points that kept failing.
ALTER TABLE job_batches ADD COLUMN plan TEXT;
ALTER TABLE job_batches ADD COLUMN point_errors TEXT;

-- SQLite cannot widen a CHECK in place: rebuild request_analytics with the same rows and ids.
-- No foreign key points at it, so the rebuild needs no PRAGMA.
CREATE TABLE request_analytics_new (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id        TEXT NOT NULL,
  method            TEXT NOT NULL,
  path              TEXT NOT NULL,
  route_type        TEXT CHECK (route_type IN ('direct', 'cached', 'queued', 'query', 'paginated')),
  cache_status      TEXT CHECK (cache_status IN ('hit', 'partial', 'miss', 'bypass')),
  site              TEXT,
  points_count      INTEGER,
  estimated_samples INTEGER,
  actual_samples    INTEGER,
  upstream_calls    INTEGER,
  job_id            TEXT,
  status_code       INTEGER NOT NULL,
  duration_ms       INTEGER NOT NULL,
  created_at        TEXT NOT NULL
);
INSERT INTO request_analytics_new (id, request_id, method, path, route_type, cache_status, site, points_count,
                                   estimated_samples, actual_samples, upstream_calls, job_id, status_code,
                                   duration_ms, created_at)
SELECT id, request_id, method, path, route_type, cache_status, site, points_count, estimated_samples,
       actual_samples, upstream_calls, job_id, status_code, duration_ms, created_at
FROM request_analytics;
DROP TABLE request_analytics;
ALTER TABLE request_analytics_new RENAME TO request_analytics;
CREATE INDEX IF NOT EXISTS ix_request_analytics_created ON request_analytics (created_at);

CREATE TABLE IF NOT EXISTS site_catalog (
  site         TEXT PRIMARY KEY,
  points_count INTEGER NOT NULL,
  fetched_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS site_points (
  site            TEXT NOT NULL,
  name            TEXT NOT NULL,
  samples_per_day INTEGER NOT NULL,
  PRIMARY KEY (site, name)
);

CREATE TABLE IF NOT EXISTS sweep_cursors (
  name       TEXT PRIMARY KEY,
  after_key  TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- cache_metadata.original_size now counts the encoded columns, not JSON: the view says raw_mb.
DROP VIEW IF EXISTS v_cache_performance;
CREATE VIEW v_cache_performance AS
SELECT
  site,
  COUNT(*)                                   AS objects,
  SUM(samples_count)                         AS samples,
  ROUND(SUM(compressed_size) / 1048576.0, 3) AS size_mb,
  ROUND(SUM(original_size) / 1048576.0, 3)   AS raw_mb,
  ROUND(AVG(compression_ratio), 4)           AS avg_ratio,
  SUM(hit_count)                             AS hits,
  MIN(created_at)                            AS oldest_entry,
  MAX(created_at)                            AS newest_entry
FROM cache_metadata
GROUP BY site;

CREATE TABLE IF NOT EXISTS warming_demand (
  site        TEXT NOT NULL,
  points_hash TEXT NOT NULL,
  day         TEXT NOT NULL,
  points      TEXT NOT NULL,
  requests    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, points_hash, day)
);

-- Credentials never stay in D1: a state from between the releases loses its sealed tokens.
DROP TABLE IF EXISTS warming_tokens;

CREATE TABLE IF NOT EXISTS warmed_objects (
  cache_key   TEXT PRIMARY KEY,
  site        TEXT NOT NULL,
  day         TEXT NOT NULL,
  warmed_at   TEXT NOT NULL,
  hits_before INTEGER NOT NULL DEFAULT 0
);
