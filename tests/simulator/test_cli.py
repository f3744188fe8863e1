"""`python -m simulator`: READY line, options and clean shutdown (each test starts its own process)."""

from __future__ import annotations

import http.client
import json
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

from conftest import start_simulator, stop_simulator


def _status(url: str, path: str, token: str) -> int:
    split = urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_cli_prints_ready_with_bound_port() -> None:
    process, url = start_simulator()
    try:
        split = urlsplit(url)
        assert split.scheme == "http" and split.hostname == "127.0.0.1" and split.port
    finally:
        stop_simulator(process)


def test_cli_sigterm_exits_cleanly() -> None:
    process, _ = start_simulator()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def test_cli_sigint_exits_cleanly() -> None:
    process, _ = start_simulator()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=5) == 0


def test_cli_tokens_file_replaces_defaults(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"plant-only": ["demo-plant"], "root": "*"}))
    process, url = start_simulator("--tokens", str(tokens))
    try:
        assert _status(url, "/api/sites/", "dev-token") == 401
        assert _status(url, "/api/sites/demo-plant/points", "plant-only") == 200
        assert _status(url, "/api/sites/demo-hq/points", "plant-only") == 403
        assert _status(url, "/api/sites/demo-hq/points", "root") == 200
    finally:
        stop_simulator(process)


def test_cli_latency_ms_slows_api_calls() -> None:
    process, url = start_simulator("--latency-ms", "200")
    try:
        started = time.perf_counter()
        assert _status(url, "/api/sites/", "dev-token") == 200
        assert time.perf_counter() - started >= 0.2
    finally:
        stop_simulator(process)


def test_cli_logs_one_line_per_request() -> None:
    process, url = start_simulator()
    _status(url, "/api/sites/", "dev-token")
    _status(url, "/api/sites/demo-hq/points", "dev-token")
    err = stop_simulator(process)
    lines = [line for line in err.splitlines() if "/api/" in line]
    assert len(lines) == 2 and "dev-token" not in err
