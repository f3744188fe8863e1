"""A small stdlib client for the simulator, and starting or stopping its process."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Response:
    """A finished HTTP exchange."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def connect(url: str) -> http.client.HTTPConnection:
    """A keep-alive connection to `http://host:port`."""
    split = urlsplit(url)
    return http.client.HTTPConnection(split.hostname, split.port, timeout=30)


@dataclass
class Sim:
    """A running simulator at `url`."""

    url: str

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        token: str | None = "dev-token",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request on a fresh connection; `path` is sent as given (already percent-encoded)."""
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        payload = None if body is None else json.dumps(body).encode()
        if payload is not None:
            sent["Content-Type"] = "application/json"
        conn = connect(self.url)
        try:
            conn.request(
                method, path + (f"?{urlencode(params)}" if params else ""), payload, {**sent, **(headers or {})}
            )
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **params: Any) -> Response:
        """GET with the dev token."""
        return self.call("GET", path, params or None)

    def control(self, method: str, path: str, body: Any = None) -> Response:
        """A call to the `/_sim` control API (no token)."""
        return self.call(method, f"/_sim/{path}", body=body, token=None)


def start_simulator(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m simulator --port 0 ...` and wait for its READY line; returns (process, url)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY "):
        process.kill()
        _, err = process.communicate()
        raise RuntimeError(f"simulator did not start: {line!r}\n{err}")
    return process, line.split()[1]


def stop_simulator(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Signal the process, wait for it and return its stderr."""
    process.send_signal(sig)
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err
