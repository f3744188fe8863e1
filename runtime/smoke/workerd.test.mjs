// The local runtime's rules (runtime/workerd.mjs) checked against the workerd that wrangler installs,
// offline and in about a second:   node --test runtime/smoke/workerd.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWranglerConfig } from "../config.mjs";
import { helperFacts, probeEventArity, probePyodide, workerdBinary } from "../probe.mjs";
import { installedPyodideVersion } from "../python.mjs";
import { EVENT_ARITY, PYODIDE_FLAGS, RELAXED_HANDLERS, SPECIAL_HANDLERS, selectPyodideVersion } from "../workerd.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const config = loadWranglerConfig(path.join(ROOT, "wrangler.toml"));
const workerd = workerdBinary("wrangler");
const facts = helperFacts(workerd.path);
const UPDATE = "read workerd's src/pyodide/python-entrypoint-helper.ts and update runtime/workerd.mjs";

test("the handlers workerd calls relaxed are the ones the runtime calls relaxed", () => {
  assert.deepEqual(facts.specialHandlers, SPECIAL_HANDLERS, `workerd ${workerd.version} now has SPECIAL_HANDLER_NAMES ` +
    `${JSON.stringify(facts.specialHandlers)}, the runtime ${JSON.stringify(SPECIAL_HANDLERS)}: ${UPDATE}`);
  assert.deepEqual(facts.relaxedHandlers, RELAXED_HANDLERS, `workerd ${workerd.version} now calls ` +
    `${JSON.stringify(facts.relaxedHandlers)} relaxed, the runtime ${JSON.stringify(RELAXED_HANDLERS)}: ${UPDATE}`);
});

test("workerd converts every argument with python_from_rpc and calls the other handlers strictly", () => {
  assert.ok(facts.specialCalledRaw, `workerd ${workerd.version} no longer calls connect relaxed with raw arguments: ${UPDATE}`);
  assert.ok(facts.wrapperConvertsEachArgument, `workerd ${workerd.version}'s wrapper_func no longer converts each argument: ${UPDATE}`);
  assert.ok(facts.wrapperRelaxesOnlyWhenAsked, `workerd ${workerd.version}'s wrapper_func changed how it relaxes calls: ${UPDATE}`);
});

test("an entrypoint's fetch, queue and scheduled get (event, undefined, undefined) as the runtime passes them", () => {
  const arity = probeEventArity(workerd.path, config.compatibilityDate);
  for (const handler of ["fetch", "queue", "scheduled"]) {
    assert.deepEqual(arity[handler], { count: EVENT_ARITY, extras: Array(EVENT_ARITY - 1).fill("undefined") },
      `workerd ${workerd.version} passes ${handler} ${JSON.stringify(arity[handler])}: update eventArgs in runtime/workerd.mjs`);
  }
});

test("wrangler.toml selects the Pyodide that the runtime installs and runs", () => {
  const selected = probePyodide(workerd.path, config.compatibilityDate, config.compatibilityFlags);
  const where = `compatibility_date ${config.compatibilityDate} [${config.compatibilityFlags.join(", ")}]`;
  assert.equal(selectPyodideVersion(config.compatibilityDate, config.compatibilityFlags), selected,
    `workerd ${workerd.version} selects Pyodide ${selected} for ${where}: update PYODIDE_FLAGS in runtime/workerd.mjs`);
  assert.equal(installedPyodideVersion(), selected,
    `workerd ${workerd.version} selects Pyodide ${selected} for ${where}, npm has pyodide ${installedPyodideVersion()}: ` +
    `set "pyodide": "${selected}" in package.json`);
});

const dayBefore = (date) => new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

/** For each flag of the table: listed on an old date, its enable date, the day before, and switched off. */
function tableCases() {
  const cases = [[config.compatibilityDate, ["python_workers", ...PYODIDE_FLAGS.map((f) => `no_${f.flag}`)]]];
  for (const { flag, enableDate } of PYODIDE_FLAGS) {
    cases.push(["2025-01-01", ["python_workers", flag]]);
    if (enableDate) cases.push([enableDate, ["python_workers"]], [dayBefore(enableDate), ["python_workers"]]);
  }
  return cases;
}

test("every row of the runtime's Pyodide table agrees with workerd", () => {
  for (const [date, flags] of tableCases()) {
    const selected = probePyodide(workerd.path, date, flags);
    assert.equal(selectPyodideVersion(date, flags), selected,
      `workerd ${workerd.version} selects Pyodide ${selected} for ${date} [${flags.join(", ")}]: update PYODIDE_FLAGS in runtime/workerd.mjs`);
  }
});
