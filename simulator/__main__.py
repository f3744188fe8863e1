"""`python -m simulator`: serve the FlightDeck simulator until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType

from .api import DEFAULT_TOKENS, Tokens
from .server import SimServer


def _tokens(path: Path) -> Tokens:
    """`{token: [site or point, ...] | "*"}` from a JSON file (a point grants that point of its site only)."""
    tokens = json.loads(path.read_text())
    valid = isinstance(tokens, dict) and all(
        v == "*" or (isinstance(v, list) and all(isinstance(s, str) for s in v)) for v in tokens.values()
    )
    if not valid:
        raise SystemExit(f'{path}: expected {{"token": ["site", ...] | "*"}}')
    return tokens


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Parse the CLI, print `READY <url>` once listening, serve until signalled."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every /api call")
    parser.add_argument("--tokens", type=Path,
                        help='JSON file {"token": ["site" or "point", ...] | "*"} replacing the defaults')
    args = parser.parse_args(argv)

    server = SimServer((args.host, args.port), _tokens(args.tokens) if args.tokens else DEFAULT_TOKENS, args.latency_ms)
    # SIGINT too: a shell that starts this in the background leaves SIGINT ignored, and the child inherits that.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop)
    try:
        print(f"READY {server.url}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stderr.write("simulator stopped\n")


if __name__ == "__main__":
    main()
