// The workers SDK the runtime loads: exactly the workers-runtime-sdk that pyproject.toml's [project]
// dependencies pin (what `pywrangler deploy` vendors), its wheel fetched at install time by
// fetch-sdk.mjs and checked against uv.lock's sha256.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseToml } from "smol-toml";

export const SDK_PACKAGE = "workers-runtime-sdk";
const CACHE_DIR = path.join("node_modules", ".cache", SDK_PACKAGE);

export class SdkError extends Error {
  name = "SdkError";
}

function readToml(file) {
  try {
    return parseToml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new SdkError(`cannot read ${file}: ${err.message}`);
  }
}

/** The version pyproject.toml pins in [project] dependencies as `workers-runtime-sdk==X`. */
export function pinnedVersion(root) {
  const file = path.join(root, "pyproject.toml");
  const dependencies = readToml(file).project?.dependencies ?? [];
  const pins = dependencies.map((spec) => new RegExp(`^${SDK_PACKAGE}\\s*==\\s*([\\w.]+)$`).exec(String(spec).trim())).filter(Boolean);
  if (pins.length !== 1) throw new SdkError(`${file}: [project] dependencies must pin "${SDK_PACKAGE}==<version>" once`);
  return pins[0][1];
}

/** The pinned SDK's wheel: version, file name, sha256 (from uv.lock) and where install puts it. */
export function pinnedWheel(root) {
  const version = pinnedVersion(root);
  const lockFile = path.join(root, "uv.lock");
  const locked = (readToml(lockFile).package ?? []).find((p) => p.name === SDK_PACKAGE);
  if (locked?.version !== version) {
    throw new SdkError(`${lockFile} has ${SDK_PACKAGE} ${locked?.version ?? "missing"}, pyproject.toml pins ${version}: run uv lock`);
  }
  const wheel = (locked.wheels ?? []).find((w) => w.url.endsWith("-py3-none-any.whl"));
  if (!wheel?.hash?.startsWith("sha256:")) throw new SdkError(`${lockFile}: no pure-Python wheel with a sha256 for ${SDK_PACKAGE} ${version}`);
  const filename = decodeURIComponent(wheel.url.split("/").at(-1));
  return { version, filename, sha256: wheel.hash.slice("sha256:".length), path: path.join(root, CACHE_DIR, filename) };
}

/** The wheel's bytes as a plain Uint8Array (Pyodide refuses a Node Buffer), checked against uv.lock. */
export function readWheel(wheel) {
  let bytes;
  try {
    bytes = readFileSync(wheel.path);
  } catch (err) {
    throw new SdkError(`${SDK_PACKAGE} ${wheel.version} is not installed (${wheel.path}, ${err.code}): run make install`);
  }
  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== wheel.sha256) throw new SdkError(`${wheel.path}: sha256 ${digest}, uv.lock says ${wheel.sha256}: run make install`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
