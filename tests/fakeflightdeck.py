"""A FlightDeck stand-in for unit tests: the simulator's own catalog and data behind a MockTransport."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

from services.ports import HttpRequest, HttpResponse
from services.timerange import parse_iso, to_iso
from simulator.catalog import point, site_points
from simulator.data import iter_point

SITE = "demo-hq"
# Three of the simulator's 5-minute points at the demo HQ without outages: 288 samples a day each.
POINTS = ("acme/demo-hq/ahu-1:cooling-valve", "acme/demo-hq/vav-1-01/analogInput/1",
          "acme/demo-hq/vav-1-01/binaryValue/5")
INTERVAL_MS = 300_000
LAB = "demo-lab"
# All the simulator's points of each site; the fake lists only some of them (`FakeFlightDeck.site_points`).
CATALOG = {name: tuple(p.name for p in site_points(name)) for name in (SITE, LAB)}
LAB_POINTS = CATALOG[LAB][:1]
MANY = CATALOG[SITE][:120]  # for jobs of several batches: list them with the `many_points` fixture


def upstream_samples(name: str, start: int, end: int) -> list[tuple[int, str]]:
    """What the simulator holds for the point in [start, end): (epoch ms, value text) pairs."""
    found = point(name)
    return [] if found is None else [(t * 1000, value) for t, value in iter_point(found, start, end)]


def truth(name: str, start: int, end: int) -> list[list]:
    """The samples the service should return: [epoch ms, number] pairs."""
    return [[t, float(value)] for t, value in upstream_samples(name, start, end)]


def respond(status: int, payload: object = None, headers: dict | None = None) -> HttpResponse:
    body = b"" if payload is None else json.dumps(payload).encode()
    return HttpResponse(status, headers or {}, body)


class FakeFlightDeck:
    """Answers the per-point, batch and site-points endpoints; `faults` is a list of statuses.

    `token` (`good` by default) reads both sites, `limited` only `LAB`; a point's site is its name's second
    segment. `/sites/{site}/points` lists `site_points[site]` (a test may list more of the simulator's points),
    less a token's `unlisted` points; `refused` points are listed but their data calls answer 403.
    """

    def __init__(self, token: str = "good") -> None:
        self.access = {token: {SITE, LAB}, "limited": {LAB}}
        self.site_points = {SITE: POINTS, LAB: LAB_POINTS}
        self.faults: list[int] = []
        self.fault_headers = {"retry-after": "0"}
        self.broken: set[str] = set()  # points whose every call answers 500
        self.empty: set[str] = set()  # points FlightDeck holds no samples for
        self.refused: set[str] = set()  # points whose data calls answer 403 (listed, but refused to every token)
        self.unlisted: dict[str, set[str]] = {}  # token → points its site lists omit and its data calls refuse (403)
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access:
            return respond(401, {"message": "bad token"})
        if self.faults:
            status = self.faults.pop(0)
            return respond(status, {"message": "fault"}, self.fault_headers)
        url = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/sites/"):
            return respond(200, {"page": 1, "pages": 1, "per_page": 2, "total": 1, "items": [{"name": SITE}]})
        if url.path.endswith("/points") and "/sites/" in url.path:
            site = unquote(url.path.split("/sites/")[1].split("/")[0])
            if site not in self.access[token]:
                return respond(403, {"message": "no"})
            hidden = self.unlisted.get(token, set())
            items = [point(name).to_json() for name in self.site_points[site] if name not in hidden]  # type: ignore[union-attr]
            return respond(200, {"page": 1, "pages": 1, "per_page": 10_000, "total": len(items), "items": items})
        start, end = parse_iso(query["start_time"]), parse_iso(query["end_time"])
        if url.path.endswith("/points/get_timeseries"):
            names = [p["name"] for p in json.loads(request.body or b"{}")["points"]]
        else:
            names = [unquote(url.path.split("/points/")[1].rsplit("/timeseries", 1)[0])]
        refused = self.refused | self.unlisted.get(token, set())
        if any([*name.split("/"), ""][1] not in self.access[token] for name in names) or refused.intersection(names):
            return respond(403, {"message": "no"})
        if self.broken.intersection(names):
            return respond(500, {"message": "broken point"})
        self.calls.append((",".join(names), start, end))
        samples = [{"name": n, "value": value, "time": to_iso(t)}
                   for n in names if n not in self.empty for t, value in upstream_samples(n, start, end)]
        return respond(200, {"point_samples": samples}) if samples else respond(404, {"message": "no data"})
