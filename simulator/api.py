"""The FlightDeck endpoints under `/api`: routing, auth and JSON bodies (streamed as str chunks)."""

from __future__ import annotations

import functools
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

from . import catalog
from .data import BUCKET_STEP, RAW_STEP, iter_point, iter_site
from .params import (
    PAGE_SIZE,
    PER_PAGE,
    ApiError,
    Query,
    boolean,
    decode_cursor,
    encode_cursor,
    first,
    integer,
    time_range,
)

T = TypeVar("T")
# A token's grant: "*" (everything) or a list whose entries name a whole site ("demo-lab") or one point
# (a name with "/"): a point grant makes its site visible with only the granted points in it.
Tokens = dict[str, list[str] | str]
DEFAULT_TOKENS: Tokens = {
    "dev-token": "*",
    "limited-token": ["demo-lab"],
    "point-token": ["acme/demo-hq/ahu-1:supply-air-temp", "acme/demo-hq/ahu-1:occupancy-mode"],
}


@dataclass(frozen=True)
class Grant:
    """What one token may read: whole sites, and single points of other sites."""

    sites: frozenset[str]
    points: frozenset[str]

    @classmethod
    def of(cls, granted: list[str]) -> Grant:
        return cls(frozenset(g for g in granted if "/" not in g), frozenset(g for g in granted if "/" in g))

    def sees_site(self, site_name: str) -> bool:
        return site_name in self.sites or any(p is not None and p.site == site_name
                                              for p in map(catalog.point, self.points))

    def reads(self, p: catalog.Point) -> bool:
        return p.site in self.sites or p.name in self.points


@dataclass
class Request:
    """One API call; handlers fill `site` and `point_names` for the request log."""

    method: str
    path: str
    query: Query
    body: bytes
    token: str | None
    site: str | None = None
    point_names: list[str] | None = None


@dataclass
class Reply:
    """A response whose body is produced lazily; `samples` counts what has been produced."""

    status: int
    chunks: Iterable[str]
    headers: dict[str, str] = field(default_factory=dict)
    samples: int = 0


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A reply with a small JSON body."""
    return Reply(status, [json.dumps(payload)], headers or {})


@functools.lru_cache(maxsize=4096)
def _stamp(t: int) -> str:
    """Epoch seconds as `2026-11-20T10:15:00Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _sample_json(p: catalog.Point, t: int, value: str) -> str:
    """One sample as JSON; generated values never need escaping."""
    return f'{{"name":{p.name_json},"value":"{value}","time":"{_stamp(t)}"}}'


class Api:
    """Serves `/api/...` for a token map `{token: [sites] | "*"}`."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def handle(self, req: Request) -> Reply:
        """Route a request; errors become `{"message": ...}` replies."""
        parts = req.path.split("/")
        try:
            method, handler, args = self._route(parts)
            if req.method != method:
                raise ApiError(405, f"method {req.method} not allowed")
            return handler(req, *args)
        except ApiError as err:
            return json_reply(err.status, {"message": err.message})

    def _route(self, parts: list[str]) -> tuple[str, Callable[..., Reply], Sequence[str]]:
        match parts:
            case ["", "api", "sites"] | ["", "api", "sites", ""]:
                return "GET", self.sites, ()
            case ["", "api", "sites", site, "points"]:
                return "GET", self.points, (unquote(site),)
            case ["", "api", "sites", site, "configured_points"]:
                return "GET", self.configured_points, (unquote(site),)
            case ["", "api", "sites", site, "timeseries", "paginated"]:
                return "GET", self.paginated, (unquote(site),)
            case ["", "api", "points", "get_timeseries"]:
                return "POST", self.batch, ()
            case ["", "api", "points", name, "timeseries"]:
                return "GET", self.point_series, (unquote(name),)
            case ["", "api", "points", *_, "timeseries"]:
                raise ApiError(404, "Point not found. Percent-encode the point name ('/' as %2F).")
        raise ApiError(404, "Not found")

    def _allowed(self, req: Request) -> Grant | None:
        """What the caller may read (None: all); 401 for a missing or unknown token."""
        if req.token is None or req.token not in self.tokens:
            raise ApiError(401, "Missing or invalid token")
        granted = self.tokens[req.token]
        return None if granted == "*" else Grant.of(list(granted))

    def _check_site(self, req: Request, site_name: str) -> Grant | None:
        """The caller's grant, once it may see the site (404 for an unknown site, 403 for another's)."""
        allowed = self._allowed(req)
        if catalog.site(site_name) is None:
            raise ApiError(404, f"Site {site_name} not found")
        if allowed is not None and not allowed.sees_site(site_name):
            raise ApiError(403, f"Token may not read site {site_name}")
        return allowed

    def sites(self, req: Request) -> Reply:
        """`GET /api/sites/`: the sites this token may read (wholly or some of their points)."""
        allowed = self._allowed(req)
        items = [s.to_json() for s in catalog.sites() if allowed is None or allowed.sees_site(s.name)]
        return _page(items, req.query)

    def points(self, req: Request, site_name: str) -> Reply:
        """`GET /api/sites/{site}/points`: the points of the site this token may read."""
        req.site = site_name
        allowed = self._check_site(req, site_name)
        return _page([p.to_json() for p in catalog.site_points(site_name) if allowed is None or allowed.reads(p)],
                     req.query)

    def configured_points(self, req: Request, site_name: str) -> Reply:
        """`GET /api/sites/{site}/configured_points`: the points configured for collection (not in the spec copy)."""
        req.site = site_name
        allowed = self._check_site(req, site_name)
        return _page([p.to_json() for p in catalog.site_points(site_name)
                      if p.collect_enabled and (allowed is None or allowed.reads(p))], req.query)

    def paginated(self, req: Request, site_name: str) -> Reply:
        """`GET /api/sites/{site}/timeseries/paginated`, ordered by (time, name): the points this token may read."""
        req.site = site_name
        allowed = self._check_site(req, site_name)
        start, end = time_range(req.query)
        page_size = integer(req.query, "page_size", 10000, PAGE_SIZE)
        raw = boolean(req.query, "raw_data", False)
        key: list[object] = [1, site_name, start, end, raw]
        cursor = first(req.query, "cursor")
        position = None if cursor is None else _position(cursor, key, RAW_STEP if raw else BUCKET_STEP)
        found = _peek(row for row in iter_site(site_name, start, end, raw, position)
                      if allowed is None or allowed.reads(row[2]))
        reply = Reply(200, [])

        def body(rows: Iterator[tuple[int, int, catalog.Point, str]]) -> Iterator[str]:
            yield '{"point_samples":['
            following = None
            for t, index, p, value in rows:
                if reply.samples == page_size:
                    following = encode_cursor([*key, t, index])
                    break
                yield ("," if reply.samples else "") + _sample_json(p, t, value)
                reply.samples += 1
            yield f'],"next_cursor":{json.dumps(following)},"has_more":{json.dumps(following is not None)}}}'

        reply.chunks = body(found)
        return reply

    def point_series(self, req: Request, name: str) -> Reply:
        """`GET /api/points/{point_name}/timeseries`."""
        req.point_names = [name]
        allowed = self._allowed(req)
        start, end = time_range(req.query)
        p = catalog.point(name)
        if p is None:
            raise ApiError(404, "Point not found.")
        req.site = p.site
        if allowed is not None and not allowed.reads(p):
            raise ApiError(403, f"Token may not read point {name}")
        return _series([p], start, end)

    def batch(self, req: Request) -> Reply:
        """`POST /api/points/get_timeseries`: unknown names are ignored."""
        allowed = self._allowed(req)
        start, end = time_range(req.query)
        names = _names(req.body)
        req.point_names = names
        known = [p for p in map(catalog.point, names) if p is not None]
        req.site = ",".join(sorted({p.site for p in known})) or None
        denied = sorted(p.name for p in known if allowed is not None and not allowed.reads(p))
        if denied:
            raise ApiError(403, f"Token may not read point {', '.join(denied)}")
        return _series(known, start, end)


def _position(cursor: str, key: list[object], step: int) -> tuple[int, int]:
    """The `(epoch_s, index)` in a cursor, which must have been made for the same `key`."""
    state = decode_cursor(cursor)
    if state[:-2] != key or len(state) != len(key) + 2:
        raise ApiError(400, "cursor does not belong to this site, range and raw_data")
    t, index = state[-2:]
    if not (type(t) is int and type(index) is int and t % step == 0 and index >= 0):
        raise ApiError(400, "invalid cursor")
    return t, index


def _names(body: bytes) -> list[str]:
    """Point names from `{"points": [{"name": ...}, ...]}`, first occurrence kept."""
    try:
        payload = json.loads(body or b"null")
        names = [item["name"] for item in payload["points"]]
    except (ValueError, TypeError, KeyError):
        raise ApiError(400, 'body must be {"points": [{"name": "..."}, ...]}') from None
    if not all(isinstance(n, str) for n in names):
        raise ApiError(400, "point names must be strings")
    return list(dict.fromkeys(names))


def _peek(rows: Iterator[T]) -> Iterator[T]:
    """`rows` unchanged, or 404 when there is nothing in it."""
    head = next(rows, None)
    if head is None:
        raise ApiError(404, "No data for time period")
    return itertools.chain([head], rows)


def _series(points: list[catalog.Point], start: int, end: int) -> Reply:
    """`{point_samples}` of several points, each oldest first, in the order given."""
    rows = _peek((p, t, v) for p in points for t, v in iter_point(p, start, end))
    reply = Reply(200, [])

    def body() -> Iterator[str]:
        yield '{"point_samples":['
        for p, t, value in rows:
            yield ("," if reply.samples else "") + _sample_json(p, t, value)
            reply.samples += 1
        yield "]}"

    reply.chunks = body()
    return reply


def _page(items: list[dict[str, Any]], query: Query) -> Reply:
    """The spec's paged envelope `{page, pages, per_page, total, items}`."""
    page = integer(query, "page", 1)
    per_page = integer(query, "per_page", 10, PER_PAGE)
    chunk = items[(page - 1) * per_page : page * per_page]
    pages = math.ceil(len(items) / per_page)
    return json_reply(200, {"page": page, "pages": pages, "per_page": per_page, "total": len(items), "items": chunk})
