// Smoke test of the local runtime against the toy Worker in runtime/smoke/worker:
//   node --test runtime/smoke/smoke.test.mjs
// Starts the runtime on a free port with a temporary state folder and checks each platform
// feature end to end: fetch, D1, R2, Queues (retries, dead-letter queue), scheduled,
// waitUntil, streamed responses, outgoing fetch, errors, and that wrangler reads the same D1.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { childPids } from "../process.mjs";
import { promisify } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 15_000;
const QUEUE_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 200;
const WRANGLER_TIMEOUT_MS = 60_000;
const EXPECT_WAIT_MS = 1_000;
const KILL_TIMEOUT_MS = 5_000;

let child;
let base;
let stateDir;
let upstream;
const output = { stdout: "", stderr: "" }; // of the shared runtime

function startUpstream() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => res.end(`pong ${req.url}`));
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function waitForReady(proc, out) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    proc.stdout.on("data", (chunk) => {
      out.stdout += chunk;
      const match = /^READY (http:\/\/\S+)$/m.exec(out.stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    proc.stderr.on("data", (chunk) => { out.stderr += chunk; });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before READY`));
    });
  });
}

function waitForExit(proc) {
  if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime still running ${EXIT_TIMEOUT_MS} ms after SIGTERM`)), EXIT_TIMEOUT_MS);
    proc.on("exit", (code) => { clearTimeout(timer); resolve(code); });
  });
}

async function getJson(route, init) {
  const res = await fetch(`${base}${route}`, init);
  return { status: res.status, body: await res.json() };
}

async function pollEvents(predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson("/events");
    if (predicate(body)) return body;
    if (Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

async function waitForLog(pattern, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(output.stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  assert.match(output.stderr, pattern);
}

function spawnRuntime(persist) {
  const args = [
    path.join(ROOT, "runtime", "main.mjs"), "--config", path.join(ROOT, "wrangler.toml"),
    "--port", "0", "--persist", persist, "--src", path.join(HERE, "worker"), "--no-crons", "--plan", "free",
    "--ratelimit", "RATE_LIMIT_TOKEN=2",
    "--var", `FLIGHTDECK_BASE_URL=http://127.0.0.1:${upstream.address().port}/api`,
  ];
  return spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
}

before(async () => {
  upstream = await startUpstream();
  stateDir = mkdtempSync(path.join(tmpdir(), "runtime-smoke-"));
  child = spawnRuntime(stateDir);
  try {
    base = await waitForReady(child, output);
  } catch (err) {
    console.error(`runtime log:\n${output.stdout}\n${output.stderr}`);
    throw err;
  }
});

after(async () => {
  try {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      assert.equal(await waitForExit(child), 0, "runtime exits 0 on SIGTERM");
    }
  } finally {
    upstream?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }
});

test("prints exactly one READY line", () => {
  assert.equal(output.stdout.match(/^READY /gm)?.length, 1);
});

test("fetch returns JSON and sees vars overridden by --var and request.cf", async () => {
  const { status, body } = await getJson("/hello");
  assert.equal(status, 200);
  assert.equal(body.hello, "world");
  assert.match(body.base_url, /^http:\/\/127\.0\.0\.1:\d+\/api$/);
  assert.equal(body.cf, true);
});

test("D1: prepare/bind/all/first/batch/raw, NULL via the SDK wrapper, errors", async () => {
  const { body } = await getJson("/d1");
  assert.equal(body.changes, 1);
  assert.deepEqual(body.rows, [{ k: "a", v: null, n: 5, b: [0, 1] }]);
  assert.deepEqual(body.first, { k: "a", v: null, n: 5 });
  assert.equal(body.first_n, 5);
  assert.equal(body.missing, null);
  assert.deepEqual(body.batch, [2, 2]);
  assert.deepEqual(body.raw, [["a", 5], ["b", 1]]);
  assert.match(body.errors.missing_table, /no such table/);
  assert.match(body.errors.raw_none, /D1_TYPE_ERROR/); // raw binding: Python None arrives as undefined
});

test("R2: put/get bytes with metadata, head, list, delete", async () => {
  const { body } = await getJson("/r2");
  assert.equal(body.put_size, 1024);
  assert.equal(body.same_bytes, true);
  assert.deepEqual(body.custom, { codec: "zlib" });
  assert.deepEqual(body.http, { contentType: "application/octet-stream" });
  assert.ok(body.uploaded_year >= 2024);
  assert.equal(body.head_size, 1024);
  assert.deepEqual(body.list, ["smoke/a", 1024, { codec: "zlib" }, false]);
  assert.equal(body.missing, null);
  assert.equal(body.gone, null);
});

test("Rate Limiting: limit({key}) succeeds up to the limit per key; unknown options are refused", async () => {
  const res = await fetch(`${base}/ratelimit?key=k${Date.now()}`);
  const body = await res.json();
  assert.equal(body.wrapper, "_BindingWrapper"); // the SDK wraps a binding whose class is Ratelimit
  assert.deepEqual(body.outcomes, [true, true, false]);
  assert.equal(body.other, true);
  assert.match(body.errors.bad_option, /bad rate limit options: \[bogus\]/);
});

test("an exception in fetch is a JSON 500 and a traceback on stderr", async () => {
  const { status, body } = await getJson("/raise");
  assert.equal(status, 500);
  assert.deepEqual(body, { error: { code: "internal", message: "Internal error" } });
  await waitForLog(/RuntimeError: deliberate failure for the smoke test/);
  assert.match(output.stderr, /smoke\/worker\/entry\.py", line \d+, in route_raise/);
});

test("ctx.waitUntil runs after the response; rejections are logged", async () => {
  const { status } = await getJson("/wait");
  assert.equal(status, 200);
  const events = await pollEvents((e) => e.some((x) => x.kind === "waited"), 5_000);
  assert.ok(events.some((x) => x.kind === "waited"));
  await waitForLog(/ValueError: background failure for the smoke test/);
});

test("a ReadableStream body is streamed chunk by chunk", async () => {
  const res = await fetch(`${base}/stream?n=5`);
  assert.equal(res.headers.get("content-type"), "application/x-ndjson");
  const arrivals = [];
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of res.body) {
    arrivals.push(Date.now());
    text += decoder.decode(chunk, { stream: true });
  }
  assert.deepEqual(text.trim().split("\n").map((l) => JSON.parse(l).i), [0, 1, 2, 3, 4]);
  assert.ok(arrivals.at(-1) - arrivals[0] >= 300, "chunks arrive over time, not all at once");
});

function postExpectContinue(url, bytes) {
  // fetch() refuses an Expect header; curl sends one for bodies over 1 MB.
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { expect: "100-continue", "content-length": bytes.length } });
    // Like curl: send the body on "100 Continue" or after a second without one.
    const send = () => { clearTimeout(timer); if (!req.writableEnded) req.end(bytes); };
    const timer = setTimeout(send, EXPECT_WAIT_MS);
    req.on("continue", send);
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) }));
    });
    req.on("error", reject);
  });
}

test("request bodies pass through intact, also after Expect: 100-continue", async () => {
  const bytes = new Uint8Array(3_000_000).map((_, i) => (i * 7) % 251);
  const res = await fetch(`${base}/echo`, { method: "POST", body: bytes });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-method"), "POST");
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
  const expecting = await postExpectContinue(`${base}/echo`, bytes);
  assert.equal(expecting.status, 200);
  assert.deepEqual(expecting.body, bytes);
});

test("outgoing fetch reaches a local server via workers.fetch and js.fetch", async () => {
  const target = `http://127.0.0.1:${upstream.address().port}/x?y=1`;
  const { body } = await getJson(`/outgoing?url=${encodeURIComponent(target)}`);
  assert.deepEqual(body, { status: 200, sdk: "pong /x?y=1", js: "pong /x?y=1" });
});

test("scheduled runs via /cdn-cgi/handler/scheduled and /__scheduled", async () => {
  const a = await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/15 * * * *")}`);
  assert.equal(await a.text(), "ok");
  const b = await fetch(`${base}/__scheduled?cron=${encodeURIComponent("0 0 * * *")}&time=1700000000000`);
  assert.equal(await b.text(), "Ran scheduled event");
  const events = await pollEvents((e) => e.filter((x) => x.kind === "scheduled").length >= 2, 5_000);
  const crons = events.filter((x) => x.kind === "scheduled").map((x) => x.data);
  assert.equal(crons[0].cron, "*/15 * * * *");
  assert.equal(typeof crons[0].time, "number");
  assert.deepEqual(crons[1], { cron: "0 0 * * *", time: 1700000000000 });
});

test("queues: ack, retry with delay, max_retries then the dead-letter queue", async () => {
  await getJson("/send?kind=ok&n=2");
  await getJson("/send?kind=fail&n=1");
  await getJson("/send?kind=raise&n=1&queue=high");
  const done = (events) => events.filter((x) => x.kind === "queue" && x.data.queue.endsWith("-dlq")).length >= 2;
  const events = (await pollEvents(done, QUEUE_TIMEOUT_MS)).filter((x) => x.kind === "queue").map((x) => x.data);
  const ok = events.filter((e) => e.body.kind === "ok");
  assert.equal(ok.length, 2, "acked messages are delivered once");
  const failed = events.filter((e) => e.body.kind === "fail" && !e.queue.endsWith("-dlq"));
  assert.deepEqual(failed.map((e) => e.attempts), [1, 2, 3, 4], "max_retries = 3 means four deliveries");
  for (let i = 1; i < failed.length; i++) {
    assert.ok(failed[i].at - failed[i - 1].at >= 0.9, "retry(delaySeconds=1) delays the next delivery");
  }
  const raised = events.filter((e) => e.body.kind === "raise" && !e.queue.endsWith("-dlq"));
  assert.deepEqual(raised.map((e) => e.attempts), [1, 2, 3, 4], "a handler exception retries the batch");
  const dead = events.filter((e) => e.queue.endsWith("-dlq"));
  assert.deepEqual(dead.map((e) => e.id).sort(), [failed[0].id, raised[0].id].sort());
  await waitForLog(/RuntimeError: queue handler failure for the smoke test/);
});

test("wrangler d1 execute --local reads the runtime's D1", async () => {
  const wrangler = path.join(ROOT, "node_modules", ".bin", "wrangler");
  const env = { ...process.env, PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}` };
  const { stdout: out } = await promisify(execFile)(
    wrangler,
    ["d1", "execute", "building-vitals-db", "--local", "--persist-to", stateDir, "--json",
      "--command", "SELECT count(*) AS n FROM smoke_kv"],
    { cwd: ROOT, env, timeout: WRANGLER_TIMEOUT_MS },
  );
  assert.equal(JSON.parse(out)[0].results[0].n, 2);
});

function invocationLines() {
  return output.stdout.split("\n").filter((line) => line.startsWith('{"event":"invocation"')).map((line) => JSON.parse(line));
}

async function invocationFor(pathname) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const line = invocationLines().findLast((x) => x.path === pathname);
    if (line || Date.now() > deadline) return line;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

test("each invocation logs one JSON line with its subrequests, heap peak and CPU ms", async () => {
  await getJson("/d1");
  const line = await invocationFor("/d1");
  assert.equal(line.handler, "fetch");
  assert.equal(line.status, 200);
  assert.equal(line.subrequests, 10, "ten D1 calls, each a subrequest");
  assert.ok(line.heapPeakMB >= 10 && line.heapPeakMB <= 128, `heapPeakMB ${line.heapPeakMB}`);
  assert.ok(Number.isInteger(line.cpuMs) && line.cpuMs >= 0 && Number.isInteger(line.wallMs), JSON.stringify(line));
});

test("queue and scheduled invocations are logged too", async () => {
  await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("5 * * * *")}`);
  const deadline = Date.now() + 5_000;
  while (!invocationLines().some((x) => x.cron === "5 * * * *") && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  const line = invocationLines().find((x) => x.cron === "5 * * * *");
  assert.equal(line.handler, "scheduled");
  assert.equal(line.subrequests, 2, "the toy handler records the event with two D1 calls");
  assert.ok(invocationLines().some((x) => x.handler === "queue" && x.messages >= 1));
});

test("past the free plan's 50 external subrequests a fetch fails as on Cloudflare", async () => {
  const target = `http://127.0.0.1:${upstream.address().port}/x`;
  const { body } = await getJson(`/fanout?n=60&url=${encodeURIComponent(target)}`);
  assert.deepEqual(body, { done: 50, error: "Too many subrequests." });
  assert.equal((await invocationFor("/fanout")).subrequests, 51);
});

test("D1 and Queues refuse what production refuses, also where Miniflare would accept it", async () => {
  const { body } = await getJson("/limits");
  assert.match(body.params_101, /D1_ERROR: too many SQL variables/);
  assert.equal(body.params_100, null);
  assert.match(body.statement_100k, /D1_ERROR: statement too long/);
  assert.match(body.row_2mb, /D1_ERROR: string or blob too big/);
  assert.match(body.message_128k, /message length of 128\d{3} bytes exceeds limit of 128000/);
  assert.match(body.batch_101, /batch message count of 101 exceeds limit of 100/);
  assert.match(body.batch_260k, /batch size of 260\d{3} bytes exceeds limit of 256000/);
});

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

test("after a SIGKILL of the runtime, workerd goes too and the port is free", async () => {
  const persist = mkdtempSync(path.join(tmpdir(), "runtime-kill-"));
  const proc = spawnRuntime(persist);
  try {
    const url = new URL(await waitForReady(proc, { stdout: "", stderr: "" }));
    const workerd = childPids(proc.pid);
    assert.ok(workerd.length >= 1, "workerd runs as the runtime's child");
    proc.kill("SIGKILL");
    const deadline = Date.now() + KILL_TIMEOUT_MS;
    while (workerd.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    assert.deepEqual(workerd.filter(alive), [], "no workerd left behind");
    assert.ok(await portFree(Number(url.port)), `port ${url.port} is free again`);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    rmSync(persist, { recursive: true, force: true });
  }
});

function rawRequest(url, options) {
  // fetch() refuses TRACE and long heads are what this checks: plain node:http instead.
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, options, (res) => {
      let body = "";
      res.on("data", (chunk) => { body += chunk; });
      res.on("end", () => resolve({ status: res.statusCode, type: res.headers["content-type"], body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("TRACE reaches the Worker, which answers it, as on workerd", async () => {
  const res = await rawRequest(`${base}/method`, { method: "TRACE" });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { method: "TRACE" });
});

test("a request head over the runtime's 16 KB is a JSON 431", async () => {
  const res = await rawRequest(`${base}/hello?pad=${"a".repeat(20_000)}`, { method: "GET" });
  assert.equal(res.status, 431);
  assert.equal(res.type, "application/json");
  assert.equal(JSON.parse(res.body).error.code, "header_fields_too_large");
});
