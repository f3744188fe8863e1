-- Issue 11, item 3: a point FlightDeck refuses to one token is never served to it from the shared cache.
-- schema.sql holds the result; tests/unit/test_migrations.py checks the two agree.

-- The site list an access answer was compared with: a NULL (every row from before) never matches, so
-- each token is checked again, with its own point list, on its next request.
ALTER TABLE site_access ADD COLUMN catalog_digest TEXT;
ALTER TABLE site_catalog ADD COLUMN names_digest TEXT;

CREATE TABLE IF NOT EXISTS point_refusals (
  token_hash TEXT NOT NULL,
  site       TEXT NOT NULL,
  name       TEXT NOT NULL,
  reason     TEXT NOT NULL CHECK (reason IN ('unlisted', 'refused')),
  expires_at TEXT NOT NULL,
  PRIMARY KEY (token_hash, site, name)
);
CREATE INDEX IF NOT EXISTS ix_point_refusals_expires ON point_refusals (expires_at);

-- A job's result lists the asked-for points the token may not read, each with its error, as every other
-- route's answer does.
ALTER TABLE queue_jobs ADD COLUMN point_errors TEXT;
