"""The fair floor of a cache hit, for `make bench` only; never part of the deployed Worker.

The local runtime started with `--floor-module bench/floorworker.py` imports this module into the
Worker's own Pyodide and hands it the requests to `/__bench/floor` (runtime/main.mjs), after the same
front, Miniflare and shim a hit goes through. `GET /__bench/floor?site=&points=&start_time=&end_time=
&bytes=N` reads the R2 objects a hit of that query reads (one per point and UTC month, all at once,
through the Worker's R2 adapter) and answers a precomputed JSON body of exactly N bytes through the
Worker's response adapter: a hit without the rate limit, the access check, decoding and rendering.
`wrangler deploy` uploads `src/` only, so no deployed Worker has this path.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

from workers import WorkerEntrypoint

from services import adapters
from services.cache import object_keys
from services.errors import BadRequest, NotFound, ServiceError
from services.ports import ApiRequest, ApiResponse, ObjectStore
from services.timerange import Span, parse_iso
from services.web import error_response, server_timing

# A body the isolate's 128 MB can hold beside the objects it reads.
MAX_BODY_BYTES = 32 * 1024 * 1024
# The calls to Cloudflare services a free-plan invocation may make.
MAX_KEYS = 1000


class Floor(WorkerEntrypoint):
    async def fetch(self, request):
        with adapters.api_request(request) as incoming:
            try:
                response = await floor(adapters.R2ObjectStore(self.env.TIMESERIES_CACHE), incoming)
            except ServiceError as error:
                response = error_response(error)
        return adapters.js_response(response)


async def floor(store: ObjectStore, request: ApiRequest) -> ApiResponse:
    """Read the query's point-month objects concurrently, as a hit does, and answer the body of `bytes`."""
    started = time.monotonic()
    keys, size = parse_floor_query(request.url)
    found = await asyncio.gather(*(store.get(key) for key in keys))
    r2 = time.monotonic() - started
    missing = sum(obj is None for obj in found)
    if missing:
        raise NotFound(f"{missing} of the {len(keys)} objects this query reads are not in R2: ask it as a hit first")
    timing = {"r2": r2, "total": time.monotonic() - started}
    return ApiResponse(200, body_of(size), {
        "content-type": "application/json; charset=utf-8",
        "x-floor-objects": str(len(keys)),
        "x-floor-object-bytes": str(sum(len(obj.body) for obj in found)),
        "server-timing": server_timing(timing),
    })


def parse_floor_query(url: str) -> tuple[list[str], int]:
    """The R2 keys a hit of the query reads (in `_read_objects`' order) and the body size asked for."""
    params = {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}
    try:
        site, points = params["site"], [p for p in params["points"].split(",") if p]
        span = Span(parse_iso(params["start_time"]), parse_iso(params["end_time"]))
        size = int(params["bytes"])
    except (KeyError, ValueError) as exc:
        raise BadRequest(f"floor query needs site, points, start_time, end_time and bytes: {exc}") from exc
    if not points or span.empty or not 2 <= size <= MAX_BODY_BYTES:
        raise BadRequest(f"floor query needs points, a non-empty span and 2 <= bytes <= {MAX_BODY_BYTES}")
    keys = object_keys(site, points, span)
    if len(keys) > MAX_KEYS:
        raise BadRequest(f"floor query reads {len(keys)} objects, more than {MAX_KEYS}")
    return keys, size


@lru_cache(maxsize=1)  # one body at a time: the floor must not grow the isolate's heap under later scenarios
def body_of(size: int) -> bytes:
    """A JSON string of exactly `size` bytes, made when the size changes: the precomputed answer."""
    return b'"' + b"0" * (size - 2) + b'"'
