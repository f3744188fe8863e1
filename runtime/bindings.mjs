// Node-side binding objects handed to Python as `env.X`. Their class names are the ones the
// workers SDK's _EnvWrapper recognises (D1Database, R2Bucket, WorkerQueue, Ratelimit), and each
// call is executed by the bridge worker against Miniflare's real D1, R2, Queues and rate limiters.
// Values given to Python are plain JS values and Uint8Array/ArrayBuffer, never Node Buffers.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { checkD1Statement, checkQueueSend } from "./limits.mjs";
import { asBytes, decodeDeep, decodeError, encodeDeep } from "./workers/codec.mjs";

const WORKERS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "workers");
export const BRIDGE_WORKER = "bv-runtime-bridge";
// The JS shim and bridge are ours, not the Python Worker's: they run on a date this workerd supports.
const SHIM_COMPATIBILITY_DATE = "2025-09-01";

/** Miniflare options of one of our JS workers: `main` from runtime/workers/, with the shared codec. */
export function jsWorkerOptions(main) {
  return {
    modulesRoot: WORKERS_DIR,
    modules: [
      { type: "ESModule", path: path.join(WORKERS_DIR, main) },
      { type: "ESModule", path: path.join(WORKERS_DIR, "codec.mjs") },
    ],
    compatibilityDate: SHIM_COMPATIBILITY_DATE,
  };
}

/** Miniflare options of the bridge worker, which holds the real D1, R2 and Queues of `config`. */
export function bridgeWorkerOptions(config) {
  return {
    name: BRIDGE_WORKER,
    ...jsWorkerOptions("bridge.mjs"),
    d1Databases: Object.fromEntries(config.d1.map((d) => [d.binding, d.id])),
    r2Buckets: Object.fromEntries(config.r2.map((b) => [b.binding, b.id])),
    queueProducers: Object.fromEntries(
      config.producers.map((p) => [p.binding, { queueName: p.queue, deliveryDelay: p.deliveryDelay }]),
    ),
    ratelimits: Object.fromEntries(
      config.ratelimits.map((r) => [r.binding, { namespace_id: r.namespaceId, simple: { limit: r.limit, period: r.period } }]),
    ),
  };
}

/** Sends one call to the bridge worker; `send(path, init)` returns a fetch Response. */
export class Bridge {
  constructor(send) {
    this.send = send;
  }

  async json(path, payload) {
    const res = await this.send(path, { method: "POST", body: JSON.stringify(payload) });
    const out = await res.json();
    if (out.error) throw decodeError(out.error);
    return decodeDeep(out.ok);
  }
}

// ---------------------------------------------------------------- D1

export class D1PreparedStatement {
  #db;
  constructor(db, sql, params = []) {
    this.#db = db;
    this.sql = sql;
    this.params = params;
  }

  bind(...values) {
    // Checked when the statement runs, as on the platform (undefined is a D1_TYPE_ERROR there).
    return new D1PreparedStatement(this.#db, this.sql, values);
  }

  _encoded() {
    checkD1Statement(this.sql, this.params);
    return { sql: this.sql, params: encodeDeep(this.params, "D1PreparedStatement.bind") };
  }

  all() { return this.#db._call("all", [this]); }
  run() { return this.#db._call("run", [this]); }
  first(column) { return this.#db._call("first", [this], column); }
  raw(options) { return this.#db._call("raw", [this], options); }
}

export class D1Database {
  #bridge;
  #binding;
  #bookmark;
  constructor(bridge, binding, bookmark) {
    this.#bridge = bridge;
    this.#binding = binding;
    this.#bookmark = bookmark;
  }

  prepare(sql) {
    if (typeof sql !== "string") throw new TypeError("D1Database.prepare: sql must be a string");
    return new D1PreparedStatement(this, sql);
  }

  batch(statements) {
    const list = Array.from(statements ?? []);
    for (const s of list) {
      if (!(s instanceof D1PreparedStatement)) throw new TypeError("D1Database.batch: expected D1PreparedStatement objects");
    }
    return this._call("batch", list);
  }

  exec(sql) { return this._call("exec", [], sql); }

  withSession(constraintOrBookmark) {
    return new D1DatabaseSession(this.#bridge, this.#binding, constraintOrBookmark ?? "first-unconstrained");
  }

  async _call(op, statements, arg) {
    const payload = { binding: this.#binding, op, stmts: statements.map((s) => s._encoded()), arg };
    if (this.#bookmark !== undefined) payload.bookmark = this.#bookmark;
    return this.#bridge.json("/d1", payload);
  }
}

/** Local D1 has a single copy, so a session only scopes calls; there is no bookmark to return. */
export class D1DatabaseSession extends D1Database {
  getBookmark() { return null; }
}

// ---------------------------------------------------------------- R2

/** Metadata of a stored object (what head(), put() and list() return). */
export class R2Object {
  constructor(meta) {
    this.key = meta.key;
    this.version = meta.version;
    this.size = meta.size;
    this.etag = meta.etag;
    this.httpEtag = meta.httpEtag;
    this.uploaded = meta.uploaded instanceof Date ? meta.uploaded : new Date(meta.uploaded);
    this.httpMetadata = meta.httpMetadata ?? {};
    this.customMetadata = meta.customMetadata ?? {};
    this.range = meta.range;
    this.checksums = meta.checksums ?? {};
    this.storageClass = meta.storageClass;
    this.ssecKeyMd5 = meta.ssecKeyMd5;
  }

  writeHttpMetadata(headers) {
    const m = this.httpMetadata;
    const pairs = [
      ["content-type", m.contentType], ["content-language", m.contentLanguage],
      ["content-disposition", m.contentDisposition], ["content-encoding", m.contentEncoding],
      ["cache-control", m.cacheControl], ["expires", m.cacheExpiry ? new Date(m.cacheExpiry).toUTCString() : undefined],
    ];
    for (const [name, value] of pairs) if (value !== undefined) headers.set(name, value);
  }
}

/** An object with its bytes (what get() returns). The bytes are read eagerly from the bridge. */
export class R2ObjectBody extends R2Object {
  #bytes;
  #used = false;
  constructor(meta, bytes) {
    super(meta);
    this.#bytes = bytes;
  }

  #take() {
    if (this.#used) throw new TypeError("Body has already been used. It can only be used once.");
    this.#used = true;
    return this.#bytes;
  }

  get bodyUsed() { return this.#used; }

  get body() {
    const bytes = this.#take();
    return new ReadableStream({
      start(controller) {
        if (bytes.length) controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  async arrayBuffer() {
    const b = this.#take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }

  async bytes() { return new Uint8Array(await this.arrayBuffer()); }
  async text() { return new TextDecoder().decode(this.#take()); }
  async json() { return JSON.parse(await this.text()); }
  async blob() { return new Blob([this.#take()], { type: this.httpMetadata.contentType ?? "" }); }
}

async function bodyBytes(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return new TextEncoder().encode(value);
  const bytes = asBytes(value);
  if (bytes) return bytes;
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (value instanceof ReadableStream) return new Uint8Array(await new Response(value).arrayBuffer());
  encodeDeep(value, "R2Bucket.put value"); // raises a clear error for unconverted Python objects
  throw new TypeError("R2Bucket.put: value must be a string, ArrayBuffer, ArrayBufferView, Blob, ReadableStream or null");
}

export class R2Bucket {
  #bridge;
  #binding;
  constructor(bridge, binding) {
    this.#bridge = bridge;
    this.#binding = binding;
  }

  async #call(op, args, body) {
    const headers = { "x-bv-args": JSON.stringify({ binding: this.#binding, ...args }) };
    const res = await this.#bridge.send(`/r2/${op}`, { method: "POST", headers, body: body ?? undefined });
    const header = res.headers.get("x-bv-result");
    if (header !== null) {
      const out = decodeDeep(JSON.parse(decodeURIComponent(header)));
      return { ...out, body: new Uint8Array(await res.arrayBuffer()) };
    }
    const out = await res.json();
    if (out.error) throw decodeError(out.error);
    return decodeDeep(out.ok);
  }

  async head(key) {
    const { meta } = await this.#call("head", { key: String(key) });
    return meta ? new R2Object(meta) : null;
  }

  async get(key, options) {
    const out = await this.#call("get", { key: String(key), options: encodeDeep(options, "R2Bucket.get options") });
    if (!out.meta) return null;
    return out.hasBody ? new R2ObjectBody(out.meta, out.body ?? new Uint8Array(0)) : new R2Object(out.meta);
  }

  async put(key, value, options) {
    const bytes = await bodyBytes(value);
    const args = { key: String(key), options: encodeDeep(options, "R2Bucket.put options"), isNull: bytes === null };
    const { meta } = await this.#call("put", args, bytes);
    return meta ? new R2Object(meta) : null;
  }

  async delete(keys) {
    await this.#call("delete", { keys: encodeDeep(Array.isArray(keys) ? keys : String(keys), "R2Bucket.delete keys") });
  }

  async list(options) {
    const { list } = await this.#call("list", { options: encodeDeep(options, "R2Bucket.list options") });
    return { ...list, objects: list.objects.map((m) => new R2Object(m)) };
  }
}

// ---------------------------------------------------------------- Queues

export class WorkerQueue {
  #bridge;
  #binding;
  constructor(bridge, binding) {
    this.#bridge = bridge;
    this.#binding = binding;
  }

  async send(body, options) {
    const encoded = encodeDeep(body, "WorkerQueue.send body");
    checkQueueSend([encoded]);
    return this.#bridge.json("/queue", {
      binding: this.#binding, op: "send", body: encoded, options: encodeDeep(options, "WorkerQueue.send options"),
    });
  }

  async sendBatch(messages, options) {
    const encoded = encodeDeep(Array.from(messages ?? []), "WorkerQueue.sendBatch messages");
    checkQueueSend(encoded.map((message) => message?.body));
    return this.#bridge.json("/queue", {
      binding: this.#binding, op: "sendBatch", messages: encoded, options: encodeDeep(options, "WorkerQueue.sendBatch options"),
    });
  }
}

// ---------------------------------------------------------------- Rate Limiting

const RATELIMIT_OPTION_KEYS = ["key", "limit", "period"];

/** `env.NAME.limit({key})` → `{success}`. Named `Ratelimit`, the class the SDK's _EnvWrapper wraps. */
export class Ratelimit {
  #bridge;
  #binding;
  constructor(bridge, binding) {
    this.#bridge = bridge;
    this.#binding = binding;
  }

  // Checked here as workerd's binding checks them, before any counting.
  async limit(options) {
    if (typeof options !== "object" || options === null) throw new Error("invalid rate limit options");
    const unknown = Object.keys(options).filter((k) => !RATELIMIT_OPTION_KEYS.includes(k));
    if (unknown.length) throw new Error(`bad rate limit options: [${unknown.join(",")}]`);
    if (options.key !== undefined && typeof options.key !== "string") throw new Error(`invalid key: ${options.key}`);
    return this.#bridge.json("/ratelimit", { binding: this.#binding, options: encodeDeep(options, "Ratelimit.limit options") });
  }
}

/** The env object Python's WorkerEntrypoint receives: vars plus binding objects. */
export function buildEnv(config, vars, bridge) {
  const env = { ...vars };
  for (const { binding } of config.d1) env[binding] = new D1Database(bridge, binding);
  for (const { binding } of config.r2) env[binding] = new R2Bucket(bridge, binding);
  for (const { binding } of config.producers) env[binding] = new WorkerQueue(bridge, binding);
  for (const { binding } of config.ratelimits) env[binding] = new Ratelimit(bridge, binding);
  return env;
}
