"""Real servers on loopback, for the simulator and end-to-end tests and the benchmark alike.

Start the FlightDeck simulator and the local Worker runtime as child processes (each prints
`READY <url>`), talk HTTP to them, poll with a deadline, and query the runtime's persisted D1
with `wrangler d1 execute --local`. A server can be watched: every exchange with it is then
checked (the end-to-end tests check the worker's answers against its OpenAPI document).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_DEADLINE_S = 120
STOP_DEADLINE_S = 15
REQUEST_TIMEOUT_S = 60
D1_ATTEMPTS = 3
D1_TIMEOUT_S = 120

ExchangeCheck = Callable[[str, str, int, dict[str, str], bytes], None]
WATCHED: dict[str, ExchangeCheck] = {}


@dataclass
class Server:
    """A child process that printed `READY <url>`; its output is kept for when it dies."""

    process: subprocess.Popen
    url: str
    output: list[str]
    reader: threading.Thread

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Send `sig` (SIGKILL after a grace period) to this process only; return all it printed."""
        self.process.send_signal(sig)
        try:
            self.process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(STOP_DEADLINE_S)
        self.process.stdout.close()  # type: ignore[union-attr]
        return "".join(self.output)

    def log(self) -> str:
        return "".join(self.output[-200:])


def start(command: list[str], deadline_s: float = START_DEADLINE_S) -> Server:
    """Start `command` in the repository and wait (bounded) for its `READY <url>` line."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    ready = threading.Event()
    found: list[str] = []

    def pump() -> None:  # keep draining, so the child never blocks on a full pipe
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if line.startswith("READY ") and not ready.is_set():
                found.append(line.split()[1].rstrip("/"))
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    server = Server(process, found[0] if ready.wait(deadline_s) and found else "", output, reader)
    if not server.url:
        server.stop()
        raise RuntimeError(f"{command[0]} did not start within {deadline_s:g} s:\n{''.join(output[-100:])}")
    return server


def start_simulator(*options: str) -> Server:
    return start([sys.executable, "-m", "simulator", "--host", HOST, "--port", "0", *options])


def start_worker(simulator_url: str, persist: Path, ratelimits: dict[str, int] | None = None,
                 floor_module: Path | None = None, **variables: str) -> Server:
    """The local runtime on `src/entry.py`; with `floor_module`, it also answers make bench's floor path."""
    # Crons off: callers trigger scheduled() themselves, never mid-run on the clock.
    command = ["node", "runtime/main.mjs", "--host", HOST, "--port", "0", "--no-crons",
               "--persist", str(persist), "--var", f"FLIGHTDECK_BASE_URL={simulator_url}/api"]
    if floor_module is not None:
        command += ["--floor-module", str(floor_module)]
    for key, value in variables.items():
        command += ["--var", f"{key}={value}"]
    for name, limit in (ratelimits or {}).items():
        command += ["--ratelimit", f"{name}={limit}"]
    return start(command)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)

    def timing(self) -> dict[str, float]:
        """`Server-Timing` as {name: ms}."""
        out = {}
        for part in self.headers.get("server-timing", "").split(","):
            name, _, rest = part.strip().partition(";dur=")
            if name and rest:
                out[name] = float(rest)
        return out


def request(method: str, url: str, headers: dict | None = None, data: object = None,
            timeout: float = REQUEST_TIMEOUT_S) -> Reply:
    """One HTTP exchange with a loopback server; `data` is sent as JSON."""
    assert urlsplit(url).hostname == HOST, url
    body = json.dumps(data).encode() if data is not None else None
    sent = {"content-type": "application/json"} if body else {}
    sent.update(headers or {})
    req = urllib.request.Request(url, data=body, method=method, headers=sent)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            payload, status, got = response.read(), response.status, response.headers
    except urllib.error.HTTPError as error:
        payload, status, got = error.read(), error.code, error.headers
    reply = Reply(status, {k.lower(): v for k, v in got.items()}, payload, time.perf_counter() - started)
    check = WATCHED.get(urlsplit(url).netloc)
    if check is not None:
        check(method, url, reply.status, reply.headers, reply.body)
    return reply


def watch(server_url: str, check: ExchangeCheck) -> None:
    """Run `check(method, url, status, headers, body)` on every later exchange with this server."""
    WATCHED[urlsplit(server_url).netloc] = check


def unwatch(server_url: str) -> None:
    WATCHED.pop(urlsplit(server_url).netloc, None)


def wait_for(condition, deadline_s: float = 30, every_s: float = 0.2):
    """Poll until `condition()` is truthy; return its value or fail with the last one."""
    end = time.monotonic() + deadline_s
    value = None
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {deadline_s} s (last value: {value!r})")


def d1_statements(persist: Path, sql: str) -> list[list[dict]]:
    """Run SQL statements on the runtime's persisted D1 with wrangler (what `wrangler d1 execute --local`
    reads): each statement's rows."""
    command = ["npx", "--no-install", "wrangler", "d1", "execute", "building-vitals-db", "--local",
               "--persist-to", str(persist), "--json", f"--command={sql}"]  # one argument, even when sql starts with --
    error = ""
    for _ in range(D1_ATTEMPTS):  # the runtime may hold a write lock for a moment
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=D1_TIMEOUT_S)
        if done.returncode == 0:
            return [statement["results"] for statement in json.loads(done.stdout)]
        error = (done.stderr or done.stdout)[-2000:]
        time.sleep(1)
    raise RuntimeError(f"wrangler d1 execute failed {D1_ATTEMPTS} times: {error}")


def d1_query(persist: Path, sql: str) -> list[dict]:
    """One SQL statement's rows on the runtime's persisted D1."""
    return d1_statements(persist, sql)[0]


def d1_tables(persist: Path) -> dict[str, list[dict]]:
    """Every row of every table of the schema in the runtime's persisted D1 (D1's own tables aside)."""
    names = [row["name"] for row in d1_query(persist, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND substr(name, 1, 7) != 'sqlite_' AND substr(name, 1, 4) != '_cf_'")]
    rows = d1_statements(persist, "; ".join(f'SELECT * FROM "{name}"' for name in names))
    return dict(zip(names, rows, strict=True))
