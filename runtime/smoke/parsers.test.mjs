// Pure parts of the runtime: cron matching, SQL splitting, Pyodide selection.
//   node --test runtime/smoke/parsers.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { selectPyodideVersion } from "../workerd.mjs";
import { nextFireTime, parseCron } from "../cron.mjs";
import { splitSql } from "../schema.mjs";

const at = (iso) => Date.parse(iso);

test("cron: */15 fires on the quarter hour after the given time (UTC)", () => {
  const cron = parseCron("*/15 * * * *");
  assert.equal(nextFireTime(cron, at("2026-11-01T10:00:00Z")), at("2026-11-01T10:15:00Z"));
  assert.equal(nextFireTime(cron, at("2026-11-01T10:14:59Z")), at("2026-11-01T10:15:00Z"));
  assert.equal(nextFireTime(cron, at("2026-11-01T23:50:00Z")), at("2026-11-02T00:00:00Z"));
});

test("cron: ranges, lists, names and day-of-week", () => {
  assert.equal(nextFireTime(parseCron("30 2 * * MON"), at("2026-11-01T00:00:00Z")), at("2026-11-02T02:30:00Z"));
  assert.equal(nextFireTime(parseCron("0 9-17/4 1,15 * *"), at("2026-11-01T10:00:00Z")), at("2026-11-01T13:00:00Z"));
  assert.equal(nextFireTime(parseCron("0 0 1 JAN *"), at("2026-11-01T00:00:00Z")), at("2027-01-01T00:00:00Z"));
});

test("cron: malformed expressions name the problem", () => {
  assert.throws(() => parseCron("* * * *"), /expected 5 fields/);
  assert.throws(() => parseCron("61 * * * *"), /bad minute value/);
});

test("splitSql: comments, quotes and trigger bodies", () => {
  const sql = `
    -- a comment; with a semicolon
    CREATE TABLE IF NOT EXISTS t (a TEXT DEFAULT 'x;y', b TEXT); /* block; comment */
    CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN
      UPDATE t SET b = CASE WHEN a = 'it''s' THEN 'q' ELSE 'r' END; SELECT 1;
    END;
    CREATE INDEX IF NOT EXISTS i ON t (a);
    -- trailing comment`;
  const parts = splitSql(sql);
  assert.equal(parts.length, 3);
  assert.match(parts[0], /^CREATE TABLE .*'x;y', b TEXT\)$/s);
  assert.match(parts[1], /^CREATE TRIGGER .*SELECT 1;\s+END$/s);
  assert.equal(parts[2], "CREATE INDEX IF NOT EXISTS i ON t (a)");
});

test("Pyodide version: the first flag that is on wins, a flag is on when listed or from its date", () => {
  assert.equal(selectPyodideVersion("2026-11-01", ["python_workers"]), "314.0.6");
  assert.equal(selectPyodideVersion("2026-09-08", ["python_workers"]), "314.0.6");
  assert.equal(selectPyodideVersion("2026-09-07", ["python_workers"]), "0.28.2");
  assert.equal(selectPyodideVersion("2025-09-28", ["python_workers"]), "0.26.0a2");
  assert.equal(selectPyodideVersion("2025-01-01", ["python_workers", "python_workers_314"]), "314.0.6");
  assert.equal(selectPyodideVersion("2025-01-01", ["python_workers", "python_workers_20260610"]), "314.0.4");
  assert.equal(selectPyodideVersion("2026-11-01", ["python_workers", "python_workers_20250116"]), "314.0.6");
  assert.equal(selectPyodideVersion("2026-11-01", ["python_workers", "no_python_workers_314"]), "0.28.2");
  assert.throws(() => selectPyodideVersion("2026-11-01", []), /python_workers/);
});
