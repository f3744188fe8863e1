// The runtime loads the pinned SDK and calls a WorkerEntrypoint's handlers by workerd's rules, no
// kinder (Pyodide only, no Miniflare; a few seconds):
//   node --test runtime/smoke/handlers.test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { compatFlagsModule } from "../config.mjs";
import { ScheduledController, WaitUntilTracker, entrypointHelper } from "../context.mjs";
import { PythonWorker } from "../python.mjs";
import { pinnedVersion, pinnedWheel } from "../sdk.mjs";
import { eventArgs } from "../workerd.mjs";

const WORKER = `
from workers import WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return "fetch saw " + request

    async def queue(self, batch):
        return "a one-argument queue handler ran"

    async def scheduled(self, controller, env, ctx):
        return [controller.cron, env is None, ctx is None, self.env.NAME]
`;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
let srcDir;
let worker;
const env = { NAME: "from self.env" };
const call = (prop, ...args) => worker.call(prop, { ctx: {}, env }, ...args);

before(async () => {
  srcDir = mkdtempSync(path.join(tmpdir(), "runtime-handlers-"));
  writeFileSync(path.join(srcDir, "entry.py"), WORKER);
  worker = await PythonWorker.start({
    srcDir, mainModule: "entry", sdkWheel: pinnedWheel(ROOT), compatFlags: compatFlagsModule(["python_workers"]),
    entrypointHelper: entrypointHelper({ env, tracker: new WaitUntilTracker() }),
  });
});

after(() => rmSync(srcDir, { recursive: true, force: true }));

test("Python imports the workers SDK that pyproject.toml pins, the one pywrangler ships", () => {
  assert.equal(worker.sdkVersion, pinnedVersion(ROOT));
});

test("fetch is called relaxed: a one-parameter fetch takes the three arguments", async () => {
  assert.equal(await call("fetch", ...eventArgs("a request")), "fetch saw a request");
});

test("queue is called strictly: a handler declared queue(self, batch) fails as on Cloudflare", async () => {
  await assert.rejects(call("queue", ...eventArgs({ queue: "q", messages: [] })), /TypeError: .*queue\(\) takes 2 positional arguments but 4 were given/);
});

test("scheduled gets (controller, None, None); env and ctx are on the instance", async () => {
  const controller = new ScheduledController({ cron: "*/15 * * * *", scheduledTime: 0 });
  assert.deepEqual(await call("scheduled", ...eventArgs(controller)), ["*/15 * * * *", true, true, "from self.env"]);
});

test("a strict handler with too few parameters is reported at start", () => {
  assert.deepEqual(worker.arityProblems(), ["Default.queue(self, batch): too many positional arguments"]);
});

test("the project's src/entry.py declares every handler the way workerd calls it", async () => {
  const project = await PythonWorker.start({
    srcDir: path.join(ROOT, "src"), mainModule: "entry", sdkWheel: pinnedWheel(ROOT),
    compatFlags: compatFlagsModule(["python_workers"]), entrypointHelper: entrypointHelper({ env, tracker: new WaitUntilTracker() }),
  });
  assert.deepEqual(project.arityProblems(), []);
});

test("a handler the class does not define is workerd's TypeError", async () => {
  await assert.rejects(call("alarm", ...eventArgs(null)), /Method alarm does not exist/);
});
