// What the runtime provides around the Python handlers: ExecutionContext with waitUntil,
// the `_pyodide_entrypoint_helper` module the workers SDK imports, and event objects
// (queue batches, scheduled controllers) shaped like the platform's.
import { briefError } from "./python.mjs";
import { encodeDeep } from "./workers/codec.mjs";

/** Tracks waitUntil promises: rejections are logged, shutdown can wait for the rest. */
export class WaitUntilTracker {
  #pending = new Set();

  add(promise, label) {
    const tracked = Promise.resolve(promise)
      .catch((err) => process.stderr.write(`[runtime] waitUntil (${label}) rejected:\n${briefError(err)}\n`))
      .finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  get size() {
    return this.#pending.size;
  }

  /** Resolves when all pending promises settled or after timeoutMs, whichever is first. */
  async drain(timeoutMs) {
    let timer;
    const deadline = new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    try {
      await Promise.race([Promise.allSettled([...this.#pending]), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

// A Python awaitable passed to JS is a borrowed proxy that Python releases when the call
// returns: keep an owned copy until it settles (as workerd's patchWaitUntil does).
function retained(value) {
  if (value && typeof value.copy === "function" && typeof value.destroy === "function") {
    const owned = value.copy();
    return (async () => {
      try {
        return await owned;
      } finally {
        owned.destroy();
      }
    })();
  }
  return value;
}

export class ExecutionContext {
  #tracker;
  #label;
  constructor(tracker, label) {
    this.#tracker = tracker;
    this.#label = label;
    this.props = {};
  }

  get [Symbol.toStringTag]() {
    return "ExecutionContext";
  }

  waitUntil(promise) {
    this.#tracker.add(retained(promise), this.#label);
  }

  passThroughOnException() {}
}

/** The `_pyodide_entrypoint_helper` JS module the workers SDK imports. */
export function entrypointHelper({ env, tracker }) {
  return {
    cloudflareWorkersModule: {
      env,
      waitUntil: (promise) => tracker.add(retained(promise), "workers.wait_until"),
    },
    cloudflareSocketsModule: {},
    // ExecutionContext.waitUntil already retains Python awaitables.
    patchWaitUntil() {},
    doAnImport(name) {
      return Promise.reject(new Error(`import_from_javascript(${JSON.stringify(name)}) is not available in the local runtime`));
    },
    patch_env_helper() {
      throw new Error("workers.patch_env is not available in the local runtime");
    },
  };
}

// ---------------------------------------------------------------- events

/** Records a handler's ack/retry calls so the shim can replay them on the real messages. */
class CallLog {
  calls = [];
  record(id, name, options) {
    this.calls.push({ id, name, options: options === undefined ? null : plainOptions(options) });
  }
}

function plainOptions(options) {
  if (options === null || typeof options !== "object") return null;
  encodeDeep(options, "retry options"); // refuses an unconverted Python dict with a clear error
  const out = {};
  if (options.delaySeconds !== undefined) out.delaySeconds = Number(options.delaySeconds);
  return out;
}

export class Message {
  #log;
  constructor(log, { id, timestamp, attempts, body }) {
    this.#log = log;
    this.id = id;
    this.timestamp = new Date(timestamp);
    this.attempts = attempts;
    this.body = body;
  }

  ack() { this.#log.record(this.id, "ack"); }
  retry(options) { this.#log.record(this.id, "retry", options); }
}

const BATCH_LOGS = new WeakMap();

/** The ack/retry calls the handler made on a batch and its messages, in order. */
export function recordedCalls(batch) {
  return BATCH_LOGS.get(batch).calls;
}

export class MessageBatch {
  #log = new CallLog();
  constructor(queue, messages) {
    BATCH_LOGS.set(this, this.#log);
    this.queue = queue;
    this.messages = messages.map((m) => new Message(this.#log, m));
  }

  ackAll() { this.#log.record(null, "ackAll"); }
  retryAll(options) { this.#log.record(null, "retryAll", options); }
}

export class ScheduledController {
  constructor({ cron, scheduledTime }) {
    this.cron = cron;
    this.scheduledTime = scheduledTime;
  }

  noRetry() {}
}
