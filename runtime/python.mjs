// The Python side of the runtime: Pyodide from npm, the workers SDK wheel, the worker's
// modules, and calls into its WorkerEntrypoint. No business logic.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readWheel } from "./sdk.mjs";
import { EVENT_ARITY, STRICT_EVENT_HANDLERS, callMode } from "./workerd.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

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

/**
 * The Worker's other dependencies (msgpack) as wheels: npm's pyodide ships none, so `make install`
 * builds pure-Python ones from the sdists uv.lock pins into node_modules/.cache/python-deps, beside
 * the SDK's cache folder.
 */
function dependencyWheels(sdkWheel) {
  const dir = path.join(path.dirname(path.dirname(sdkWheel.path)), "python-deps");
  let names;
  try {
    names = readdirSync(dir).filter((name) => name.endsWith(".whl")).sort();
  } catch (err) {
    throw new StartupError(`the Worker's dependency wheels are not built (${dir}, ${err.code}): run make install`);
  }
  return names.map((name) => {
    const bytes = readFileSync(path.join(dir, name));
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  });
}

/** Every *.py file under dir (skipping caches and hidden folders), as absolute paths. */
function pythonFiles(dir) {
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

// The module name the bench's floor (--floor-module) is imported as.
const FLOOR_MODULE_NAME = "_bv_bench_floor";

/** Copy a file into the Python filesystem at its own absolute path, so tracebacks name the real file. */
function copyIn(pyodide, file) {
  pyodide.FS.mkdirTree(path.dirname(file));
  pyodide.FS.writeFile(file, new Uint8Array(readFileSync(file)));
}

export class PythonWorker {
  #pyodide;
  #dispatch;
  #entrypoint;
  #floor = null;

  /**
   * Load Pyodide, the SDK wheel (sdk.mjs pinnedWheel) and the dependency wheels, copy srcDir into
   * the Python filesystem at the same absolute path (so tracebacks name real files) and import
   * mainModule from it; with floorModule (make bench only), import that file too, into the same
   * interpreter, as a second entrypoint (see `call`).
   */
  static async start({ srcDir, mainModule, sdkWheel, compatFlags, entrypointHelper, floorModule = null }) {
    const wheel = readWheel(sdkWheel);
    const dependencies = dependencyWheels(sdkWheel);
    const { loadPyodide } = await import("pyodide");
    const pyodide = await loadPyodide({ args: [], env: { HOME: "/home/pyodide" } });
    pyodide.setStdout(lineWriter(process.stdout));
    pyodide.setStderr(lineWriter(process.stderr));
    pyodide.unpackArchive(wheel, "wheel");
    for (const dependency of dependencies) pyodide.unpackArchive(dependency, "wheel");
    pyodide.registerJsModule("_cloudflare_compat_flags", compatFlags);
    pyodide.registerJsModule("_pyodide_entrypoint_helper", entrypointHelper);

    const root = path.resolve(srcDir);
    if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) throw new StartupError(`source folder ${root} does not exist`);
    for (const file of pythonFiles(root)) copyIn(pyodide, file);
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
    if (floorModule) worker.#floor = worker.#loadFloor(floorModule);
    return worker;
  }

  #loadFloor(file) {
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) throw new StartupError(`floor module ${file} does not exist`);
    copyIn(this.#pyodide, file);
    try {
      return this.#dispatch.load_entrypoint(FLOOR_MODULE_NAME, file);
    } catch (err) {
      throw new StartupError(`importing the floor module ${file} failed:\n${describeError(err)}`);
    }
  }

  get version() {
    return this.#pyodide.version;
  }

  /** The size of Pyodide's WebAssembly memory: it only grows, and the isolate's 128 MB covers it. */
  get heapBytes() {
    return this.#pyodide._module.HEAP8.buffer.byteLength;
  }

  get pythonVersion() {
    return this.#pyodide.runPython("import platform; platform.python_version()");
  }

  /** The version of the `workers` SDK Python imports, from its installed distribution metadata. */
  get sdkVersion() {
    return this.#pyodide.runPython("from importlib.metadata import version; version('workers-runtime-sdk')");
  }

  get entrypointName() {
    return this.#entrypoint.__name__;
  }

  /** Strict event handlers the entrypoint declares with a signature workerd's call would not fit. */
  arityProblems() {
    return this.#dispatch.arity_problems(this.#entrypoint, STRICT_EVENT_HANDLERS, EVENT_ARITY).toJs();
  }

  /**
   * Construct the entrypoint with (ctx, env) and await handler `prop`, called as workerd calls it;
   * with `floor`, the floor module's entrypoint instead of the Worker's, in the same way.
   */
  async call(prop, { ctx, env, floor = false }, ...args) {
    const entrypoint = floor ? this.#floor : this.#entrypoint;
    if (!entrypoint) throw new TypeError("no floor module is loaded (--floor-module)");
    return this.#dispatch.invoke(entrypoint, ctx, env, prop, callMode(prop), ...args);
  }
}
