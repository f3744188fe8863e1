"""`python -m simulator`: READY line, options and clean shutdown (each test starts its own process)."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.servers import start, start_simulator
from tests.simulator.simclient import Sim


def _status(url: str, path: str, token: str) -> int:
    return Sim(url).call("GET", path, token=token).status


def test_cli_prints_ready_with_bound_port() -> None:
    server = start_simulator()
    try:
        split = urlsplit(server.url)
        assert split.scheme == "http" and split.hostname == "127.0.0.1" and split.port
    finally:
        server.stop()


def test_cli_sigterm_exits_cleanly() -> None:
    server = start_simulator()
    output = server.stop(signal.SIGTERM)
    assert server.process.returncode == 0 and "Traceback" not in output


def test_cli_sigint_exits_cleanly_even_when_started_with_sigint_ignored() -> None:
    # A shell that runs a command in the background starts it with SIGINT ignored, as `trap '' INT` does.
    server = start(["sh", "-c", f"trap '' INT; exec {sys.executable} -m simulator --port 0"])
    output = server.stop(signal.SIGINT)
    assert server.process.returncode == 0 and "Traceback" not in output


def test_cli_tokens_file_replaces_defaults(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"plant-only": ["demo-plant"], "root": "*"}))
    server = start_simulator("--tokens", str(tokens))
    url = server.url
    try:
        assert _status(url, "/api/sites/", "dev-token") == 401
        assert _status(url, "/api/sites/demo-plant/points", "plant-only") == 200
        assert _status(url, "/api/sites/demo-hq/points", "plant-only") == 403
        assert _status(url, "/api/sites/demo-hq/points", "root") == 200
    finally:
        server.stop()


def test_cli_latency_ms_slows_api_calls() -> None:
    server = start_simulator("--latency-ms", "200")
    url = server.url
    try:
        started = time.perf_counter()
        assert _status(url, "/api/sites/", "dev-token") == 200
        assert time.perf_counter() - started >= 0.2
    finally:
        server.stop()


def test_cli_logs_one_line_per_request() -> None:
    server = start_simulator()
    url = server.url
    _status(url, "/api/sites/", "dev-token")
    _status(url, "/api/sites/demo-hq/points", "dev-token")
    assert len(Sim(url).control("GET", "log").json()) == 2  # entries are added as their lines are written
    output = server.stop()
    lines = [line for line in output.splitlines() if "/api/" in line]
    assert len(lines) == 2 and "dev-token" not in output
