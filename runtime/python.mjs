// The Python side of the runtime: Pyodide from npm, the workers SDK wheel, the worker's
// modules, and calls into its WorkerEntrypoint. No business logic.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// The workers SDK is vendored (41 KB, pure Python) so a fresh clone runs offline;
// `node runtime/fetch-sdk.mjs` downloads it again with pip and checks this digest.
export const SDK_WHEEL = path.join(HERE, "vendor", "workers_runtime_sdk-1.9.5-py3-none-any.whl");
export const SDK_WHEEL_SHA256 = "f2b912660a3ab60d2a24920106422f9eaf4cd7a794e42b022237ad2444287fef";
// The Worker's own dependencies, which npm's pyodide ships no wheels for: `make install` builds
// them as pure-Python wheels from hash-checked PyPI sdists (see the Makefile).
export const DEPENDENCY_WHEELS = [path.join(HERE, "vendor", "msgpack-1.1.2-py3-none-any.whl")];

export class StartupError extends Error {
  name = "StartupError";
}

/** The version of the npm `pyodide` package that is installed, or null. */
export function installedPyodideVersion() {
  try {
    return JSON.parse(readFileSync(require.resolve("pyodide/package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

function readWheel() {
  let bytes;
  try {
    bytes = readFileSync(SDK_WHEEL);
  } catch (err) {
    throw new StartupError(`workers SDK wheel missing (${SDK_WHEEL}): run node runtime/fetch-sdk.mjs (${err.code})`);
  }
  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== SDK_WHEEL_SHA256) throw new StartupError(`${SDK_WHEEL}: sha256 ${digest}, expected ${SDK_WHEEL_SHA256}`);
  return plainBytes(bytes);
}

function readDependencyWheel(file) {
  try {
    return plainBytes(readFileSync(file));
  } catch (err) {
    throw new StartupError(`dependency wheel missing (${file}): run make install (${err.code})`);
  }
}

// Pyodide wants a plain Uint8Array, not a Node Buffer.
function plainBytes(bytes) {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Every *.py file under dir (skipping caches and hidden folders), as absolute paths. */
export function pythonFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "__pycache__") continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...pythonFiles(full));
    else if (entry.isFile() && entry.name.endsWith(".py")) out.push(full);
  }
  return out;
}

function lineWriter(stream) {
  return { batched: (line) => stream.write(`${line}\n`) };
}

function isPythonError(err) {
  return err?.constructor?.name === "PythonError" || typeof err?.type === "string";
}

/** An error thrown by Python as its traceback, one thrown by JS with its stack. */
export function describeError(err) {
  if (isPythonError(err)) return String(err.message).trimEnd();
  return err?.stack ?? String(err);
}

/** Like describeError, without JS stacks (those of errors made in Python are wasm frames). */
export function briefError(err) {
  if (isPythonError(err)) return String(err.message).trimEnd();
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export class PythonWorker {
  #pyodide;
  #dispatch;
  #entrypoint;

  /**
   * Load Pyodide and the SDK, copy srcDir into the Python filesystem at the same absolute
   * path (so tracebacks name real files) and import mainModule from it.
   */
  static async start({ srcDir, mainModule, compatFlags, entrypointHelper }) {
    const { loadPyodide } = await import("pyodide");
    const pyodide = await loadPyodide({ args: [], env: { HOME: "/home/pyodide" } });
    pyodide.setStdout(lineWriter(process.stdout));
    pyodide.setStderr(lineWriter(process.stderr));
    pyodide.unpackArchive(readWheel(), "wheel");
    for (const wheel of DEPENDENCY_WHEELS) pyodide.unpackArchive(readDependencyWheel(wheel), "wheel");
    pyodide.registerJsModule("_cloudflare_compat_flags", compatFlags);
    pyodide.registerJsModule("_pyodide_entrypoint_helper", entrypointHelper);

    const root = path.resolve(srcDir);
    if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new StartupError(`source folder ${root} does not exist`);
    for (const file of pythonFiles(root)) {
      pyodide.FS.mkdirTree(path.dirname(file));
      pyodide.FS.writeFile(file, new Uint8Array(readFileSync(file)));
    }
    pyodide.FS.mkdirTree("/runtime");
    pyodide.FS.writeFile("/runtime/_bv_runtime_dispatch.py", readFileSync(path.join(HERE, "dispatch.py"), "utf8"));
    const sys = pyodide.pyimport("sys");
    sys.path.insert(0, "/runtime");
    sys.path.insert(0, root);
    sys.destroy();

    const worker = new PythonWorker();
    worker.#pyodide = pyodide;
    try {
      pyodide.pyimport(mainModule).destroy();
      worker.#dispatch = pyodide.pyimport("_bv_runtime_dispatch");
      worker.#entrypoint = worker.#dispatch.find_entrypoint(mainModule);
    } catch (err) {
      throw new StartupError(`importing ${mainModule} from ${root} failed:\n${describeError(err)}`);
    }
    return worker;
  }

  get version() {
    return this.#pyodide.version;
  }

  get pythonVersion() {
    return this.#pyodide.runPython("import platform; platform.python_version()");
  }

  get entrypointName() {
    return this.#entrypoint.__name__;
  }

  /** Construct the entrypoint with (ctx, env) and await handler `prop` with JS arguments. */
  async call(prop, { ctx, env, relaxed = false }, ...args) {
    return this.#dispatch.invoke(this.#entrypoint, ctx, env, prop, relaxed, ...args);
  }
}
