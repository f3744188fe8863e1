"""`python -m simulator`: READY line, options and clean shutdown (each test starts its own process)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.simulator.simclient import Sim, start_simulator, stop_simulator


def _status(url: str, path: str, token: str) -> int:
    return Sim(url).call("GET", path, token=token).status


def test_cli_prints_ready_with_bound_port() -> None:
    process, url = start_simulator()
    try:
        split = urlsplit(url)
        assert split.scheme == "http" and split.hostname == "127.0.0.1" and split.port
    finally:
        stop_simulator(process)


def test_cli_sigterm_exits_cleanly() -> None:
    process, _ = start_simulator()
    err = stop_simulator(process, signal.SIGTERM)
    assert process.returncode == 0 and "Traceback" not in err


def test_cli_sigint_exits_cleanly() -> None:
    process, _ = start_simulator()
    err = stop_simulator(process, signal.SIGINT)
    assert process.returncode == 0 and "Traceback" not in err


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
    assert len(Sim(url).control("GET", "log").json()) == 2  # entries are added as their lines are written
    err = stop_simulator(process)
    lines = [line for line in err.splitlines() if "/api/" in line]
    assert len(lines) == 2 and "dev-token" not in err
