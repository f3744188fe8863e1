#!/usr/bin/env node
// Copy the browser libraries the pages use (pinned in package-lock.json) from node_modules into
// assets/vendor/, so the Worker serves them itself: nothing comes from a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FILES = {
  "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
  "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
  "swagger-ui-dist/LICENSE": "swagger-ui.LICENSE.txt",
  "uplot/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
  "uplot/dist/uPlot.min.css": "uPlot.min.css",
  "uplot/LICENSE": "uPlot.LICENSE.txt",
};

const target = path.join(ROOT, "assets", "vendor");
mkdirSync(target, { recursive: true });
for (const [from, to] of Object.entries(FILES)) {
  copyFileSync(path.join(ROOT, "node_modules", from), path.join(target, to));
}
console.log(`assets/vendor: ${Object.values(FILES).join(", ")}`);
