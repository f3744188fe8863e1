// What production limits per invocation, counted and enforced here: subrequests (outgoing fetches and
// binding calls alike), the Pyodide heap and CPU time (approximate), plus D1, R2 and Queues sizes.
// Each invocation runs in an AsyncLocalStorage context, so counting follows its own async work.
import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";

const MB = 1024 * 1024;

// Cloudflare's documented defaults (paid plan); `[limits]` in wrangler.toml overrides subrequests and cpu_ms.
export const DEFAULT_LIMITS = { subrequests: 10_000, cpuMs: 30_000, memoryMB: 128 };
// The free plan: 50 external fetches and 1,000 calls to Cloudflare services (bindings) per invocation.
export const FREE_PLAN = { external: 50, internal: 1_000 };

export const D1_LIMITS = { boundParameters: 100, statementBytes: 100_000, rowBytes: 2_000_000 };
export const QUEUE_LIMITS = { messageBytes: 128_000, batchMessages: 100, batchBytes: 256_000 };

const invocations = new AsyncLocalStorage();

/** The limits for this configuration: wrangler.toml's `[limits]`, the plan, the documented defaults. */
export function resolveLimits(configured = {}, plan = "paid") {
  const limits = { ...DEFAULT_LIMITS, plan };
  if (configured.subrequests !== undefined) limits.subrequests = Number(configured.subrequests);
  if (configured.cpu_ms !== undefined) limits.cpuMs = Number(configured.cpu_ms);
  return limits;
}

/** One handler invocation's counters; `finish()` gives the figures its log line carries. */
export class Invocation {
  #limits;
  #heapBytes;
  #started = performance.now();
  #cpu = process.cpuUsage();
  external = 0;
  internal = 0;
  heapPeakBytes;

  constructor(limits, heapBytes) {
    this.#limits = limits;
    this.#heapBytes = heapBytes;
    this.heapPeakBytes = heapBytes();
  }

  get subrequests() {
    return this.external + this.internal;
  }

  /** Count one subrequest; past the limit it throws as workerd does, and nothing is sent. */
  count(kind) {
    this[kind] += 1;
    this.sampleHeap();
    const limits = this.#limits;
    const over = limits.plan === "free"
      ? this.external > FREE_PLAN.external || this.internal > FREE_PLAN.internal
      : this.subrequests > limits.subrequests;
    if (over) throw new Error("Too many subrequests.");
  }

  sampleHeap() {
    this.heapPeakBytes = Math.max(this.heapPeakBytes, this.#heapBytes());
  }

  /** The invocation's figures: subrequests, the heap's peak (MB), the process's CPU ms and wall ms. */
  finish() {
    this.sampleHeap();
    const { user, system } = process.cpuUsage(this.#cpu);
    return {
      subrequests: this.subrequests,
      heapPeakMB: Math.round((this.heapPeakBytes / MB) * 10) / 10,
      cpuMs: Math.round((user + system) / 1000),
      wallMs: Math.round(performance.now() - this.#started),
    };
  }

  exceeded(figures) {
    if (figures.heapPeakMB > this.#limits.memoryMB) return "exceededMemory";
    if (figures.cpuMs > this.#limits.cpuMs) return "exceededCpu";
    return null;
  }
}

/** Run fn inside the invocation's context. */
export function within(invocation, fn) {
  return invocations.run(invocation, fn);
}

/** Count a subrequest for the invocation this async work belongs to (none outside handlers). */
export function countSubrequest(kind) {
  invocations.getStore()?.count(kind);
}

/** Make the global fetch (js.fetch and workers.fetch in Python) count as external subrequests. */
export function countGlobalFetch() {
  const plain = globalThis.fetch;
  globalThis.fetch = function fetch(...args) {
    try {
      countSubrequest("external");
    } catch (err) {
      return Promise.reject(err);
    }
    return plain(...args);
  };
  return plain;
}

// ---------------------------------------------------------------- sizes

const utf8Bytes = (value) => Buffer.byteLength(value, "utf8");

function valueBytes(value) {
  if (value === null || value === undefined) return 0;
  if (typeof value === "string") return utf8Bytes(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
  return 8;
}

/** D1's per-statement limits, with D1's error texts. */
export function checkD1Statement(sql, params) {
  if (params.length > D1_LIMITS.boundParameters) {
    throw new Error(`D1_ERROR: too many SQL variables: ${params.length} bound, the limit is ${D1_LIMITS.boundParameters}: SQLITE_ERROR`);
  }
  if (utf8Bytes(sql) > D1_LIMITS.statementBytes) {
    throw new Error(`D1_ERROR: statement too long: ${utf8Bytes(sql)} bytes, the limit is ${D1_LIMITS.statementBytes}: SQLITE_TOOBIG`);
  }
  const rowBytes = params.reduce((sum, value) => sum + valueBytes(value), 0);
  if (rowBytes > D1_LIMITS.rowBytes) {
    throw new Error(`D1_ERROR: string or blob too big: ${rowBytes} bytes bound, a row holds at most ${D1_LIMITS.rowBytes}: SQLITE_TOOBIG`);
  }
}

/** Queues' message and sendBatch limits (Miniflare allows 288 KB a batch; production 256 KB). */
export function checkQueueSend(bodies) {
  const sizes = bodies.map((body) => utf8Bytes(typeof body === "string" ? body : JSON.stringify(body) ?? ""));
  const largest = Math.max(0, ...sizes);
  if (largest > QUEUE_LIMITS.messageBytes) {
    throw new Error(`Queue send failed: message length of ${largest} bytes exceeds limit of ${QUEUE_LIMITS.messageBytes}`);
  }
  if (bodies.length > QUEUE_LIMITS.batchMessages) {
    throw new Error(`Queue sendBatch failed: batch message count of ${bodies.length} exceeds limit of ${QUEUE_LIMITS.batchMessages}`);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > QUEUE_LIMITS.batchBytes) {
    throw new Error(`Queue sendBatch failed: batch size of ${total} bytes exceeds limit of ${QUEUE_LIMITS.batchBytes}`);
  }
}
