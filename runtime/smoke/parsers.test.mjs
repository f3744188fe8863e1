// Pure parts of the runtime: cron matching, SQL splitting, Pyodide selection, the SDK pin, [[ratelimits]].
//   node --test runtime/smoke/parsers.test.mjs
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { loadWranglerConfig, overrideRatelimits, parseArgs } from "../config.mjs";
import { selectPyodideVersion } from "../workerd.mjs";
import { nextFireTime, parseCron } from "../cron.mjs";
import { splitSql } from "../schema.mjs";
import { pinnedWheel, readWheel } from "../sdk.mjs";

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

const WHEEL_URL = "https://files.example/workers_runtime_sdk-1.9.5-py3-none-any.whl";

function withProject(pyproject, lock, body) {
  const dir = mkdtempSync(path.join(tmpdir(), "runtime-sdk-pin-"));
  try {
    writeFileSync(path.join(dir, "pyproject.toml"), pyproject);
    writeFileSync(path.join(dir, "uv.lock"), lock);
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lockWith = (version) => `[[package]]\nname = "workers-runtime-sdk"\nversion = "${version}"\n` +
  `wheels = [{ url = "${WHEEL_URL}", hash = "sha256:abc" }]\n`;
const PINNED = `[project]\ndependencies = ["workers-runtime-sdk==1.9.5"]\n[dependency-groups]\ndev = ["workers-py==1.17.9"]\n`;

test("SDK: the wheel is pyproject's pin with uv.lock's sha256", () => {
  const wheel = withProject(PINNED, lockWith("1.9.5"), pinnedWheel);
  assert.equal(wheel.version, "1.9.5");
  assert.equal(wheel.sha256, "abc");
  assert.match(wheel.path, /node_modules\/\.cache\/workers-runtime-sdk\/workers_runtime_sdk-1\.9\.5-py3-none-any\.whl$/);
});

test("SDK: a lock that disagrees with the pin, or no pin, is refused", () => {
  assert.throws(() => withProject(PINNED, lockWith("1.9.4"), pinnedWheel), /uv\.lock has workers-runtime-sdk 1\.9\.4, pyproject\.toml pins 1\.9\.5: run uv lock/);
  assert.throws(() => withProject(`[project]\ndependencies = ["workers-runtime-sdk>=1.9"]\n`, lockWith("1.9.5"), pinnedWheel),
    /must pin "workers-runtime-sdk==<version>"/);
});

test("SDK: a missing wheel or one whose sha256 is not uv.lock's is refused", () => {
  withProject(PINNED, lockWith("1.9.5"), (root) => {
    const wheel = pinnedWheel(root);
    assert.throws(() => readWheel(wheel), /workers-runtime-sdk 1\.9\.5 is not installed .*: run make install/);
    mkdirSync(path.dirname(wheel.path), { recursive: true });
    writeFileSync(wheel.path, "not the locked wheel");
    assert.throws(() => readWheel(wheel), /sha256 [0-9a-f]{64}, uv\.lock says abc: run make install/);
  });
});

function configWith(ratelimits) {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "bv-config-")), "wrangler.toml");
  writeFileSync(file, `main = "src/entry.py"\ncompatibility_date = "2026-11-01"\n${ratelimits}`);
  return file;
}

test("[[ratelimits]]: name, namespace_id and simple = {limit, period} are read", () => {
  const file = configWith(`[[ratelimits]]\nname = "RL"\nnamespace_id = "1001"\nsimple = { limit = 5, period = 10 }\n`);
  assert.deepEqual(loadWranglerConfig(file).ratelimits, [{ binding: "RL", namespaceId: "1001", limit: 5, period: 10 }]);
});

test("[[ratelimits]]: a period other than 10 or 60 and a missing limit are refused, as workerd does", () => {
  const period = configWith(`[[ratelimits]]\nname = "RL"\nnamespace_id = "1"\nsimple = { limit = 5, period = 30 }\n`);
  assert.throws(() => loadWranglerConfig(period), /period must be 10 or 60/);
  const limit = configWith(`[[ratelimits]]\nname = "RL"\nnamespace_id = "1"\nsimple = { period = 60 }\n`);
  assert.throws(() => loadWranglerConfig(limit), /limit must be a positive integer/);
});

test("--ratelimit NAME=LIMIT replaces one limit and refuses unknown names", () => {
  const config = loadWranglerConfig(configWith(`[[ratelimits]]\nname = "RL"\nnamespace_id = "1"\nsimple = { limit = 5, period = 60 }\n`));
  const opts = parseArgs(["--ratelimit", "RL=500"]);
  assert.equal(overrideRatelimits(config, opts.ratelimits).ratelimits[0].limit, 500);
  assert.throws(() => overrideRatelimits(config, { OTHER: 1 }), /no \[\[ratelimits\]\] named OTHER/);
  assert.throws(() => parseArgs(["--ratelimit", "RL=0"]), /positive integer/);
});

test("--floor-module is off unless given (make bench's floor only)", () => {
  assert.equal(parseArgs([]).floorModule, null);
  assert.equal(parseArgs(["--floor-module", "bench/floorworker.py"]).floorModule, "bench/floorworker.py");
});

test("[assets]: Miniflare's asset options, the folder resolved next to wrangler.toml", () => {
  const file = configWith('[assets]\ndirectory = "assets"\nhtml_handling = "auto-trailing-slash"\n');
  assert.deepEqual(loadWranglerConfig(file).assets, {
    directory: path.join(path.dirname(file), "assets"),
    routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: false },
    assetConfig: { html_handling: "auto-trailing-slash", not_found_handling: undefined },
  });
  assert.equal(loadWranglerConfig(configWith("")).assets, null);
});

test("[assets]: what the runtime cannot do is refused, naming the key", () => {
  assert.throws(() => loadWranglerConfig(configWith('[assets]\ndirectory = "a"\nbinding = "ASSETS"\n')),
    /assets.binding is not implemented/);
  assert.throws(() => loadWranglerConfig(configWith('[assets]\ndirectory = "a"\nrun_worker_first = ["/api/*"]\n')),
    /assets.run_worker_first must be true or false/);
});
