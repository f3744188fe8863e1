"""A small stdlib client for the simulator (tests/servers.py starts and stops it)."""

from __future__ import annotations

import http.client
import json
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
