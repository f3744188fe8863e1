// The rules of workerd that the local runtime mirrors, in one place. Each is read from the workerd
// that wrangler installs (the one nearest production) by runtime/probe.mjs, and
// runtime/smoke/workerd.test.mjs fails, saying what changed, when they no longer agree.

// python-entrypoint-helper: `SPECIAL_HANDLER_NAMES` are called relaxed on the Python method with the
// raw JS arguments, except fetch; every other handler goes through introspection.wrapper_func, each
// argument through python_from_rpc, relaxed only where `isRelaxed` says so, strictly otherwise.
export const SPECIAL_HANDLERS = ["fetch", "connect"];
export const RELAXED_HANDLERS = ["fetch", "test"];

/** How workerd calls handler `prop` of a Python WorkerEntrypoint: "raw", "relaxed" or "strict". */
export function callMode(prop) {
  if (prop !== "fetch" && SPECIAL_HANDLERS.includes(prop)) return "raw";
  return RELAXED_HANDLERS.includes(prop) ? "relaxed" : "strict";
}

// A class-based entrypoint's handlers get (event, env, ctx) with env and ctx undefined: they live on
// the instance. A strict handler declared with fewer parameters is therefore a TypeError.
export const EVENT_ARITY = 3;

// The event handlers the runtime delivers; those called strictly must accept EVENT_ARITY arguments.
export const EVENT_HANDLERS = ["fetch", "queue", "scheduled"];
export const STRICT_EVENT_HANDLERS = EVENT_HANDLERS.filter((prop) => callMode(prop) === "strict");

/** The arguments workerd passes to an entrypoint's event handler (fetch, queue, scheduled). */
export function eventArgs(event) {
  return [event, ...Array(EVENT_ARITY - 1).fill(undefined)];
}

// Which Pyodide a compatibility date and flags select: each flag is on when listed, or from its
// enable date unless `no_<flag>` is listed; the first flag on wins, else the oldest bundle.
export const PYODIDE_FLAGS = [
  { flag: "python_workers_314", enableDate: "2026-09-08", pyodide: "314.0.6" },
  { flag: "python_workers_20260610", enableDate: null, pyodide: "314.0.4" },
  { flag: "python_workers_20250116", enableDate: "2025-09-29", pyodide: "0.28.2" },
];
export const OLDEST_PYODIDE = "0.26.0a2";

export class CompatError extends Error {
  name = "CompatError";
}

/** The Pyodide version production runs for this compatibility date and flags. */
export function selectPyodideVersion(compatibilityDate, flags) {
  if (!flags.includes("python_workers")) {
    throw new CompatError(`compatibility_flags must include "python_workers" for a Python Worker`);
  }
  const on = ({ flag, enableDate }) =>
    flags.includes(flag) || (enableDate !== null && compatibilityDate >= enableDate && !flags.includes(`no_${flag}`));
  return PYODIDE_FLAGS.find(on)?.pyodide ?? OLDEST_PYODIDE;
}

/**
 * Whether workerd aborts an incoming request's `signal` when the client disconnects: only with
 * `enable_request_signal` (src/workerd/io/compatibility-date.capnp: no enable date, so a date never
 * turns it on) and not `disable_request_signal`. Without it the signal never fires.
 */
export function requestSignalEnabled(flags) {
  return flags.includes("enable_request_signal") && !flags.includes("disable_request_signal");
}
