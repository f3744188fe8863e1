// Pure parts of the runtime: cron matching, SQL splitting, Pyodide selection.
//   node --test runtime/smoke/parsers.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadWranglerConfig, selectPyodideVersion } from "../config.mjs";
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

test("Pyodide version follows the compatibility date and flags", () => {
  assert.equal(selectPyodideVersion("2026-11-01", ["python_workers"]), "314.0.6");
  assert.equal(selectPyodideVersion("2026-09-15", ["python_workers"]), "314.0.6");
  assert.equal(selectPyodideVersion("2026-08-26", ["python_workers"]), "0.28.2");
  assert.equal(selectPyodideVersion("2026-11-01", ["python_workers", "python_workers_20250116"]), "0.28.2");
  assert.equal(selectPyodideVersion("2026-01-01", ["python_workers", "python_workers_20260610"]), "314.0.6");
  assert.throws(() => selectPyodideVersion("2026-11-01", []), /python_workers/);
  assert.throws(() => selectPyodideVersion("2026-09-01", ["python_workers"]), /not measured/);
});

function wranglerToml(extra) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "bv-config-")), "wrangler.toml");
  writeFileSync(file, `main = "src/entry.py"\ncompatibility_date = "2026-11-01"\ncompatibility_flags = ["python_workers"]\n${extra}`);
  return file;
}

test("[assets]: Miniflare's asset options, the folder resolved next to wrangler.toml", () => {
  const file = wranglerToml('[assets]\ndirectory = "assets"\nhtml_handling = "auto-trailing-slash"\n');
  assert.deepEqual(loadWranglerConfig(file).assets, {
    directory: path.join(path.dirname(file), "assets"),
    routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: false },
    assetConfig: { html_handling: "auto-trailing-slash", not_found_handling: undefined },
  });
  assert.equal(loadWranglerConfig(wranglerToml("")).assets, null);
});

test("[assets]: what the runtime cannot do is refused, naming the key", () => {
  assert.throws(() => loadWranglerConfig(wranglerToml('[assets]\ndirectory = "a"\nbinding = "ASSETS"\n')),
    /assets.binding is not implemented/);
  assert.throws(() => loadWranglerConfig(wranglerToml('[assets]\ndirectory = "a"\nrun_worker_first = ["/api/*"]\n')),
    /assets.run_worker_first must be true or false/);
});
