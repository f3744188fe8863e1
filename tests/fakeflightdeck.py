"""A FlightDeck stand-in for unit tests: the simulator's own data functions behind a MockTransport."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

from services.ports import HttpRequest, HttpResponse
from services.timerange import parse_iso, to_iso

SITE = "demo-hq"
POINTS = ("acme/demo-hq/ahu-1:sat", "acme/demo-hq/vav-1/analogValue/13", "acme/demo-hq/meter.main/kW")
INTERVAL_MS = 300_000


def value_at(point: str, t: int) -> str:
    """A deterministic value: numeric for most points, text for one."""
    if point.endswith("mode"):
        return "occupied" if (t // 3_600_000) % 2 else "unoccupied"
    return f"{(hash((point, t)) % 1000) / 10:.1f}"


def truth(point: str, start: int, end: int) -> list[list]:
    first = -(-start // INTERVAL_MS) * INTERVAL_MS
    return [[t, float(value_at(point, t)) if not point.endswith("mode") else value_at(point, t)]
            for t in range(first, end, INTERVAL_MS)]


def respond(status: int, payload: object = None, headers: dict | None = None) -> HttpResponse:
    body = b"" if payload is None else json.dumps(payload).encode()
    return HttpResponse(status, headers or {}, body)


class FakeFlightDeck:
    """Answers the per-point, batch and site-points endpoints for `SITE`; `faults` is a list of statuses."""

    def __init__(self, token: str = "good") -> None:
        self.token = token
        self.faults: list[int] = []
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return respond(401, {"message": "bad token"})
        if self.faults:
            status = self.faults.pop(0)
            return respond(status, {"message": "fault"}, {"retry-after": "0"})
        url = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/points") and "/sites/" in url.path:
            site = unquote(url.path.split("/sites/")[1].split("/")[0])
            if site != SITE:
                return respond(403, {"message": "no"})
            items = [{"name": name, "collect_interval": INTERVAL_MS // 1000} for name in POINTS]
            return respond(200, {"page": 1, "pages": 1, "per_page": 10_000, "total": len(items), "items": items})
        start, end = parse_iso(query["start_time"]), parse_iso(query["end_time"])
        if url.path.endswith("/points/get_timeseries"):
            names = [p["name"] for p in json.loads(request.body or b"{}")["points"]]
        else:
            names = [unquote(url.path.split("/points/")[1].rsplit("/timeseries", 1)[0])]
        self.calls.append((",".join(names), start, end))
        samples = [{"name": n, "value": value_at(n, t), "time": to_iso(t)}
                   for n in names for t, _ in truth(n, start, end)]
        return respond(200, {"point_samples": samples}) if samples else respond(404, {"message": "no data"})
