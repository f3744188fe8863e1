// The runtime's child processes: finding them, and not leaving them behind. No business logic.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** This process's child processes (workerd, which Miniflare starts), from /proc. */
export function childPids(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return []; // no /proc: not Linux
  }
}

/**
 * After a SIGKILL nothing in this process runs, and workerd would live on holding the port. A
 * watchdog outside it holds a pipe from it: when the pipe closes (this process is gone, however it
 * ended) the watchdog kills what were our children.
 */
export function startWatchdog() {
  const pids = childPids(process.pid);
  if (!pids.length) return;
  const dog = spawn("sh", ["-c", `cat >/dev/null; kill -9 ${pids.join(" ")} 2>/dev/null`], {
    detached: true, stdio: ["pipe", "ignore", "ignore"],
  });
  dog.unref();
  dog.stdin.unref?.();
  dog.stdin.on("error", () => {});
}
