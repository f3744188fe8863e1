#!/usr/bin/env node
// Local runtime for the Python Worker: Miniflare (real D1, R2, Queues) in front, the Python
// WorkerEntrypoint running in Pyodide in this Node process behind it. See runtime/README.md.
import { existsSync } from "node:fs";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";

import { BRIDGE_WORKER, Bridge, bridgeWorkerOptions, buildEnv, jsWorkerOptions } from "./bindings.mjs";
import { ConfigError, compatFlagsModule, loadWranglerConfig, overrideRatelimits, parseArgs } from "./config.mjs";
import { ExecutionContext, MessageBatch, ScheduledController, WaitUntilTracker, entrypointHelper, recordedCalls } from "./context.mjs";
import { scheduleCrons } from "./cron.mjs";
import { startWatchdog } from "./process.mjs";
import { PythonWorker, StartupError, briefError, describeError, installedPyodideVersion } from "./python.mjs";
import { Front } from "./front.mjs";
import { jsonResponse, platformRequest, writeResponse } from "./http.mjs";
import { applyMigrations } from "./schema.mjs";
import { Invocation, countGlobalFetch, countSubrequest, resolveLimits, within } from "./limits.mjs";
import { SdkError, pinnedWheel } from "./sdk.mjs";
import { CompatError, eventArgs, requestSignalEnabled, selectPyodideVersion } from "./workerd.mjs";
import { decodeDeep } from "./workers/codec.mjs";

const MINIFLARE_READY_TIMEOUT_MS = 60_000;
const PYTHON_READY_TIMEOUT_MS = 120_000;
const WAIT_UNTIL_DRAIN_MS = 5_000;
const DISPOSE_TIMEOUT_MS = 10_000;

const INTERNAL_ERROR = { error: { code: "internal", message: "Internal error" } };
// With --floor-module (make bench only), requests to this path are answered by that module's
// entrypoint instead of the Worker's, in the same Pyodide, after the same front, Miniflare and shim.
const FLOOR_PATH = "/__bench/floor";

function log(message) {
  process.stderr.write(`[runtime] ${message}\n`);
}

async function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StartupError(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(err) {
  return describeError(err).trim().split("\n").at(-1);
}

class Runtime {
  constructor(opts) {
    this.opts = opts;
    this.tracker = new WaitUntilTracker();
    this.mf = null;
    this.crons = null;
    this.python = null;
    this.pythonReady = null;
  }

  async start() {
    const { opts } = this;
    const config = overrideRatelimits(loadWranglerConfig(opts.config), opts.ratelimits);
    const wanted = selectPyodideVersion(config.compatibilityDate, config.compatibilityFlags);
    const installed = installedPyodideVersion();
    if (installed !== wanted) {
      throw new StartupError(
        `compatibility_date ${config.compatibilityDate} and flags [${config.compatibilityFlags.join(", ")}] select ` +
          `Pyodide ${wanted} in production, but the npm package pyodide is ${installed ?? "not installed"}; ` +
          `install pyodide@${wanted} (npm ci)`,
      );
    }
    this.front = requestSignalEnabled(config.compatibilityFlags) ? new Front() : null;
    const srcDir = path.resolve(opts.src ?? path.dirname(config.main));
    const mainModule = path.basename(config.main, ".py");
    const persistRoot = opts.persist ? path.resolve(opts.persist) : path.join(config.root, ".wrangler", "state");

    const vars = { ...config.vars, ...opts.vars };
    this.limits = resolveLimits(config.limits, opts.plan);
    const plainFetch = countGlobalFetch();
    let bridgeUrl = null;
    const bridgeProxy = new Bridge((p, init) => {
      countSubrequest("internal"); // a binding call is a subrequest too
      return plainFetch(new URL(p, bridgeUrl), init);
    });
    this.env = buildEnv(config, vars, bridgeProxy);

    this.pythonOptions = {
      srcDir,
      mainModule,
      sdkWheel: pinnedWheel(config.root),
      compatFlags: compatFlagsModule(config.compatibilityFlags),
      entrypointHelper: entrypointHelper({ env: this.env, tracker: this.tracker }),
      floorModule: opts.floorModule && path.resolve(opts.floorModule),
    };
    this.pythonReady = PythonWorker.start(this.pythonOptions);
    this.pythonReady.catch(() => {}); // awaited below; handlers wait on it too

    this.mf = new Miniflare(this.#miniflareOptions(config, persistRoot));
    this.onMiniflareCreated?.();
    const url = await withDeadline(this.mf.ready, MINIFLARE_READY_TIMEOUT_MS, "Miniflare start");
    startWatchdog();
    bridgeUrl = await this.mf.unsafeGetDirectURL(BRIDGE_WORKER);

    this.python = await withDeadline(this.pythonReady, PYTHON_READY_TIMEOUT_MS, "Python start");
    for (const problem of this.python.arityProblems()) {
      log(`warning: ${problem}; workerd calls it with (event, env, ctx), so every such event fails (as on Cloudflare)`);
    }

    for (const d1 of config.d1) await this.#migrate(d1);

    if (opts.crons && config.crons.length) {
      try {
        this.crons = scheduleCrons(config.crons, (cron, time) => this.#fireCron(cron, time));
      } catch (err) {
        throw new StartupError(`triggers.crons: ${err.message}`);
      }
    }
    log(`Python ${this.python.pythonVersion} (Pyodide ${this.python.version}), workers-runtime-sdk ${this.python.sdkVersion}, entrypoint ${mainModule}.${this.python.entrypointName}, ` +
      `state in ${persistRoot}`);
    if (this.pythonOptions.floorModule) log(`bench floor: ${FLOOR_PATH} is answered by ${this.pythonOptions.floorModule}`);
    const port = this.front ? await this.#listenFront(url) : url.port;
    process.stdout.write(`READY http://${opts.host}:${port}\n`);
  }

  /** Put the front on the public host and port, in front of Miniflare's loopback socket. */
  async #listenFront(url) {
    try {
      return await this.front.listen(this.opts.host, this.opts.port, url);
    } catch (err) {
      throw new StartupError(`cannot listen on ${this.opts.host}:${this.opts.port}: ${err.message}`);
    }
  }

  /** Bring one D1 binding up to date as `wrangler d1 migrations apply --local` would. */
  async #migrate(d1) {
    const db = this.env[d1.binding];
    if (!existsSync(d1.migrationsDir)) {
      log(`warning: ${d1.migrationsDir} not found; no migrations applied to ${d1.binding}`);
      return;
    }
    try {
      const applied = await applyMigrations(db, d1.migrationsDir, d1.migrationsTable);
      log(`${d1.binding}: ${applied.length ? `applied ${applied.join(", ")}` : "no migrations to apply"}`);
    } catch (err) {
      throw new StartupError(`applying ${d1.migrationsDir} to ${d1.binding} failed: ${err.message}`);
    }
  }

  #miniflareOptions(config, persistRoot) {
    const queueConsumers = Object.fromEntries(config.consumers.map(({ queue, ...options }) => [queue, options]));
    return {
      // Behind the front (enable_request_signal) Miniflare takes a loopback port of its own.
      host: this.front ? "127.0.0.1" : this.opts.host,
      port: this.front ? 0 : this.opts.port,
      defaultPersistRoot: path.join(persistRoot, "v3"), // the layout wrangler uses
      unsafeTriggerHandlers: true, // GET /cdn-cgi/handler/scheduled?cron=...
      cf: false, // a placeholder Request.cf instead of downloading one
      log: new Log(LogLevel.WARN),
      workers: [
        {
          name: config.name,
          ...jsWorkerOptions("shim.mjs"),
          // With the Worker's enable_request_signal, workerd aborts the shim's request.signal when the
          // client goes, and request_signal_passthrough carries that abort into the service-binding
          // call the shim makes with the same request: Node sees its loopback request close.
          ...(this.front ? { compatibilityFlags: ["enable_request_signal", "request_signal_passthrough"] } : {}),
          serviceBindings: {
            __BV_FETCH: { node: (req, res) => this.#serveFetch(req, res) },
            __BV_EVENT: (request) => this.#handleEvent(request),
          },
          queueConsumers,
          ...(config.assets && { assets: config.assets }),
        },
        {
          ...bridgeWorkerOptions(config),
          // Its own loopback socket: Node calls it directly, skipping Miniflare's entry and proxy.
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
      ],
    };
  }

  async #serveFetch(req, res) {
    const invocation = this.#newInvocation();
    let label = `fetch ${req.method}`;
    const report = { handler: "fetch" };
    await within(invocation, async () => {
      try {
        const request = platformRequest(req, this.front?.signalFor(req.headers));
        const path = new URL(request.url).pathname;
        label = `fetch ${request.method} ${path}`;
        Object.assign(report, { method: request.method, path });
        const floor = Boolean(this.pythonOptions.floorModule) && path === FLOOR_PATH;
        let response = await this.#handleFetch(request, label, floor);
        const exceeded = invocation.exceeded(invocation.finish());
        if (exceeded) response = await this.#failInvocation(label, exceeded, response);
        Object.assign(report, { status: response.status, requestId: response.headers.get("x-request-id") ?? undefined });
        const error = await writeResponse(response, res);
        if (error) log(`${label}: response body failed mid-stream, response cut short: ${briefError(error)}`);
      } catch (err) {
        log(`${label} could not be served:\n${describeError(err)}`);
        if (!res.headersSent) await writeResponse(jsonResponse(INTERNAL_ERROR, 500), res);
        else res.destroy();
      }
    });
    this.#report(invocation, report);
  }

  async #handleFetch(request, label, floor) {
    try {
      const python = await this.pythonReady;
      const ctx = new ExecutionContext(this.tracker, label);
      const response = await python.call("fetch", { ctx, env: this.env, floor }, ...eventArgs(request));
      if (!(response instanceof Response)) {
        throw new TypeError(`fetch returned ${response?.constructor?.name ?? response}, not a Response`);
      }
      return response;
    } catch (err) {
      log(`${label} raised:\n${describeError(err)}`);
      return jsonResponse(INTERNAL_ERROR, 500);
    }
  }

  #newInvocation() {
    return new Invocation(this.limits, () => this.python?.heapBytes ?? 0);
  }

  /**
   * Past the memory or CPU limit production ends the invocation with workerd's own error (not the
   * Worker's response) and, for memory, discards the isolate: so does the runtime.
   */
  async #failInvocation(label, exceeded, response) {
    log(`${label}: ${exceeded} (limits ${JSON.stringify(this.limits)}); the invocation fails as on Cloudflare`);
    await response.body?.cancel().catch(() => {});
    if (exceeded === "exceededMemory") this.#recyclePython();
    return new Response("Worker exceeded resource limits", { status: 503, headers: { "content-type": "text/plain" } });
  }

  #recyclePython() {
    log("starting a new Python isolate: the old one exceeded the memory limit");
    this.python = null;
    this.pythonReady = PythonWorker.start(this.pythonOptions);
    this.pythonReady.then((python) => { this.python = python; }, (err) => log(`Python restart failed:\n${describeError(err)}`));
  }

  /** The per-invocation JSON line, like the invocation metadata of Workers Logs. */
  #report(invocation, details) {
    const figures = invocation.finish();
    const outcome = invocation.exceeded(figures) ?? details.outcome ?? "ok";
    process.stdout.write(`${JSON.stringify({ event: "invocation", ...details, outcome, ...figures })}\n`);
  }

  /** Run an event handler as one invocation: reported, and failed past the memory or CPU limit. */
  async #invokeEvent(details, body) {
    const invocation = this.#newInvocation();
    let outcome = "ok";
    try {
      const result = await within(invocation, body);
      const exceeded = invocation.exceeded(invocation.finish());
      if (exceeded) {
        if (exceeded === "exceededMemory") this.#recyclePython();
        throw new Error(`Worker exceeded resource limits (${exceeded})`);
      }
      return result;
    } catch (err) {
      outcome = "exception";
      throw err;
    } finally {
      this.#report(invocation, { ...details, outcome });
    }
  }

  async #handleEvent(request) {
    const kind = new URL(request.url).pathname.slice(1);
    const payload = await request.json();
    const python = await this.pythonReady;
    if (kind === "queue") {
      const messages = payload.messages.map((m) => ({ ...m, body: decodeDeep(m.body) }));
      const batch = new MessageBatch(payload.queue, messages);
      const ctx = new ExecutionContext(this.tracker, `queue ${payload.queue}`);
      try {
        const details = { handler: "queue", queue: payload.queue, messages: messages.length };
        await this.#invokeEvent(details, () => python.call("queue", { ctx, env: this.env }, ...eventArgs(batch)));
        return jsonResponse({ calls: recordedCalls(batch) });
      } catch (err) {
        log(`queue ${payload.queue} (${messages.length} messages) raised:\n${describeError(err)}`);
        return jsonResponse({ calls: recordedCalls(batch), error: { name: "Error", message: firstLine(err) } });
      }
    }
    if (kind === "scheduled") {
      const controller = new ScheduledController(payload);
      const ctx = new ExecutionContext(this.tracker, `scheduled ${payload.cron}`);
      try {
        const details = { handler: "scheduled", cron: payload.cron };
        await this.#invokeEvent(details, () => python.call("scheduled", { ctx, env: this.env }, ...eventArgs(controller)));
        return jsonResponse({});
      } catch (err) {
        log(`scheduled "${payload.cron}" raised:\n${describeError(err)}`);
        return jsonResponse({ error: { name: "Error", message: firstLine(err) } });
      }
    }
    return jsonResponse({ error: { name: "TypeError", message: `unknown event ${kind}` } });
  }

  async #fireCron(cron, time) {
    try {
      const query = new URLSearchParams({ cron, time: String(time) });
      const res = await this.mf.dispatchFetch(`http://localhost/cdn-cgi/handler/scheduled?${query}`);
      const outcome = await res.text();
      if (!res.ok) log(`cron "${cron}" outcome: ${outcome}`);
    } catch (err) {
      log(`cron "${cron}" could not be dispatched: ${describeError(err)}`);
    }
  }

  async stop() {
    this.crons?.stop();
    await this.front?.close();
    if (this.tracker.size) await this.tracker.drain(WAIT_UNTIL_DRAIN_MS);
    if (this.mf) {
      const mf = this.mf;
      this.mf = null;
      // A Miniflare that failed to start rejects dispose() with its start error again: not news.
      await withDeadline(mf.dispose(), DISPOSE_TIMEOUT_MS, "Miniflare dispose").catch((err) => {
        if (err instanceof StartupError) log(err.message);
      });
    }
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    log(err.message);
    return 2;
  }
  const runtime = new Runtime(opts);
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) process.exit(130); // a second signal: do not wait any longer
    stopping = true;
    log(`${signal}: shutting down`);
    try {
      await runtime.stop();
    } finally {
      process.exit(0);
    }
  };
  const handlers = { SIGINT: () => stop("SIGINT"), SIGTERM: () => stop("SIGTERM") };
  const claimSignals = () => {
    // Miniflare's exit hook would kill workerd and exit 130/143 at once; shut down in order instead.
    // Its "exit" listener stays, so workerd is still killed if this process exits another way.
    for (const [signal, handler] of Object.entries(handlers)) {
      for (const listener of process.listeners(signal)) if (listener !== handler) process.removeListener(signal, listener);
      if (!process.listeners(signal).includes(handler)) process.on(signal, handler);
    }
  };
  claimSignals();
  runtime.onMiniflareCreated = claimSignals;
  // A reader that went away (EPIPE) must not turn every later log line into another error.
  process.stdout.on("error", () => {});
  process.stderr.on("error", () => {});
  // Print errors compactly: Node's default handler would dump a line of Pyodide's minified source.
  process.on("unhandledRejection", (err) => log(`unhandled rejection:\n${describeError(err)}`));
  process.on("uncaughtException", (err) => {
    log(`uncaught exception:\n${describeError(err)}`);
    if (/fatal error/i.test(String(err?.message))) process.exit(1);
  });

  try {
    await runtime.start();
    return null; // keep serving until a signal arrives
  } catch (err) {
    const expected = err instanceof ConfigError || err instanceof CompatError || err instanceof SdkError || err instanceof StartupError || err?.constructor?.name === "MiniflareCoreError";
    log(expected ? err.message : describeError(err));
    await runtime.stop();
    return 1;
  }
}

const code = await main();
if (code !== null) process.exit(code);
