#!/usr/bin/env node
// The floor of a cache hit, measured in the local runtime's own stack: for each R2 key, a bare
// R2 get through the same bridge the Python Worker uses (Miniflare's real R2 on the persisted
// state), then, in the same Pyodide the Worker runs on, the codec's decode and the response
// render of those bytes. Run it on a persist dir no runtime is using.
//
//   node bench/floor.mjs --persist DIR --repeat N KEY [KEY ...]
// prints one JSON object: {"r2_ms": [...], "decode_ms": [...], "render_ms": [...], "bytes", "samples"}
// with one figure per repetition (the keys are read together, as the Worker reads a request's days).
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";

import { BRIDGE_WORKER, Bridge, R2Bucket, bridgeWorkerOptions } from "../runtime/bindings.mjs";
import { loadWranglerConfig } from "../runtime/config.mjs";
import { pythonFiles } from "../runtime/python.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const SRC_DIR = path.join(ROOT, "src");
const WARMUP_ROUNDS = 1;

function parse(argv) {
  const opts = { persist: null, repeat: 5, keys: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--persist") opts.persist = argv[++i];
    else if (argv[i] === "--repeat") opts.repeat = Number(argv[++i]);
    else opts.keys.push(argv[i]);
  }
  if (!opts.persist || !opts.keys.length || !(opts.repeat > 0)) {
    throw new Error("usage: node bench/floor.mjs --persist DIR --repeat N KEY [KEY ...]");
  }
  return opts;
}

async function startPython() {
  const { loadPyodide } = await import("pyodide");
  const pyodide = await loadPyodide({ args: [] });
  for (const file of pythonFiles(SRC_DIR)) {
    pyodide.FS.mkdirTree(path.dirname(file));
    pyodide.FS.writeFile(file, new Uint8Array(readFileSync(file)));
  }
  pyodide.runPython(`
import sys, time
sys.path.insert(0, ${JSON.stringify(SRC_DIR)})
from services.codec import decode
from services.formats import Format, render_as

def bench_decode(blobs):
    started = time.perf_counter()
    decoded = [decode(bytes(b)) for b in blobs]
    return (time.perf_counter() - started) * 1000, decoded

def bench_render(decoded):
    merged = {}
    for series in decoded:
        for name, points in series.items():
            merged.setdefault(name, type(points)()).extend(points)
    started = time.perf_counter()
    body = render_as(Format.JSON, merged, {}, {"requestId": "bench"})
    return (time.perf_counter() - started) * 1000, sum(len(p) for p in merged.values()), len(body)
`);
  return pyodide;
}

async function main() {
  const opts = parse(process.argv.slice(2));
  const config = loadWranglerConfig(path.join(ROOT, "wrangler.toml"));
  const mf = new Miniflare({
    defaultPersistRoot: path.join(path.resolve(opts.persist), "v3"),
    cf: false,
    log: new Log(LogLevel.WARN),
    workers: [bridgeWorkerOptions(config)],
  });
  try {
    await mf.ready;
    const bridgeWorker = await mf.getWorker(BRIDGE_WORKER);
    const bucket = new R2Bucket(new Bridge((p, init) => bridgeWorker.fetch(`http://bridge${p}`, init)), config.r2[0].binding);
    const pyodide = await startPython();
    const benchDecode = pyodide.globals.get("bench_decode");
    const benchRender = pyodide.globals.get("bench_render");
    const out = { r2_ms: [], decode_ms: [], render_ms: [], bytes: 0, samples: 0, body_bytes: 0 };
    for (let round = -WARMUP_ROUNDS; round < opts.repeat; round++) {
      const started = performance.now();
      const objects = await Promise.all(opts.keys.map((key) => bucket.get(key)));
      const blobs = await Promise.all(objects.map((o) => {
        if (!o) throw new Error("an R2 key is missing");
        return o.bytes();
      }));
      const r2Ms = performance.now() - started;
      out.bytes = blobs.reduce((n, b) => n + b.length, 0);
      const [decodeMs, decoded] = benchDecode(blobs).toJs({ depth: 1 });
      const [renderMs, samples, bodyBytes] = benchRender(decoded).toJs();
      decoded.destroy?.();
      if (round < 0) continue; // warm-up, not recorded
      out.r2_ms.push(r2Ms);
      out.decode_ms.push(decodeMs);
      out.render_ms.push(renderMs);
      out.samples = samples;
      out.body_bytes = bodyBytes;
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await mf.dispose();
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
