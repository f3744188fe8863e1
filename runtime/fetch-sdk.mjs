#!/usr/bin/env node
// Re-download the vendored workers SDK wheel from PyPI with pip and check its digest.
// The wheel is committed (41 KB), so this is only needed to verify or restore it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SDK_WHEEL, SDK_WHEEL_SHA256 } from "./python.mjs";

const SPEC = "workers-runtime-sdk==1.9.5";
const PIP_TIMEOUT_MS = 120_000;

const dir = mkdtempSync(path.join(tmpdir(), "workers-sdk-"));
try {
  const python = process.env.PYTHON ?? "python3";
  execFileSync(python, ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", SPEC, "-d", dir], {
    stdio: ["ignore", "inherit", "inherit"],
    timeout: PIP_TIMEOUT_MS,
  });
  const downloaded = path.join(dir, path.basename(SDK_WHEEL));
  const digest = createHash("sha256").update(readFileSync(downloaded)).digest("hex");
  if (digest !== SDK_WHEEL_SHA256) {
    console.error(`sha256 mismatch for ${SPEC}: got ${digest}, expected ${SDK_WHEEL_SHA256}`);
    process.exitCode = 1;
  } else {
    mkdirSync(path.dirname(SDK_WHEEL), { recursive: true });
    copyFileSync(downloaded, SDK_WHEEL);
    console.log(`${SDK_WHEEL} ok (${digest})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
