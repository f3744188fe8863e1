"""Start real servers for end-to-end tests: the FlightDeck simulator and the local Worker runtime."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 120
STOP_DEADLINE_S = 15


@dataclass
class Server:
    """A child process that printed `READY <url>`; its output is kept for when it dies."""

    process: subprocess.Popen
    url: str
    output: list[str]
    reader: threading.Thread

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(STOP_DEADLINE_S)
        self.process.stdout.close()  # type: ignore[union-attr]

    def log(self) -> str:
        return "".join(self.output[-200:])


def start(command: list[str]) -> Server:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    ready = threading.Event()
    found: list[str] = []

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if line.startswith("READY ") and not ready.is_set():
                found.append(line.split()[1])
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if not ready.wait(START_DEADLINE_S) or not found:
        process.kill()
        process.wait()
        reader.join(STOP_DEADLINE_S)
        process.stdout.close()  # type: ignore[union-attr]
        raise RuntimeError(f"{command[0]} did not start:\n{''.join(output[-100:])}")
    return Server(process, found[0], output, reader)


def start_simulator() -> Server:
    return start([sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", "0"])


def start_worker(simulator_url: str, persist: Path, **variables: str) -> Server:
    # Crons off: tests trigger scheduled() themselves, never mid-test on the clock.
    command = ["node", "runtime/main.mjs", "--host", "127.0.0.1", "--port", "0", "--no-crons",
               "--persist", str(persist), "--var", f"FLIGHTDECK_BASE_URL={simulator_url}/api"]
    for key, value in variables.items():
        command += ["--var", f"{key}={value}"]
    return start(command)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def request(method: str, url: str, headers: dict | None = None, data: object = None, timeout: float = 60) -> Reply:
    body = json.dumps(data).encode() if data is not None else None
    sent = {"content-type": "application/json"} if body else {}
    sent.update(headers or {})
    req = urllib.request.Request(url, data=body, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


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
