// Command line and wrangler.toml reading for the local runtime. No business logic.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";

const USAGE = `usage: node runtime/main.mjs [--config wrangler.toml] [--host 127.0.0.1] [--port 8787]
         [--persist .wrangler/state] [--var KEY=VALUE ...] [--ratelimit NAME=LIMIT ...] [--src DIR] [--no-crons]
         [--plan paid|free] [--floor-module FILE]`;

export class ConfigError extends Error {
  name = "ConfigError";
}

/** Parse argv (without node and script) into options; unknown flags are errors. */
export function parseArgs(argv) {
  const opts = {
    config: "wrangler.toml", host: "127.0.0.1", port: 8787, persist: null, vars: {}, ratelimits: {}, src: null, crons: true,
    plan: "paid", floorModule: null,
  };
  const takesValue = new Set(["--config", "--host", "--port", "--persist", "--var", "--ratelimit", "--src", "--plan", "--floor-module"]);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0 && takesValue.has(arg.slice(0, eq))) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === "--help" || arg === "-h") throw new ConfigError(USAGE);
    if (arg === "--no-crons") { opts.crons = false; continue; }
    if (!takesValue.has(arg)) throw new ConfigError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new ConfigError(`${arg} needs a value\n${USAGE}`);
      value = argv[++i];
    }
    switch (arg) {
      case "--config": opts.config = value; break;
      case "--host": opts.host = value; break;
      case "--persist": opts.persist = value; break;
      case "--src": opts.src = value; break;
      case "--floor-module": opts.floorModule = value; break;
      case "--plan":
        if (value !== "paid" && value !== "free") throw new ConfigError(`--plan must be paid or free, got ${value}`);
        opts.plan = value;
        break;
      case "--port": {
        const port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port must be 0..65535, got ${value}`);
        opts.port = port;
        break;
      }
      case "--var": {
        const at = value.indexOf("=");
        if (at <= 0) throw new ConfigError(`--var needs KEY=VALUE, got ${JSON.stringify(value)}`);
        opts.vars[value.slice(0, at)] = value.slice(at + 1);
        break;
      }
      case "--ratelimit": {
        const [name, limit] = value.split("=");
        if (!name || !/^[1-9]\d*$/.test(limit ?? "")) throw new ConfigError(`--ratelimit needs NAME=LIMIT (a positive integer), got ${JSON.stringify(value)}`);
        opts.ratelimits[name] = Number(limit);
        break;
      }
    }
  }
  return opts;
}

function need(cond, message) {
  if (!cond) throw new ConfigError(message);
}

/** Read wrangler.toml into the subset this runtime implements; errors name the key. */
export function loadWranglerConfig(configPath) {
  const file = path.resolve(configPath);
  let raw;
  try {
    raw = parseToml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${err.message}`);
  }
  const root = path.dirname(file);
  need(typeof raw.main === "string" && raw.main.endsWith(".py"), `${file}: "main" must name a .py file`);
  need(/^\d{4}-\d{2}-\d{2}$/.test(raw.compatibility_date ?? ""), `${file}: "compatibility_date" must be YYYY-MM-DD`);
  const flags = raw.compatibility_flags ?? [];
  need(Array.isArray(flags), `${file}: "compatibility_flags" must be an array`);

  const vars = {};
  for (const [key, value] of Object.entries(raw.vars ?? {})) {
    // The platform passes string vars as strings and anything else as parsed JSON.
    vars[key] = value;
  }
  const r2 = (raw.r2_buckets ?? []).map((b, i) => {
    need(b.binding && b.bucket_name, `${file}: r2_buckets[${i}] needs binding and bucket_name`);
    return { binding: b.binding, id: b.bucket_name };
  });
  const d1 = (raw.d1_databases ?? []).map((d, i) => {
    need(d.binding, `${file}: d1_databases[${i}] needs binding`);
    // Same id derivation as `wrangler dev` / `wrangler d1 execute --local`, so both see one SQLite file.
    return {
      binding: d.binding,
      name: d.database_name,
      id: d.preview_database_id ?? d.database_id ?? d.binding,
      // wrangler's defaults for `d1 migrations apply`.
      migrationsDir: path.resolve(root, d.migrations_dir ?? "migrations"),
      migrationsTable: d.migrations_table ?? "d1_migrations",
    };
  });
  const queues = raw.queues ?? {};
  const producers = (queues.producers ?? []).map((p, i) => {
    need(p.binding && p.queue, `${file}: queues.producers[${i}] needs binding and queue`);
    return { binding: p.binding, queue: p.queue, deliveryDelay: p.delivery_delay };
  });
  const consumers = (queues.consumers ?? []).map((c, i) => {
    need(c.queue, `${file}: queues.consumers[${i}] needs queue`);
    return {
      queue: c.queue,
      maxBatchSize: c.max_batch_size,
      maxBatchTimeout: c.max_batch_timeout,
      maxRetries: c.max_retries,
      deadLetterQueue: c.dead_letter_queue,
      retryDelay: c.retry_delay,
    };
  });
  const ratelimits = (raw.ratelimits ?? []).map((r, i) => {
    need(r.name && typeof r.namespace_id === "string", `${file}: ratelimits[${i}] needs name and namespace_id (a string)`);
    const limit = r.simple?.limit;
    const period = r.simple?.period;
    // As workerd and Miniflare accept: a positive limit per period of 10 or 60 seconds.
    need(Number.isInteger(limit) && limit > 0, `${file}: ratelimits[${i}].simple.limit must be a positive integer`);
    need(period === 10 || period === 60, `${file}: ratelimits[${i}].simple.period must be 10 or 60`);
    return { binding: r.name, namespaceId: r.namespace_id, limit, period };
  });
  const assets = assetsConfig(raw.assets, root, file);
  const crons = raw.triggers?.crons ?? [];
  need(Array.isArray(crons), `${file}: triggers.crons must be an array`);
  return {
    file,
    root,
    name: raw.name ?? "worker",
    main: path.resolve(root, raw.main),
    compatibilityDate: raw.compatibility_date,
    compatibilityFlags: flags,
    vars,
    r2,
    d1,
    producers,
    consumers,
    ratelimits,
    crons,
    limits: raw.limits ?? {},
    assets,
  };
}

/** `[assets]` as Miniflare's asset options: the static files its asset router serves in front of the Worker. */
function assetsConfig(assets, root, file) {
  if (assets === undefined) return null;
  need(typeof assets.directory === "string", `${file}: assets.directory must name a folder`);
  // Python reaches bindings through bindings.mjs, which has no assets binding: refuse rather than leave it missing.
  need(assets.binding === undefined, `${file}: assets.binding is not implemented by the local runtime`);
  need(assets.run_worker_first === undefined || typeof assets.run_worker_first === "boolean",
    `${file}: assets.run_worker_first must be true or false here (route patterns are not implemented)`);
  return {
    directory: path.resolve(root, assets.directory),
    routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: assets.run_worker_first ?? false },
    assetConfig: { html_handling: assets.html_handling, not_found_handling: assets.not_found_handling },
  };
}

/** `config` with the `simple.limit` of named [[ratelimits]] replaced (tests and benchmarks); unknown names are errors. */
export function overrideRatelimits(config, limits) {
  const known = new Set(config.ratelimits.map((r) => r.binding));
  for (const name of Object.keys(limits)) need(known.has(name), `--ratelimit ${name}: no [[ratelimits]] named ${name} in ${config.file}`);
  return { ...config, ratelimits: config.ratelimits.map((r) => ({ ...r, limit: limits[r.binding] ?? r.limit })) };
}

// Compat flags the workers SDK reads through `_cloudflare_compat_flags`; off unless listed.
const SDK_COMPAT_FLAGS = ["python_workflows_implicit_dependencies", "python_request_headers_preserve_commas"];

export function compatFlagsModule(flags) {
  const module = {};
  for (const flag of SDK_COMPAT_FLAGS) module[flag] = false;
  for (const flag of flags) module[flag] = true;
  return module;
}
