-- Building Vitals timeseries edge service: the one D1 schema.
-- The full current schema (the unit tests build from it); D1 gets it through migrations/ (wrangler d1 migrations apply),
-- which tests/unit/test_migrations.py checks build the same.
-- Times are ISO 8601 UTC text with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ), which sort as text.

CREATE TABLE IF NOT EXISTS queue_jobs (
  id                TEXT PRIMARY KEY,
  site              TEXT NOT NULL,
  points            TEXT NOT NULL,                  -- JSON array of point names
  start_time        TEXT NOT NULL,
  end_time          TEXT NOT NULL,
  owner_hash        TEXT NOT NULL,                  -- sha256 of the caller's token, never the token
  request_hash      TEXT NOT NULL,                  -- sha256 of site, sorted points and span
  priority          TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high')),
  status            TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'retrying', 'cancelled')),
  estimated_size    INTEGER NOT NULL,
  total_batches     INTEGER NOT NULL CHECK (total_batches > 0),
  completed_batches INTEGER NOT NULL DEFAULT 0,
  progress          INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  samples_count     INTEGER NOT NULL DEFAULT 0,
  retry_count       INTEGER NOT NULL DEFAULT 0,
  error             TEXT,
  result_prefix     TEXT,
  request_id        TEXT,
  archived          INTEGER NOT NULL DEFAULT 0,     -- 1 once superseded or past retention
  heartbeat_at      TEXT,                           -- last sign of progress; its lease runs from here
  requeues          INTEGER NOT NULL DEFAULT 0,     -- times a stale job's batches were sent again
  created_at        TEXT NOT NULL,
  started_at        TEXT,
  completed_at      TEXT,
  updated_at        TEXT NOT NULL,
  expires_at        TEXT,                           -- when a finished job's result is dropped
  purged_at         TEXT,                           -- when its R2 objects were deleted
  point_errors      TEXT                            -- JSON {point: error} of asked-for points left out
);

-- The same request from the same owner maps to one live job.
CREATE UNIQUE INDEX IF NOT EXISTS ux_queue_jobs_live
  ON queue_jobs (owner_hash, request_hash)
  WHERE archived = 0 AND status IN ('queued', 'processing', 'retrying', 'completed');
CREATE INDEX IF NOT EXISTS ix_queue_jobs_status ON queue_jobs (status, created_at);
CREATE INDEX IF NOT EXISTS ix_queue_jobs_owner ON queue_jobs (owner_hash, created_at);
CREATE INDEX IF NOT EXISTS ix_queue_jobs_expires ON queue_jobs (expires_at) WHERE purged_at IS NULL;

CREATE TABLE IF NOT EXISTS job_batches (
  job_id        TEXT NOT NULL REFERENCES queue_jobs (id) ON DELETE CASCADE,
  batch_index   INTEGER NOT NULL,
  status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
  points_count  INTEGER NOT NULL,
  samples_count INTEGER NOT NULL DEFAULT 0,
  attempts      INTEGER NOT NULL DEFAULT 0,
  parts         INTEGER NOT NULL DEFAULT 0,           -- R2 objects <result_prefix>b<batch>-p<part> written
  plan          TEXT,                                 -- JSON list of each part's points, fixed at the first run
  point_errors  TEXT,                                 -- JSON {point: error} of points that kept failing
  error         TEXT,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (job_id, batch_index)
);

CREATE TABLE IF NOT EXISTS request_analytics (
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
CREATE INDEX IF NOT EXISTS ix_request_analytics_created ON request_analytics (created_at);

CREATE TABLE IF NOT EXISTS cache_metadata (
  cache_key         TEXT PRIMARY KEY,
  site              TEXT NOT NULL,
  points_hash       TEXT NOT NULL,
  day               TEXT NOT NULL,                  -- UTC date the object covers
  points_count      INTEGER NOT NULL,
  samples_count     INTEGER NOT NULL,
  original_size     INTEGER NOT NULL,               -- bytes of the encoded columns before compression
  compressed_size   INTEGER NOT NULL,
  compression_ratio REAL NOT NULL,
  codec             TEXT NOT NULL,
  covered_until     INTEGER NOT NULL,               -- epoch ms; the object is complete before this
  created_at        TEXT NOT NULL,
  expires_at        TEXT NOT NULL,
  last_accessed     TEXT,
  hit_count         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_cache_metadata_site ON cache_metadata (site, day);
CREATE INDEX IF NOT EXISTS ix_cache_metadata_expires ON cache_metadata (expires_at);

CREATE TABLE IF NOT EXISTS site_access (
  token_hash     TEXT NOT NULL,
  site           TEXT NOT NULL,
  allowed        INTEGER NOT NULL CHECK (allowed IN (0, 1)),
  checked_at     TEXT NOT NULL,
  expires_at     TEXT NOT NULL,
  catalog_digest TEXT,                              -- site_catalog.names_digest the token's list was compared with
  PRIMARY KEY (token_hash, site)
);

-- Which points a site has (and how dense each is), from FlightDeck's `/sites/{site}/points`: the union
-- of the lists FlightDeck gave the tokens that asked, shared by every token; what one token may not read
-- is in point_refusals.
CREATE TABLE IF NOT EXISTS site_catalog (
  site         TEXT PRIMARY KEY,
  points_count INTEGER NOT NULL,
  fetched_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  names_digest TEXT                                 -- sha256 of the sorted point names
);

CREATE TABLE IF NOT EXISTS site_points (
  site            TEXT NOT NULL,
  name            TEXT NOT NULL,
  samples_per_day INTEGER NOT NULL,                 -- from collect_interval; 1,440 when unknown
  PRIMARY KEY (site, name)
);

-- Points of a site FlightDeck refuses to one token (by hash, never the token), remembered for
-- ACCESS_TTL_SECONDS: `unlisted` when the site's list FlightDeck gave the token lacks them (replaced at
-- each access check), `refused` when a data call with the token answered 403 for them.
CREATE TABLE IF NOT EXISTS point_refusals (
  token_hash TEXT NOT NULL,
  site       TEXT NOT NULL,
  name       TEXT NOT NULL,
  reason     TEXT NOT NULL CHECK (reason IN ('unlisted', 'refused')),
  expires_at TEXT NOT NULL,
  PRIMARY KEY (token_hash, site, name)
);
CREATE INDEX IF NOT EXISTS ix_point_refusals_expires ON point_refusals (expires_at);

-- Where each cron sweep of R2 stopped, so the next run continues from there.
CREATE TABLE IF NOT EXISTS sweep_cursors (
  name       TEXT PRIMARY KEY,
  after_key  TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Monitoring views, queried as-is by the operations guide.
CREATE VIEW IF NOT EXISTS v_job_performance AS
SELECT
  status,
  priority,
  COUNT(*)                                                     AS jobs,
  ROUND(AVG(estimated_size))                                   AS avg_estimated_size,
  ROUND(AVG(samples_count))                                    AS avg_samples,
  ROUND(AVG(total_batches), 1)                                 AS avg_batches,
  ROUND(AVG(retry_count), 2)                                   AS avg_retries,
  ROUND(AVG((julianday(completed_at) - julianday(started_at)) * 86400), 2) AS avg_run_seconds,
  ROUND(AVG((julianday(started_at) - julianday(created_at)) * 86400), 2)   AS avg_wait_seconds
FROM queue_jobs
GROUP BY status, priority;

CREATE VIEW IF NOT EXISTS v_cache_performance AS
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

-- Cache warming (services/warming.py). request_analytics keeps no point names, so the demand for
-- each (site, point set) is counted here per UTC day, from requests served on the cached route.
CREATE TABLE IF NOT EXISTS warming_demand (
  site        TEXT NOT NULL,
  points_hash TEXT NOT NULL,                        -- sha256 of the sorted point names (as cache_metadata)
  day         TEXT NOT NULL,                        -- UTC date of the requests
  points      TEXT NOT NULL,                        -- JSON array of the sorted point names
  requests    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, points_hash, day)
);

-- An earlier design kept callers' FlightDeck tokens here (sealed); credentials never stay in D1, so a
-- database that still has the table loses it, and its rows, the next time this schema is applied.
DROP TABLE IF EXISTS warming_tokens;

-- Cache objects the cron wrote ahead of demand; their hits are cache_metadata.hit_count.
CREATE TABLE IF NOT EXISTS warmed_objects (
  cache_key TEXT PRIMARY KEY,
  site      TEXT NOT NULL,
  day       TEXT NOT NULL,
  warmed_at TEXT NOT NULL,
  hits_before INTEGER NOT NULL DEFAULT 0            -- hit_count when warmed (a partial object had some)
);
