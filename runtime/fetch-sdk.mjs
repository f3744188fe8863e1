#!/usr/bin/env node
// Install step: download the workers-runtime-sdk wheel that pyproject.toml pins, with pip, and keep it
// where the runtime loads it from once its sha256 matches uv.lock.
//   node runtime/fetch-sdk.mjs [project root]      (PYTHON names a python with pip; default python3)
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SDK_PACKAGE, SdkError, pinnedWheel, readWheel } from "./sdk.mjs";

const PIP_TIMEOUT_MS = 120_000;

const wheel = pinnedWheel(path.resolve(process.argv[2] ?? "."));
const dir = mkdtempSync(path.join(tmpdir(), "workers-sdk-"));
try {
  execFileSync(process.env.PYTHON ?? "python3",
    ["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", `${SDK_PACKAGE}==${wheel.version}`, "-d", dir],
    { stdio: ["ignore", "inherit", "inherit"], timeout: PIP_TIMEOUT_MS });
  readWheel({ ...wheel, path: path.join(dir, wheel.filename) });
  mkdirSync(path.dirname(wheel.path), { recursive: true });
  copyFileSync(path.join(dir, wheel.filename), wheel.path);
  console.log(`${wheel.path} (sha256 ${wheel.sha256})`);
} catch (err) {
  console.error(err instanceof SdkError ? err.message : String(err.message ?? err));
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
