#!/usr/bin/env node
// Reads, from a real workerd binary and offline, the facts runtime/workerd.mjs mirrors: how the
// Python entrypoint helper calls handlers, what arguments an entrypoint's handlers receive, and
// which Pyodide bundle a compatibility date and flags select (the URL workerd asks for, in a network
// namespace of its own so that nothing leaves the machine).
//   node runtime/probe.mjs [--miniflare] [--date YYYY-MM-DD] [--flag NAME ...]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const PROBE_TIMEOUT_MS = 20_000;

export class ProbeError extends Error {
  name = "ProbeError";
}

/** The workerd binary an npm package depends on: "wrangler" (nearest production) or "miniflare". */
export function workerdBinary(owner = "wrangler") {
  const ownerRequire = createRequire(require.resolve(`${owner}/package.json`));
  const workerd = ownerRequire("workerd");
  return { path: workerd.default, version: workerd.version, newestDate: workerd.compatibilityDate };
}

function between(text, start, end) {
  const from = text.indexOf(start);
  if (from < 0) return null;
  const to = text.indexOf(end, from + start.length);
  return to < 0 ? null : text.slice(from + start.length, to);
}

const quoted = (source) => [...source.matchAll(/'([^']*)'/g)].map((m) => m[1]);

/** How the Python entrypoint helper embedded in the binary calls a WorkerEntrypoint's handlers. */
export function helperFacts(binaryPath) {
  const text = readFileSync(binaryPath).toString("latin1");
  const special = between(text, "const SPECIAL_HANDLER_NAMES = [", "]");
  const relaxed = between(text, "const isRelaxed = ", ";");
  const wrapper = between(text, "async def wrapper_func(", "\nclass ");
  if (special === null || relaxed === null || wrapper === null) {
    throw new ProbeError(`${binaryPath}: the Python entrypoint helper no longer has SPECIAL_HANDLER_NAMES, ` +
      "isRelaxed or introspection.wrapper_func; read workerd's src/pyodide/ and update runtime/workerd.mjs");
  }
  const fetchAlias = /const isFetch = prop === 'fetch'/.test(text) && /\bisFetch\b/.test(relaxed) ? ["fetch"] : [];
  return {
    specialHandlers: quoted(special),
    relaxedHandlers: [...fetchAlias, ...quoted(relaxed)],
    specialCalledRaw: text.includes("if ((isKnownHandler || isKnownDoHandler) && !isFetch) {\n                    return await doPyCallHelper(true, pyInstance[prop], args);"),
    wrapperConvertsEachArgument: wrapper.includes("py_args = [python_from_rpc(arg) for arg in args]"),
    wrapperRelaxesOnlyWhenAsked: /relaxed_call\(method, \*py_args, \*\*py_kwargs\)\s*if relaxed\s*else method\(\*py_args, \*\*py_kwargs\)/.test(wrapper),
  };
}

/** Run workerd with the given arguments in a fresh network namespace: it has no route anywhere. */
function runIsolated(binaryPath, args, cwd) {
  const out = spawnSync("unshare", ["--map-root-user", "--net", binaryPath, ...args], {
    cwd, encoding: "utf8", timeout: PROBE_TIMEOUT_MS,
  });
  if (out.error) throw new ProbeError(`cannot run workerd offline with unshare (util-linux): ${out.error.message}`);
  const output = `${out.stdout}${out.stderr}`;
  if (/unshare: /.test(output)) throw new ProbeError(`unshare could not make a network namespace: ${output.trim()}`);
  return output;
}

function withTempDir(files, body) {
  const dir = mkdtempSync(path.join(tmpdir(), "workerd-probe-"));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const capnpList = (items) => items.map((item) => JSON.stringify(item)).join(", ");

/** The Pyodide version workerd selects for a Python Worker with this date and these flags. */
export function probePyodide(binaryPath, compatibilityDate, flags) {
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .w)]);
const w :Workerd.Worker = (
  modules = [(name = "entry.py", pythonModule = embed "entry.py")],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = [${capnpList(flags)}],
);
`;
  const entry = "from workers import WorkerEntrypoint\n\nclass Default(WorkerEntrypoint):\n    pass\n";
  const output = withTempDir({ "config.capnp": config, "entry.py": entry }, (dir) =>
    runIsolated(binaryPath, ["serve", "config.capnp"], dir));
  const match = /\/pyodide_([^_/\s]+)_[^\s;]*\.capnp\.bin/.exec(output);
  if (!match) throw new ProbeError(`workerd named no Pyodide bundle for ${compatibilityDate} [${flags.join(", ")}]:\n${output.trim()}`);
  return match[1];
}

const ARITY_CALLEE = `import { WorkerEntrypoint } from "cloudflare:workers";
const report = (name, args) => console.log("ARITY " + JSON.stringify({ name, count: args.length, extras: args.slice(1).map((a) => typeof a) }));
export default class extends WorkerEntrypoint {
  async fetch(...args) { report("fetch", args); return new Response("ok"); }
  async scheduled(...args) { report("scheduled", args); }
  async queue(...args) { report("queue", args); args[0].ackAll(); }
}
`;
const ARITY_CALLER = `export default {
  async test(controller, env) {
    await (await env.CALLEE.fetch("http://probe/")).text();
    await env.CALLEE.scheduled({ cron: "* * * * *" });
    await env.CALLEE.queue("probe", [{ id: "1", timestamp: new Date(), body: "x", attempts: 1 }]);
  },
};
`;

/** The arguments workerd passes to a class-based entrypoint's fetch, scheduled and queue handlers. */
export function probeEventArity(binaryPath, compatibilityDate) {
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "caller", worker = .caller), (name = "callee", worker = .callee)]);
const caller :Workerd.Worker = (
  modules = [(name = "caller.js", esModule = embed "caller.js")],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = ["service_binding_extra_handlers"],
  bindings = [(name = "CALLEE", service = "callee")],
);
const callee :Workerd.Worker = (
  modules = [(name = "callee.js", esModule = embed "callee.js")],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
);
`;
  const files = { "config.capnp": config, "caller.js": ARITY_CALLER, "callee.js": ARITY_CALLEE };
  const output = withTempDir(files, (dir) => runIsolated(binaryPath, ["test", "--experimental", "config.capnp"], dir));
  const reports = [...output.matchAll(/^ARITY (.*)$/gm)].map((m) => JSON.parse(m[1]));
  if (reports.length !== 3) throw new ProbeError(`workerd test did not call the three handlers:\n${output.trim()}`);
  return Object.fromEntries(reports.map(({ name, ...rest }) => [name, rest]));
}

function main(argv) {
  const owner = argv.includes("--miniflare") ? "miniflare" : "wrangler";
  const date = argv[argv.indexOf("--date") + 1] ?? null;
  const flags = ["python_workers", ...argv.flatMap((arg, i) => (argv[i - 1] === "--flag" ? [arg] : []))];
  const binary = workerdBinary(owner);
  const facts = { binary, helper: helperFacts(binary.path) };
  if (argv.includes("--date")) {
    facts.pyodide = probePyodide(binary.path, date, flags);
    facts.eventArity = probeEventArity(binary.path, date);
  }
  console.log(JSON.stringify(facts, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
