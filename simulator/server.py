"""The HTTP server: `/api` through faults and the API, `/_sim` for control, one log line per call."""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from .api import Api, Reply, Request, Tokens, json_reply
from .faults import Faults, Rule
from .params import first
from .requestlog import RequestLog

STREAM_THRESHOLD = 1 << 20  # bodies larger than this go out chunked, as they are generated
CHUNK_SIZE = 1 << 16


class SimServer(ThreadingHTTPServer):
    """A threading server holding the API, fault config and request log."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], tokens: Tokens, latency_ms: float = 0) -> None:
        super().__init__(address, Handler)
        self.api = Api(tokens)
        self.faults = Faults()
        self.requests = RequestLog()
        self.latency_ms = latency_ms

    @property
    def url(self) -> str:
        """`http://host:port` as bound."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler for GET, POST, PUT and DELETE."""

    protocol_version = "HTTP/1.1"
    server: SimServer
    _aborted = False  # set when the reply in progress cannot be completed

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: `_dispatch` logs one richer line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"[{self.log_date_time_string()}] {format % args}\n")

    def _dispatch(self) -> None:
        started = time.perf_counter()
        self._aborted = False
        length = self.headers.get("Content-Length", "0")
        body = self.rfile.read(int(length)) if length.isdigit() else b""
        path, _, query = self.path.partition("?")
        if path.startswith("/_sim/"):
            self._send(self._control(path, body), self._log_control)
        else:
            self._api(path, query, body, started)

    def _log_control(self, status: int, sent: int) -> None:
        self.log_message("%s %s %d bytes=%d", self.command, self.path, status, sent)

    def _api(self, path: str, query: str, body: bytes, started: float) -> None:
        latency_ms, rule = self.server.faults.take(self.command, self.path)
        delay_ms = self.server.latency_ms + latency_ms + (rule.delay_ms if rule else 0)
        if delay_ms:
            time.sleep(delay_ms / 1000)
        req = Request(self.command, path, parse_qs(query, keep_blank_values=True), body, self._token())
        reply = _injected(rule) if rule and rule.status else self._handle(req)

        def record(status: int, sent: int) -> None:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            page_size = first(req.query, "page_size")
            self.log_message(
                "%s %s %d samples=%d bytes=%d %.1fms", self.command, self.path, status, reply.samples, sent, duration_ms
            )
            self.server.requests.add(
                {
                    "method": self.command,
                    "path": path,
                    "point_names": req.point_names,
                    "site": req.site,
                    "start_time": first(req.query, "start_time"),
                    "end_time": first(req.query, "end_time"),
                    "cursor": first(req.query, "cursor"),
                    "page_size": int(page_size) if page_size and page_size.isdigit() else None,
                    "status": status,
                    "samples": reply.samples,
                    "bytes": sent,
                    "duration_ms": duration_ms,
                    "token_ok": req.token in self.server.api.tokens,
                    "fault": _fault_name(rule),
                }
            )

        self._send(reply, record, cut=bool(rule and rule.break_mid_body and not rule.status))

    def _handle(self, req: Request) -> Reply:
        try:
            return self.server.api.handle(req)
        except Exception:
            self.log_message("error while handling %s:\n%s", self.path, traceback.format_exc())
            return json_reply(500, {"message": "simulator error"})

    def _token(self) -> str | None:
        """The token of an `Authorization: Bearer <token>` header."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def _control(self, path: str, body: bytes) -> Reply:
        """`/_sim/health`, `/_sim/log` and `/_sim/faults`; no auth."""
        server, method = self.server, self.command
        match path, method:
            case "/_sim/health", "GET":
                return json_reply(200, {"ok": True})
            case "/_sim/log", "GET":
                return json_reply(200, server.requests.entries())
            case "/_sim/log", "DELETE":
                return json_reply(200, {"cleared": server.requests.clear()})
            case "/_sim/faults", "GET":
                return json_reply(200, server.faults.snapshot())
            case "/_sim/faults", "DELETE":
                server.faults.clear()
                return json_reply(200, server.faults.snapshot())
            case "/_sim/faults", "PUT":
                try:
                    server.faults.replace(json.loads(body or b"{}"))
                except ValueError as err:
                    return json_reply(400, {"message": str(err)})
                return json_reply(200, server.faults.snapshot())
            case (("/_sim/health" | "/_sim/log" | "/_sim/faults"), _):
                return json_reply(405, {"message": f"method {method} not allowed"})
        return json_reply(404, {"message": "Not found"})

    def _send(self, reply: Reply, record: Callable[[int, int], None], cut: bool = False) -> None:
        """Write a reply, calling `record(status, body bytes)` just before the client can see its end.

        Small bodies get a Content-Length; large ones are streamed chunked as generated.
        `cut` sends the headers and part of the body, then drops the connection, and so does
        a failure once streaming has begun (a failure before the headers becomes a 500).
        """
        pieces, size = iter(self._guarded(reply.chunks)), 0
        head: list[str] = []
        for piece in pieces:
            head.append(piece)
            size += len(piece)
            if size >= STREAM_THRESHOLD:
                break
        else:
            if self._aborted:
                reply = json_reply(500, {"message": "simulator error"})
                head = list(reply.chunks)
            data = "".join(head).encode()
            self._headers(reply, {"Content-Length": str(len(data))})
            if cut:
                data, self.close_connection = data[: len(data) // 2], True
            record(reply.status, len(data))
            self._write(data)
            return
        self._headers(reply, {"Transfer-Encoding": "chunked"})
        data = "".join(head).encode()
        if cut:
            data, self._aborted = data[: len(data) // 2], True
        sent = self._write_chunk(data)
        for batch in _batches(pieces):
            if self._aborted:
                break
            sent += self._write_chunk(batch)
        record(reply.status, sent)
        if self._aborted:
            self.close_connection = True
        else:
            self._write(b"0\r\n\r\n")

    def _guarded(self, pieces: Iterable[str]) -> Iterator[str]:
        """Body pieces; a bug while generating them is logged and aborts the reply."""
        try:
            yield from pieces
        except Exception:
            self._aborted = True
            self.log_message("error while generating a body:\n%s", traceback.format_exc())

    def _headers(self, reply: Reply, extra: dict[str, str]) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        for name, text in {**reply.headers, **extra}.items():
            self.send_header(name, text)
        self.end_headers()

    def _write(self, data: bytes) -> int:
        """Write and flush; a gone client aborts the reply. Returns the bytes written."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self._aborted = self.close_connection = True
            return 0
        return len(data)

    def _write_chunk(self, data: bytes) -> int:
        """Write one chunk of a chunked body; returns its payload size if written."""
        if not data:
            return 0
        return len(data) if self._write(b"%x\r\n%s\r\n" % (len(data), data)) else 0


def _batches(pieces: Iterable[str]) -> Iterator[bytes]:
    """Join small str pieces into byte batches of about CHUNK_SIZE."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= CHUNK_SIZE:
            yield "".join(batch).encode()
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode()


def _injected(rule: Rule) -> Reply:
    """The error reply of a rule with a `status`."""
    headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
    return json_reply(rule.status or 500, {"message": f"Injected fault: HTTP {rule.status}"}, headers)


def _fault_name(rule: Rule | None) -> str | None:
    """How a fired rule shows in the request log."""
    if rule is None:
        return None
    if rule.status:
        return f"status:{rule.status}"
    return "break_mid_body" if rule.break_mid_body else "delay"
