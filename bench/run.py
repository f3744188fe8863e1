"""`make bench`: the service's figures, measured end to end on loopback.

Starts the FlightDeck simulator (with a per-call latency) and the local runtime on a fresh
persist dir, runs seven scenarios, prints a table and, as the last line, one JSON object.

  .venv/bin/python bench/run.py [--quick] [--latency-ms N] [--misses N] [--hits N]

Every comparison is a ratio of two figures measured in the same run; repeated timings are
reported as medians. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from services.cache import month_spans, object_keys  # noqa: E402
from services.codec import CODECS, best_codec, encode  # noqa: E402
from services.series import PointSeries  # noqa: E402
from services.timerange import Span  # noqa: E402
from tests.servers import Reply, Server, d1_query, request, start_simulator, start_worker, wait_for  # noqa: E402

SITE = "demo-hq"
TOKEN = "dev-token"
DAY = timedelta(days=1)

# A direct FlightDeck fetch takes 1 to 5 s in the original design; 1 s a call is its low end,
# so the miss/hit ratio below is the conservative one.
DEFAULT_LATENCY_MS = 1000
REQUEST_TIMEOUT_S = 120
CACHE_WRITE_TIMEOUT_S = 30
JOB_TIMEOUT_S = 600
POLL_S = 0.2
RSS_SAMPLE_S = 0.05

MIXED_STRIDE = 8  # every 8th point of the site (sorted by name): all kinds and intervals
COMPRESSION_DAYS = 7
HIT_MISS_SAMPLES = 50_000
COALESCE_CLIENTS = 20
PARTIAL_CACHED_DAYS = 3  # cache [A, A+3d), then ask [A+1d, A+5d)
PARTIAL_OFFSET_DAYS = 1
PARTIAL_ASK_DAYS = 4
JOB_SAMPLES = 1_000_000
JOB_SAMPLES_QUICK = 250_000
JOB_INTERVAL_S = 60
JOB_OUTAGE_MARGIN = 1.1  # about one point in eight has multi-hour outages
SHAPING_POINTS = 15
OVERLAP_KEPT, OVERLAP_NEW = 10, 5  # cache 15 points, then ask 10 of them and 5 others
WIDE_POINTS, WIDE_DAYS = 50, 30
R2_CALLS_FREE_PLAN = 1000  # calls to Cloudflare services per invocation on the free plan
SHAPING_DAYS = 30
SHAPING_MAX_POINTS = 1000
SHAPING_FORMATS = ("json", "csv", "ndjson", "msgpack")
# The raw 30-day x 15-point answer (up to 648,000 samples) is above the default MAX_RESPONSE_SAMPLES
# (500,000): the bench's runtime allows it so that raw can be measured against the shaped answers.
BENCH_MAX_RESPONSE_SAMPLES = 700_000
# Heap per sample of an answer under Pyodide: each format on a fresh runtime (its heap only grows), a
# one-point one-day warm-up first (the baseline: Pyodide, the modules, one small answer), then a
# cached-route miss of HEAP_POINTS one-minute points over HEAP_DAYS days (~300,000 samples): it fetches,
# stores and answers, the most a direct or cached request holds at once.
HEAP_POINTS = 15
HEAP_DAYS = 14
HEAP_FORMATS = ("json", "csv", "ndjson", "msgpack")
# What MAX_RESPONSE_SAMPLES may fill of the isolate's 128 MB: the rest is headroom for a second request
# in the same isolate and for heap the measurement does not see (JS objects outside Pyodide's memory).
HEAP_BUDGET_MB = 96
APP_SITE = "demo-tower"  # long, spaced names; 5-minute data for most points, as FlightDeck serves
APP_POINTS = 100
APP_DAYS = 7

FULL = {"misses": 5, "hits": 7, "dashboards": 6}
QUICK = {"misses": 2, "hits": 3, "dashboards": 3}
# The fair floor of a hit (bench/floorworker.py): the bench's runtime answers FLOOR_PATH with it.
FLOOR_MODULE = ROOT / "bench" / "floorworker.py"
FLOOR_PATH = "/__bench/floor"
DASHBOARD_POINTS = 4
# The bench polls and repeats with one token: the limits are raised, each request still checks them.
BENCH_RATELIMITS = {name: 1_000_000 for name in ("RATE_LIMIT_TOKEN", "RATE_LIMIT_SITE", "RATE_LIMIT_LIGHT")}

TARGET_STORED_OVER_JSON = 0.03
TARGET_MISS_OVER_HIT = 50.0
TARGET_COALESCED_CALLS_RATIO = 1.0

GZIP_LEVEL = 6  # CompressionStream's gzip, what the original implementation stored
BROTLI_QUALITY = 11


def http(method: str, url: str, headers: dict | None = None) -> Reply:
    return request(method, url, headers, timeout=REQUEST_TIMEOUT_S)


@dataclass
class Bench:
    sim: str
    worker: str
    runtime: Server
    persist: Path
    figures: dict = field(default_factory=dict)

    @property
    def runtime_pid(self) -> int:
        return self.runtime.process.pid

    def invocations_since(self, mark: int) -> list[dict]:
        """The runtime's per-invocation JSON lines (subrequests, heapPeakMB, cpuMs) after output line `mark`."""
        lines = self.runtime.output[mark:]
        return [json.loads(line) for line in lines if line.startswith('{"event":"invocation"')]

    def invocation_of(self, reply: Reply, mark: int) -> dict:
        """The runtime's invocation line of `reply` (printed once its body has gone out: waited for, bounded)."""
        request_id = reply.headers.get("x-request-id")
        return wait_for(lambda: next((x for x in self.invocations_since(mark) if x.get("requestId") == request_id),
                                     None), CACHE_WRITE_TIMEOUT_S, POLL_S)

    # worker
    def series(self, points: list[str], span: tuple[datetime, datetime], route: str = "cached", **extra: str) -> Reply:
        return self._ask("/api/timeseries", points, span, route=route, **extra)

    def floor(self, points: list[str], span: tuple[datetime, datetime], body_bytes: int) -> Reply:
        """The fair floor of the same query's hit: its R2 objects read, a body of `body_bytes` answered."""
        return self._ask(FLOOR_PATH, points, span, route="cached", bytes=str(body_bytes))

    def _ask(self, path: str, points: list[str], span: tuple[datetime, datetime], **extra: str) -> Reply:
        query = urllib.parse.urlencode(
            {"site": SITE, "points": ",".join(points), "start_time": iso(span[0]), "end_time": iso(span[1]), **extra}
        )
        return http("GET", f"{self.worker}{path}?{query}", {"x-ace-token": TOKEN})

    def stats(self) -> dict:
        return http("GET", f"{self.worker}/api/stats").json()

    def wait_cached(self, objects: int) -> None:
        """Bounded wait until the stats count at least `objects` cache objects (writes are deferred)."""
        wait_for(lambda: self.stats()["cache"]["totalObjects"] >= objects, CACHE_WRITE_TIMEOUT_S, POLL_S)

    # simulator
    def sim_points(self) -> list[dict]:
        reply = http("GET", f"{self.sim}/api/sites/{SITE}/points?per_page=1000", {"authorization": f"Bearer {TOKEN}"})
        return sorted(reply.json()["items"], key=lambda p: p["name"])

    def clear_log(self) -> None:
        http("DELETE", f"{self.sim}/_sim/log")

    def upstream_calls(self) -> list[dict]:
        """Sample-carrying calls in the simulator's log (not the access checks)."""
        return [e for e in http("GET", f"{self.sim}/_sim/log").json() if "timeseries" in e["path"]]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def samples_per_day(points: list[dict]) -> float:
    return sum(86_400 / p["collect_interval"] for p in points)


def returned_samples(reply: Reply) -> int:
    return sum(entry["count"] for entry in reply.json()["data"].values())


def keys_for(points: list[str], span: tuple[datetime, datetime]) -> list[str]:
    """The cache keys a request reads: one per point and UTC month."""
    return object_keys(SITE, points, to_span(span))


def to_span(span: tuple[datetime, datetime]) -> Span:
    return Span(int(span[0].timestamp() * 1000), int(span[1].timestamp() * 1000))


def sql_list(keys: list[str]) -> str:
    return ",".join("'" + k.replace("'", "''") + "'" for k in keys)


# -- scenarios ---------------------------------------------------------------------------------


def scenario_compression(b: Bench, points: list[str], span) -> dict:
    """Bytes stored in R2 for a week of mixed points, against the JSON and gzip/brotli of it."""
    reply = b.series(points, span)
    if reply.status != 200:
        raise RuntimeError(f"compression request: {reply.status} {reply.body[:300]!r}")
    keys = keys_for(points, span)
    b.wait_cached(len(keys))
    rows = d1_query(
        b.persist,
        "SELECT COUNT(*) AS n, SUM(compressed_size) AS stored, "
        f"GROUP_CONCAT(DISTINCT codec) AS codecs FROM cache_metadata WHERE cache_key IN ({sql_list(keys)})",
    )[0]
    json_bytes = len(reply.body)
    gz = len(gzip.compress(reply.body, GZIP_LEVEL))
    br = len(brotli.compress(reply.body, quality=BROTLI_QUALITY))
    check = codec_check(reply, span, rows["codecs"])
    stored = rows["stored"]
    return {
        "points": len(points),
        "days": COMPRESSION_DAYS,
        "samples": returned_samples(reply),
        "objects": rows["n"],
        "codec": rows["codecs"],
        "json_bytes": json_bytes,
        "stored_bytes": stored,
        "gzip_bytes": gz,
        "brotli_bytes": br,
        "codec_check_bytes": check,
        "stored_over_json": stored / json_bytes,
        "gzip_over_json": gz / json_bytes,
        "brotli_over_json": br / json_bytes,
        "stored_over_gzip": stored / gz,
        "stored_over_brotli": stored / br,
        "codec_check_over_stored": check / stored,
        "target_stored_over_json_max": TARGET_STORED_OVER_JSON,
        "met": stored / json_bytes <= TARGET_STORED_OVER_JSON,
    }


def codec_check(reply: Reply, span, codec_name: str) -> int:
    """The same samples encoded in-process with the project's codec, one object per point and UTC month."""
    codec = CODECS.get(codec_name) or best_codec()
    total = 0
    for name, entry in reply.json()["data"].items():
        for month in month_spans(to_span(span)):
            pairs = [s for s in entry["samples"] if month.start_ms <= s[0] < month.end_ms]
            total += len(encode({name: PointSeries([t for t, _ in pairs], [v for _, v in pairs])}, codec).body)
    return total


def scenario_hit_miss(b: Bench, points: list[str], spans: list, hits: int) -> dict:
    """Median miss against median hit, and the hit against its fair floor, timed turn about.

    Each miss is on its own cold week; after its write, `hits` hits and as many floors of the same
    query (its R2 objects read, a body of the hit's size answered) alternate, which goes first
    alternating too, so both see the same machine load. The floor's size is the week's first hit's
    (later hits differ by a byte or two, in their `duration`), so the floor keeps one body.
    """
    miss_s, miss_timing, calls_per_miss = [], [], []
    hit_replies: list[Reply] = []
    floor_replies: list[Reply] = []
    invocations: list[dict] = []
    samples = 0
    for span in spans:
        b.clear_log()
        miss = b.series(points, span)
        if miss.status != 200 or miss.headers.get("x-cache-status") != "miss":
            raise RuntimeError(f"expected a miss: {miss.status} {miss.headers.get('x-cache-status')}")
        calls_per_miss.append(len(b.upstream_calls()))
        miss_s.append(miss.seconds)
        miss_timing.append(miss.timing())
        samples = returned_samples(miss)
        wait_hit(b, points, span)
        body_bytes = len(hit_reply(b, points, span).body)
        floor_reply(b, points, span, body_bytes)  # its first answer of this size makes the body: not timed
        mark = len(b.runtime.output)
        for i in range(hits):
            hit_first = i % 2 == 0
            if not hit_first:
                floor_replies.append(floor_reply(b, points, span, body_bytes))
            hit_replies.append(hit_reply(b, points, span))
            if hit_first:
                floor_replies.append(floor_reply(b, points, span, body_bytes))
        invocations += b.invocations_since(mark)
    hit_s = [r.seconds for r in hit_replies]
    floor_s = [r.seconds for r in floor_replies]
    parts = ("ratelimit", "auth", "r2", "decode", "render", "total")
    hit_ms = {name: median([r.timing().get(name, 0.0) for r in hit_replies]) for name in parts}
    floor_ms = {name: median([r.timing().get(name, 0.0) for r in floor_replies]) for name in ("r2", "total")}
    miss_ms = {
        name: median([t.get(name, 0.0) for t in miss_timing])
        for name in ("auth", "r2", "decode", "upstream", "render", "total")
    }
    ratio = median(miss_s) / median(hit_s)
    return {
        "points": len(points),
        "samples": samples,
        "misses": len(miss_s),
        "hits": len(hit_s),
        "miss_ms": median(miss_s) * 1000,
        "hit_ms": median(hit_s) * 1000,
        "miss_over_hit": ratio,
        "upstream_calls_per_miss": median(calls_per_miss),
        "miss_server_timing_ms": miss_ms,
        "hit_server_timing_ms": hit_ms,
        # The rate-limit check runs beside the handler (api.py `call.limits`), inside its `total`.
        "hit_outside_worker_ms": median(hit_s) * 1000 - hit_ms["total"],
        "limit_check_ms": hit_ms["ratelimit"],
        "limit_check_share_of_hit": hit_ms["ratelimit"] / (median(hit_s) * 1000),
        "hit_per_invocation": per_invocation([x for x in invocations if x.get("path") == "/api/timeseries"]),
        "target_miss_over_hit_min": TARGET_MISS_OVER_HIT,
        "met": ratio >= TARGET_MISS_OVER_HIT,
        "objects_per_hit": len(keys_for(points, spans[-1])),
        "floor_ms": median(floor_s) * 1000,
        "floors": len(floor_s),
        "hit_over_floor": median(hit_s) / median(floor_s),
        "floor_server_timing_ms": floor_ms,
        "floor_outside_worker_ms": median(floor_s) * 1000 - floor_ms["total"],
        "floor_per_invocation": per_invocation([x for x in invocations if x.get("path") == FLOOR_PATH]),
        "hit_body_bytes": median([len(r.body) for r in hit_replies]),
        "floor_body_bytes": median([len(r.body) for r in floor_replies]),
        "floor_object_bytes": int(floor_replies[-1].headers["x-floor-object-bytes"]),
    }


def hit_reply(b: Bench, points: list[str], span) -> Reply:
    hit = b.series(points, span)
    if hit.headers.get("x-cache-status") != "hit":
        raise RuntimeError(f"expected a hit, got {hit.headers.get('x-cache-status')}")
    return hit


def floor_reply(b: Bench, points: list[str], span, body_bytes: int) -> Reply:
    """The floor of the query's hit; it must have read every object the hit reads and sent the bytes asked for."""
    floor = b.floor(points, span, body_bytes)
    objects = len(keys_for(points, span))
    if floor.status != 200 or floor.headers.get("x-floor-objects") != str(objects) or len(floor.body) != body_bytes:
        raise RuntimeError(f"floor: {floor.status} {floor.headers.get('x-floor-objects')} of {objects} objects,"
                           f" {len(floor.body)} of {body_bytes} bytes {floor.body[:200]!r}")
    return floor


def wait_hit(b: Bench, points: list[str], span) -> None:
    """Bounded: retry until the deferred cache writes make the request a full hit."""
    wait_for(lambda: b.series(points, span).headers.get("x-cache-status") == "hit", CACHE_WRITE_TIMEOUT_S, POLL_S)


def scenario_app_query(b: Bench, span, hits: int) -> dict:
    """The app's `/timeseries/query`: 100 points over 7 days in epoch ms, cold, then warm from the cache."""
    reply = http("GET", f"{b.sim}/api/sites/{APP_SITE}/points?per_page=1000", {"authorization": f"Bearer {TOKEN}"})
    names = sorted(p["name"] for p in reply.json()["items"])[:APP_POINTS]
    query = urllib.parse.urlencode({
        "site_name": APP_SITE, "point_names": ",".join(names),
        "start_time": int(span[0].timestamp() * 1000), "end_time": int(span[1].timestamp() * 1000),
    })
    url = f"{b.worker}/timeseries/query?{query}"
    headers = {"x-ace-token": TOKEN, "accept": "application/json"}
    cold = http("GET", url, headers)
    if cold.status != 200 or cold.headers.get("x-cache-hit") != "false":
        raise RuntimeError(f"expected a cold 200: {cold.status} {cold.body[:200]!r}")
    wait_for(lambda: http("GET", url, headers).headers.get("x-cache-hit") == "true", CACHE_WRITE_TIMEOUT_S, POLL_S)
    warm = [http("GET", url, headers) for _ in range(hits)]
    if any(r.headers.get("x-cache-hit") != "true" for r in warm):
        raise RuntimeError("a warm query was not a cache hit")
    meta = cold.json()["metadata"]
    return {
        "points": len(names), "days": APP_DAYS, "url_bytes": len(url), "samples": meta["sample_count"],
        "response_bytes": len(cold.body), "cold_ms": cold.seconds * 1000,
        "cold_query_time_ms": meta["query_time_ms"], "warm_ms": median([r.seconds for r in warm]) * 1000,
        "warm_query_time_ms": median([int(r.headers["x-query-time-ms"]) for r in warm]), "hits": len(warm),
    }


def scenario_coalescing(b: Bench, points: list[str], span, one_request_calls: float) -> dict:
    """20 concurrent identical cold requests: upstream calls against one request's."""
    b.clear_log()
    with ThreadPoolExecutor(COALESCE_CLIENTS) as pool:
        replies = list(pool.map(lambda _: b.series(points, span), range(COALESCE_CLIENTS)))
    calls = len(b.upstream_calls())
    statuses = sorted({r.status for r in replies})
    cache = {}
    for r in replies:
        cache[r.headers.get("x-cache-status")] = cache.get(r.headers.get("x-cache-status"), 0) + 1
    ratio = calls / one_request_calls
    return {
        "clients": COALESCE_CLIENTS,
        "http_statuses": statuses,
        "cache_status": cache,
        "upstream_calls": calls,
        "one_request_calls": one_request_calls,
        "calls_ratio": ratio,
        "wall_ms_median": median([r.seconds for r in replies]) * 1000,
        "target_calls_ratio_max": TARGET_COALESCED_CALLS_RATIO,
        "met": ratio <= TARGET_COALESCED_CALLS_RATIO and statuses == [200],
    }


def scenario_partial(b: Bench, points: list[str], start: datetime) -> dict:
    """Cache [A, A+3d), ask [A+1d, A+5d): samples fetched upstream against samples returned."""
    cached_span = (start, start + PARTIAL_CACHED_DAYS * DAY)
    ask_span = (start + PARTIAL_OFFSET_DAYS * DAY, start + (PARTIAL_OFFSET_DAYS + PARTIAL_ASK_DAYS) * DAY)
    first = b.series(points, cached_span)
    if first.status != 200:
        raise RuntimeError(f"partial warm-up: {first.status}")
    wait_hit(b, points, cached_span)
    b.clear_log()
    reply = b.series(points, ask_span)
    fetched = sum(e.get("samples") or 0 for e in b.upstream_calls())
    returned = returned_samples(reply)
    edge = int(cached_span[1].timestamp() * 1000)
    uncached = sum(1 for entry in reply.json()["data"].values() for s in entry["samples"] if s[0] >= edge)
    return {
        "cache_status": reply.headers.get("x-cache-status"),
        "returned_samples": returned,
        "fetched_samples": fetched,
        "uncached_samples": uncached,
        "fetched_over_returned": fetched / returned,
        "fetched_over_uncached": fetched / uncached if uncached else float("nan"),
        "ms": reply.seconds * 1000,
        "met": reply.headers.get("x-cache-status") == "partial" and fetched <= uncached,
    }


def scenario_overlap(b: Bench, cached: list[str], new: list[str], span) -> dict:
    """Cache a set of points, then ask some of them plus new ones: FlightDeck sees only the new points."""
    first = b.series(cached, span)
    if first.status != 200:
        raise RuntimeError(f"overlap warm-up: {first.status}")
    wait_hit(b, cached, span)
    kept = cached[len(cached) - OVERLAP_KEPT:]
    b.clear_log()
    reply = b.series(kept + new, span)
    fetched = sum(e.get("samples") or 0 for e in b.upstream_calls())
    data = reply.json()["data"]
    new_samples = sum(data[name]["count"] for name in new)
    return {
        "cached_points": len(cached),
        "asked": f"{len(kept)} cached + {len(new)} new",
        "cache_status": reply.headers.get("x-cache-status"),
        "fetched_samples": fetched,
        "new_points_samples": new_samples,
        "upstream_calls": len(b.upstream_calls()),
        "ms": reply.seconds * 1000,
        "met": reply.headers.get("x-cache-status") == "partial" and fetched == new_samples,
    }


def scenario_wide_hit(b: Bench, points: list[str], span, hits: int) -> dict:
    """A 50-point, 30-day hit: objects read (R2 gets), subrequests of the invocation and time."""
    miss = b.series(points, span)
    if miss.status != 200:
        raise RuntimeError(f"wide miss: {miss.status} {miss.body[:300]!r}")
    wait_hit(b, points, span)
    mark = len(b.runtime.output)
    times = []
    for _ in range(hits):
        hit = b.series(points, span)
        if hit.headers.get("x-cache-status") != "hit":
            raise RuntimeError(f"expected a hit, got {hit.headers.get('x-cache-status')}")
        times.append(hit.seconds)
    invocations = [x for x in b.invocations_since(mark) if x.get("path") == "/api/timeseries"]
    objects = len(keys_for(points, span))
    return {
        "points": len(points),
        "days": WIDE_DAYS,
        "samples": returned_samples(miss),
        "objects_per_hit": objects,
        "hit_ms": median(times) * 1000,
        "miss_ms": miss.seconds * 1000,
        "hit_per_invocation": per_invocation(invocations),
        "met": objects < R2_CALLS_FREE_PLAN // 2,
    }


def scenario_shaping(b: Bench, points: list[str], span, hits: int) -> dict:
    """A 30-day one-minute hit, raw against shaped (time, bytes), and bytes per format of each answer."""
    warm = b.series(points, span, max_points=str(SHAPING_MAX_POINTS))
    if warm.status != 200:
        raise RuntimeError(f"shaping warm-up: {warm.status} {warm.body[:300]!r}")
    wait_for(lambda: b.series(points, span, max_points="2").headers.get("x-cache-status") == "hit",
             CACHE_WRITE_TIMEOUT_S, POLL_S)
    variants = {
        "raw": {},
        f"max_points={SHAPING_MAX_POINTS}": {"max_points": str(SHAPING_MAX_POINTS)},
        "interval=1h&agg=avg": {"interval": "1h", "agg": "avg"},
    }
    answers = {label: timed_hits(b, points, span, extra, hits) for label, extra in variants.items()}
    format_bytes = {
        label: {fmt: timed_hits(b, points, span, {**extra, "format": fmt}, 1)["bytes"] for fmt in SHAPING_FORMATS}
        for label, extra in variants.items()
    }
    raw_ms = answers["raw"]["ms"]
    return {
        "points": len(points),
        "days": (span[1] - span[0]).days,
        "answers": answers,
        "format_bytes": format_bytes,
        "raw_over_shaped_ms": {label: raw_ms / a["ms"] for label, a in answers.items()},
        "met": all(a["cache_status"] == "hit" for a in answers.values()),
    }


def timed_hits(b: Bench, points: list[str], span, extra: dict, hits: int) -> dict:
    """Median time and Server-Timing of `hits` identical requests, with the last one's bytes and counts."""
    mark = len(b.runtime.output)
    replies = [b.series(points, span, **extra) for _ in range(hits)]
    invocations = [x for x in b.invocations_since(mark) if x.get("path") == "/api/timeseries"]
    last = replies[-1]
    if last.status != 200:
        raise RuntimeError(f"{extra}: {last.status} {last.body[:300]!r}")
    stages = ("r2", "decode", "shape", "render", "total")
    meta = last.json()["_meta"] if "format" not in extra else {}
    return {
        "ms": median([r.seconds for r in replies]) * 1000,
        "bytes": len(last.body),
        "samples_read": meta.get("samplesBefore", meta.get("samplesCount")),
        "samples_returned": meta.get("samplesCount"),
        "cache_status": last.headers.get("x-cache-status"),
        "server_timing_ms": {name: median([r.timing().get(name, 0.0) for r in replies]) for name in stages},
        "per_invocation": per_invocation(invocations),
    }


def scenario_warming(b: Bench, names: list[str], today: datetime, dashboards: int) -> dict:
    """Next morning's dashboards with and without a cron run's warming.

    Two symmetric groups of dashboards (point sets) are asked for the day before yesterday. Group A's
    morning requests for yesterday are replayed before any cron run; then one cron run warms, and
    group B's morning requests are replayed.
    """
    sets = [names[i * DASHBOARD_POINTS:(i + 1) * DASHBOARD_POINTS] for i in range(2 * dashboards)]
    group_a, group_b = sets[:dashboards], sets[dashboards:]
    for points in sets:
        b.series(points, (today - 2 * DAY, today - DAY))
    asked = {json.dumps(sorted(points)) for points in sets}
    wait_for(lambda: asked <= {row["points"] for row in d1_query(b.persist, "SELECT points FROM warming_demand")},
             CACHE_WRITE_TIMEOUT_S, POLL_S)
    without = replay(b, group_a, (today - DAY, today))
    b.clear_log()
    started = time.monotonic()
    http("GET", f"{b.worker}/cdn-cgi/handler/scheduled?cron=*/15+*+*+*+*")
    cron_s = time.monotonic() - started
    cron_calls = len(b.upstream_calls())
    warmed = b.stats()["warming"]["objectsWarmed"]
    with_warming = replay(b, group_b, (today - DAY, today))
    return {
        "dashboards_per_group": dashboards, "points_per_dashboard": DASHBOARD_POINTS,
        "cron_upstream_calls": cron_calls, "cron_s": cron_s, "objects_warmed": warmed,
        "without": without, "with": with_warming, "met": with_warming["hit_rate"] == 1.0,
    }


def replay(b: Bench, sets: list[list[str]], span) -> dict:
    """The morning's requests: hit rate, upstream calls and median latency."""
    b.clear_log()
    replies = [b.series(points, span) for points in sets]
    if any(r.status != 200 for r in replies):
        raise RuntimeError(f"morning replay statuses: {[r.status for r in replies]}")
    hits = sum(r.headers.get("x-cache-status") == "hit" for r in replies)
    return {"hit_rate": hits / len(replies), "upstream_calls": len(b.upstream_calls()),
            "median_ms": median([r.seconds for r in replies]) * 1000}


def scenario_job(b: Bench, points: list[str], span, min_samples: int) -> dict:
    """A queued job: wall time, samples/s, and the runtime's peak RSS while it runs."""
    sampler = RssSampler(b.runtime_pid)
    mark = len(b.runtime.output)
    sampler.start()
    try:
        started = time.perf_counter()
        reply = b.series(points, span, route="queued")
        if reply.status != 202:
            raise RuntimeError(f"expected 202: {reply.status} {reply.body[:300]!r}")
        status_url = f"{b.worker}{reply.json()['statusUrl']}"
        job = poll_job(status_url)
        wall = time.perf_counter() - started
        result_started = time.perf_counter()
        result = http("GET", f"{status_url}/result", {"x-ace-token": TOKEN})
        result_s = time.perf_counter() - result_started
    finally:
        sampler.stop()
    returned = returned_samples(result) if result.status == 200 else None
    consumer = [x for x in b.invocations_since(mark) if x.get("handler") == "queue"]
    return {
        "points": len(points),
        "days": (span[1] - span[0]).days,
        "status": job["status"],
        "samples": job.get("samplesCount"),
        "wall_s": wall,
        "samples_per_s": (job.get("samplesCount") or 0) / wall,
        "result_status": result.status,
        "result_bytes": len(result.body),
        "result_s": result_s,
        "result_samples": returned,
        **sampler.figures(),
        "consumer_per_invocation": per_invocation(consumer),
        "min_samples": min_samples,
        "met": job["status"] == "completed" and returned == job.get("samplesCount") and returned >= min_samples,
    }


def per_invocation(lines: list[dict]) -> dict:
    """The runtime's per-invocation figures: how many, and the largest heap peak, subrequests and CPU ms."""
    if not lines:
        return {"invocations": 0}
    return {
        "invocations": len(lines),
        "heap_peak_mb_max": max(x["heapPeakMB"] for x in lines),
        "subrequests_max": max(x["subrequests"] for x in lines),
        "subrequests_median": median([x["subrequests"] for x in lines]),
        "cpu_ms_max": max(x["cpuMs"] for x in lines),
        "cpu_ms_median": median([x["cpuMs"] for x in lines]),
        "outcomes": sorted({x["outcome"] for x in lines}),
    }


def poll_job(status_url: str) -> dict:
    def finished() -> dict | None:
        reply = http("GET", status_url, {"x-ace-token": TOKEN})
        if reply.status != 200:  # e.g. the runtime's 503 while an isolate that exceeded 128 MB is replaced
            return None
        job = reply.json()
        return job if job["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(finished, JOB_TIMEOUT_S, POLL_S)


class RssSampler:
    """Samples VmRSS of the runtime (node, where Pyodide lives) and of its children (workerd)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.node_kb = self.children_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.base_kb = _status_kb(self.pid, "VmRSS")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.node_kb = max(self.node_kb, _status_kb(self.pid, "VmRSS"))
            self.children_kb = max(self.children_kb, sum(_status_kb(c, "VmRSS") for c in _descendants(self.pid)))
            self._stop.wait(RSS_SAMPLE_S)

    def figures(self) -> dict:
        return {
            "node_rss_before_mb": self.base_kb / 1024,
            "node_peak_rss_mb": self.node_kb / 1024,
            "node_vmhwm_mb": _status_kb(self.pid, "VmHWM") / 1024,
            "workerd_peak_rss_mb": self.children_kb / 1024,
        }


def _status_kb(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            kids = [int(k) for k in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            kids = []
        out.extend(kids)
        todo.extend(kids)
    return out


# -- the run -----------------------------------------------------------------------------------


def scenario_heap_per_sample(sim_url: str, tmp: Path, points: list[str], span) -> dict:
    """Pyodide heap per answered sample, per format, each on a fresh runtime; and the cap it allows."""
    per_format = {fmt: heap_of_answer(sim_url, tmp / f"heap-{fmt}", points, span, fmt) for fmt in HEAP_FORMATS}
    samples = per_format["json"]["samples"]  # the same points and span in every format
    for figures in per_format.values():
        figures["bytes_per_sample"] = round((figures["peak_mb"] - figures["baseline_mb"]) * 1e6 / samples, 1)
    worst = max(per_format.values(), key=lambda f: f["bytes_per_sample"])
    allowed = (HEAP_BUDGET_MB - worst["baseline_mb"]) * 1e6 / worst["bytes_per_sample"]
    return {"samples": samples, "formats": per_format, "budget_mb": HEAP_BUDGET_MB,
            "max_response_samples_allowed": int(allowed), "met": all(f["outcome"] == "ok" for f in per_format.values())}


def heap_of_answer(sim_url: str, persist: Path, points: list[str], span, fmt: str) -> dict:
    """The heap before (after a small warm-up) and at the peak of one large answer, a miss then a hit,
    on a fresh runtime."""
    runtime = start_worker(sim_url, persist, ratelimits=BENCH_RATELIMITS)
    try:
        b = Bench(sim_url, runtime.url, runtime, persist)
        mark = len(runtime.output)
        baseline = b.invocation_of(b.series(points[:1], (span[0], span[0] + DAY), format=fmt), mark)["heapPeakMB"]
        mark = len(runtime.output)
        reply = b.series(points, span, format=fmt)
        if reply.status != 200:
            raise RuntimeError(f"heap {fmt}: {reply.status} {reply.body[:300]!r}")
        answer = b.invocation_of(reply, mark)
        samples = sum(p["count"] for p in reply.json()["data"].values()) if fmt == "json" else None
        # Then the same answer from the cache (its values as text): the heap only grows, so the
        # peak after it is the larger of the two.
        b.wait_cached(len(keys_for(points, span)))
        mark = len(runtime.output)
        hit = b.series(points, span, format=fmt)
        if hit.headers.get("x-cache-status") != "hit":
            raise RuntimeError(f"heap {fmt}: expected a hit, got {hit.headers.get('x-cache-status')}")
        cached = b.invocation_of(hit, mark)
    finally:
        runtime.stop()
    outcome = answer["outcome"] if answer["outcome"] != "ok" else cached["outcome"]
    return {"samples": samples, "baseline_mb": baseline, "miss_peak_mb": answer["heapPeakMB"],
            "peak_mb": cached["heapPeakMB"], "outcome": outcome}


def pick_points(points: list[dict]) -> tuple[list[dict], list[dict]]:
    """Mixed points (every MIXED_STRIDE-th), and the shortest prefix of them near 50k samples a week."""
    mixed = points[::MIXED_STRIDE]
    hit_miss = []
    for p in mixed:
        hit_miss.append(p)
        if samples_per_day(hit_miss) * 7 >= HIT_MISS_SAMPLES:
            break
    return mixed, hit_miss


def run_heap(args, tmp: Path) -> dict:
    """The heap-per-sample scenario alone: its fresh runtimes would disturb the others' timings."""
    figures: dict = {"latency_ms": args.latency_ms, "quick": args.quick}
    sim = start_simulator("--latency-ms", str(args.latency_ms))
    try:
        minute_points = [p["name"] for p in Bench(sim.url, "", None, tmp).sim_points()
                         if p["collect_interval"] == JOB_INTERVAL_S and p.get("collect_enabled", True)]
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - 2 * DAY
        span = (end - HEAP_DAYS * DAY, end)
        scenario(figures, "heap_per_sample",
                 lambda: scenario_heap_per_sample(sim.url, tmp, minute_points[:HEAP_POINTS], span))
    finally:
        sim.stop()
    return figures


def run(args, tmp: Path) -> dict:
    reps = QUICK if args.quick else FULL
    misses = args.misses or reps["misses"]
    hits = args.hits or reps["hits"]
    figures: dict = {"latency_ms": args.latency_ms, "quick": args.quick}
    sim = start_simulator("--latency-ms", str(args.latency_ms))
    runtime = None
    try:
        persist = tmp / "state"
        runtime = start_worker(sim.url, persist, ratelimits=BENCH_RATELIMITS, floor_module=FLOOR_MODULE,
                               WARMING_TOKEN=TOKEN,
                               MAX_RESPONSE_SAMPLES=str(BENCH_MAX_RESPONSE_SAMPLES))
        b = Bench(sim.url, runtime.url, runtime, persist)
        all_points = b.sim_points()
        mixed, hm = pick_points(all_points)
        names = [p["name"] for p in mixed]
        hm_names = [p["name"] for p in hm]
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        anchor = today - 2 * DAY  # whole, settled days only

        def week(k: int):
            return (anchor - (k + 1) * 7 * DAY, anchor - k * 7 * DAY)

        scenario(figures, "compression", lambda: scenario_compression(b, names, week(0)))
        scenario(
            figures, "hit_miss", lambda: scenario_hit_miss(b, hm_names, [week(1 + i) for i in range(misses)], hits)
        )
        one = figures["hit_miss"].get("upstream_calls_per_miss")
        if one is None:
            b.clear_log()
            b.series(hm_names, week(misses + 1))
            one = len(b.upstream_calls())
        scenario(figures, "coalescing", lambda: scenario_coalescing(b, hm_names, week(misses + 2), one))
        scenario(figures, "partial", lambda: scenario_partial(b, hm_names, week(misses + 3)[0]))
        scenario(figures, "app_query", lambda: scenario_app_query(b, (anchor - APP_DAYS * DAY, anchor), hits))
        # Dashboards over the site's last points (sorted by name), on days no other scenario asks for.
        dashboard_names = [p["name"] for p in all_points][-2 * reps["dashboards"] * DASHBOARD_POINTS:]
        scenario(figures, "warming", lambda: scenario_warming(b, dashboard_names, today, reps["dashboards"]))
        # The site's 1-minute points: all 182 names do not fit in one URL (the runtime answers 431).
        job_points = [
            p for p in all_points if p["collect_interval"] == JOB_INTERVAL_S and p.get("collect_enabled", True)
        ]
        job_target = JOB_SAMPLES_QUICK if args.quick else JOB_SAMPLES
        job_days = math.ceil(job_target * JOB_OUTAGE_MARGIN / samples_per_day(job_points))
        job_end = week(misses + 4)[0]
        scenario(
            figures,
            "job",
            lambda: scenario_job(b, [p["name"] for p in job_points], (job_end - job_days * DAY, job_end), job_target),
        )
        shaping_end = job_end - job_days * DAY
        scenario(
            figures,
            "shaping",
            lambda: scenario_shaping(
                b,
                [p["name"] for p in job_points[:SHAPING_POINTS]],
                (shaping_end - SHAPING_DAYS * DAY, shaping_end),
                hits,
            ),
        )
        overlap_end = shaping_end - SHAPING_DAYS * DAY
        others = [name for name in names if name not in hm_names][:OVERLAP_NEW]
        scenario(figures, "overlap",
                 lambda: scenario_overlap(b, hm_names[-(OVERLAP_KEPT + OVERLAP_NEW):], others,
                                          (overlap_end - 7 * DAY, overlap_end)))
        wide_end = overlap_end - 7 * DAY
        enabled = [p for p in all_points if p.get("collect_enabled", True)]  # points with data: hits
        sparse = sorted(enabled, key=lambda p: (-p["collect_interval"], p["name"]))[:WIDE_POINTS]
        scenario(figures, "wide_hit",
                 lambda: scenario_wide_hit(b, [p["name"] for p in sparse], (wide_end - WIDE_DAYS * DAY, wide_end),
                                           hits))
    finally:
        if runtime is not None:
            runtime.stop()
        sim.stop()
    return figures


def scenario(figures: dict, name: str, body) -> None:
    """Run one scenario; a failure is recorded and the others still run."""
    started = time.monotonic()
    print(f"... {name}", file=sys.stderr, flush=True)
    try:
        figures[name] = body()
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        figures[name] = {"error": f"{type(exc).__name__}: {exc}", "met": False}
    figures[name]["seconds"] = round(time.monotonic() - started, 1)


def breakdown(figures: dict) -> dict | None:
    """The hit's and its fair floor's time by stage: the worker's Server-Timing, and the runtime and HTTP around it.

    The hit's `worker_other` holds the wait for its rate-limit check, which overlaps its R2 reads and decoding.
    """
    hm = figures.get("hit_miss", {})
    if "hit_ms" not in hm:
        return None
    st = hm["hit_server_timing_ms"]
    stages = {
        "auth": st["auth"],
        "r2_read": st["r2"],
        "decode": st["decode"],
        "render": st["render"],
        "worker_other": max(0.0, st["total"] - st["auth"] - st["r2"] - st["decode"] - st["render"]),
        "runtime_and_http": hm["hit_outside_worker_ms"],
    }
    fl = hm["floor_server_timing_ms"]
    floor_stages = {
        "r2_read": fl["r2"],
        "worker_other": max(0.0, fl["total"] - fl["r2"]),
        "runtime_and_http": hm["floor_outside_worker_ms"],
    }
    largest = max(stages, key=stages.get)
    return {
        "stages_ms": stages,
        "largest": largest,
        "floor_ms": hm["floor_ms"],
        "floor_stages_ms": floor_stages,
        "hit_over_floor": hm["hit_over_floor"],
        "hit_above_floor_ms": hm["hit_ms"] - hm["floor_ms"],
    }


def print_table(f: dict) -> None:
    rows: list[tuple[str, str, str]] = []

    def add(label, value, target=""):
        rows.append((label, value, target))

    c = f.get("compression", {})
    if "json_bytes" in c:
        add(
            "1 compression: JSON bytes",
            f"{c['json_bytes']:,} ({c['samples']:,} samples, {c['points']} pts x {c['days']} d)",
        )
        add("  stored in R2 (D1 compressed_size)", f"{c['stored_bytes']:,} ({c['codec']}, {c['objects']} objects)")
        add("  stored / JSON", pct(c["stored_over_json"]), f"<= {pct(TARGET_STORED_OVER_JSON)} {ok(c['met'])}")
        add("  gzip(JSON) / JSON  [original impl]", pct(c["gzip_over_json"]))
        add("  brotli(JSON) / JSON  [original design]", pct(c["brotli_over_json"]))
        add("  stored / gzip, stored / brotli", f"{c['stored_over_gzip']:.3f}, {c['stored_over_brotli']:.3f}")
        add("  codec in-process / stored", f"{c['codec_check_over_stored']:.3f}")
    hm = f.get("hit_miss", {})
    if "hit_ms" in hm:
        add("2 hit vs miss: samples, points", f"{hm['samples']:,}, {hm['points']}")
        add(
            "  median miss / hit (ms)",
            f"{hm['miss_ms']:.0f} / {hm['hit_ms']:.0f}  ({hm['misses']} misses, {hm['hits']} hits)",
        )
        add("  miss / hit", f"{hm['miss_over_hit']:.1f}x", f">= {TARGET_MISS_OVER_HIT:g}x {ok(hm['met'])}")
        add("  miss Server-Timing (ms)", fmt_ms(hm["miss_server_timing_ms"]))
        add("  hit Server-Timing (ms)", fmt_ms(hm["hit_server_timing_ms"]))
        add("  rate-limit check on a hit (ms)",
            f"{hm['limit_check_ms']:.1f} ({pct(hm['limit_check_share_of_hit'])} of the hit's {hm['hit_ms']:.0f} ms)")
        add("  a hit's invocation", fmt_invocations(hm["hit_per_invocation"]))
        add("  R2 objects read per hit", f"{hm['objects_per_hit']} (one per point and month)")
    bd = f.get("hit_breakdown")
    if bd:
        add("  hit breakdown (ms)", fmt_ms(bd["stages_ms"]))
        add("  largest hit cost", bd["largest"])
        add(
            "  fair floor: same R2 reads + a body of the hit's size (ms)",
            f"{bd['floor_ms']:.1f}  ({fmt_ms(bd['floor_stages_ms'])}; {hm['floors']} floors between the hits)",
        )
        add("  hit / fair floor",
            f"{bd['hit_over_floor']:.2f}x  (the hit is {bd['hit_above_floor_ms']:.0f} ms above it)")
        add("  a floor's invocation", fmt_invocations(hm["floor_per_invocation"]))
    co = f.get("coalescing", {})
    if "upstream_calls" in co:
        add(
            "3 coalescing: 20 cold requests' upstream calls",
            f"{co['upstream_calls']} vs one request's {co['one_request_calls']:g}",
            f"ratio {co['calls_ratio']:.2f} <= 1 {ok(co['met'])}",
        )
        add("  cache statuses", json.dumps(co["cache_status"]))
    pa = f.get("partial", {})
    if "fetched_samples" in pa:
        add(
            "4 partial: fetched / returned samples",
            f"{pa['fetched_samples']:,} / {pa['returned_samples']:,} = {pa['fetched_over_returned']:.2f}",
            f"fetched <= uncached {pa['uncached_samples']:,} {ok(pa['met'])}",
        )
    aq = f.get("app_query", {})
    if "cold_ms" in aq:
        add(
            "5 app /timeseries/query: points x days, samples",
            f"{aq['points']} x {aq['days']} d, {aq['samples']:,} ({aq['response_bytes']:,} bytes, "
            f"URL {aq['url_bytes']:,} bytes)",
        )
        add(
            "  cold / warm (ms)",
            f"{aq['cold_ms']:.0f} / {aq['warm_ms']:.0f}  (query_time_ms {aq['cold_query_time_ms']} / "
            f"{aq['warm_query_time_ms']:.0f}, {aq['hits']} warm)",
        )
    wa = f.get("warming", {})
    if "with" in wa:
        add("6 warming: one cron run", f"{wa['cron_upstream_calls']} upstream calls,"
            f" {wa['objects_warmed']} objects warmed in {wa['cron_s']:.1f} s")
        for label in ("without", "with"):
            r = wa[label]
            add(f"  next morning, {label} warming",
                f"hit rate {pct(r['hit_rate'])}, {r['upstream_calls']} upstream calls, median {r['median_ms']:.0f} ms"
                f" ({wa['dashboards_per_group']} dashboards of {wa['points_per_dashboard']} points)")
    jb = f.get("job", {})
    if "wall_s" in jb:
        add(
            "7 job: samples, wall",
            f"{jb['samples']:,} in {jb['wall_s']:.1f} s ({jb['points']} pts x {jb['days']} d)",
            ok(jb["met"]),
        )
        add("  samples/s", f"{jb['samples_per_s']:,.0f}")
        add(
            "  runtime node peak RSS (MB)",
            f"{jb['node_peak_rss_mb']:.0f} (before {jb['node_rss_before_mb']:.0f}, "
            f"VmHWM {jb['node_vmhwm_mb']:.0f}); workerd {jb['workerd_peak_rss_mb']:.0f}",
        )
        add("  result download", f"{jb['result_bytes']:,} bytes in {jb['result_s']:.1f} s")
        add("  consumer invocations", fmt_invocations(jb["consumer_per_invocation"]))
    sh = f.get("shaping", {})
    if "answers" in sh:
        add("6 shaping: a hit of", f"{sh['points']} one-minute pts x {sh['days']} d")
        for label, a in sh["answers"].items():
            st = a["server_timing_ms"]
            add(
                f"  {label}",
                f"{a['ms']:.0f} ms, {a['bytes']:,} bytes, {a['samples_returned']:,} of {a['samples_read']:,} samples "
                f"(decode {st['decode']:.0f}, shape {st['shape']:.0f}, render {st['render']:.0f} ms)",
                ok(a["cache_status"] == "hit"),
            )
            add("    its invocations", fmt_invocations(a["per_invocation"]))
        for label, sizes in sh["format_bytes"].items():
            add(f"  bytes per format, {label}", ", ".join(f"{fmt} {n:,}" for fmt, n in sizes.items()))
    ov = f.get("overlap", {})
    if "fetched_samples" in ov:
        add("8 overlapping sets: " + ov["asked"] + f" after {ov['cached_points']}",
            f"{ov['cache_status']}, fetched {ov['fetched_samples']:,} samples in {ov['upstream_calls']} calls",
            f"= new points' {ov['new_points_samples']:,} {ok(ov['met'])}")
    wh = f.get("wide_hit", {})
    if "hit_ms" in wh:
        add(f"9 wide hit: {wh['points']} pts x {wh['days']} d, {wh['samples']:,} samples",
            f"{wh['objects_per_hit']} R2 objects, hit {wh['hit_ms']:.0f} ms (miss {wh['miss_ms']:.0f} ms)",
            f"< {R2_CALLS_FREE_PLAN // 2} objects {ok(wh['met'])}")
        add("  its invocations", fmt_invocations(wh["hit_per_invocation"]))
    hp = f.get("heap_per_sample", {})
    if "formats" in hp:
        add("7 heap per answered sample", f"{hp['samples']:,} samples, a miss then its hit, on a fresh runtime")
        for fmt, h in hp["formats"].items():
            heap = (f"{h['bytes_per_sample']:.0f} B/sample ({h['baseline_mb']} -> {h['miss_peak_mb']} MB"
                    f" on the miss, {h['peak_mb']} MB after the hit)")
            add(f"  {fmt}", heap, h["outcome"])
        fits = hp["max_response_samples_allowed"]
        add("  MAX_RESPONSE_SAMPLES that fits", f"{fits:,} (heap budget {hp['budget_mb']} MB)")
    for name in ("compression", "hit_miss", "coalescing", "partial", "app_query", "warming", "job", "shaping",
                 "heap_per_sample", "overlap", "wide_hit"):
        if "error" in f.get(name, {}):
            add(f"{name} FAILED", f[name]["error"][:100])
    width = max(len(r[0]) for r in rows) if rows else 10
    print(f"make bench  (simulator latency {f['latency_ms']:g} ms/call{', quick' if f['quick'] else ''})")
    for label, value, target in rows:
        print(f"{label:<{width}}  {value}  {target}".rstrip())


def pct(x: float) -> str:
    return f"{x * 100:.2f}%"


def ok(met: bool) -> str:
    return "MET" if met else "NOT MET"


def fmt_invocations(d: dict) -> str:
    if not d["invocations"]:
        return "none logged"
    return (
        f"{d['invocations']}: Pyodide heap peak {d['heap_peak_mb_max']:.1f} MB, subrequests "
        f"{d['subrequests_median']:g} (max {d['subrequests_max']}), CPU {d['cpu_ms_median']:g} ms "
        f"(max {d['cpu_ms_max']}), outcomes {', '.join(d['outcomes'])}"
    )


def fmt_ms(d: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in d.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a smaller job")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=float(os.environ.get("BENCH_LATENCY_MS", DEFAULT_LATENCY_MS)),
        help=f"simulator latency per FlightDeck call (default {DEFAULT_LATENCY_MS})",
    )
    parser.add_argument("--misses", type=int, default=0, help="cold misses to time (each followed by hits)")
    parser.add_argument("--hits", type=int, default=0, help="hits timed after each miss")
    parser.add_argument("--keep", action="store_true", help="keep the temporary persist dir and logs")
    parser.add_argument("--heap-only", action="store_true", help="only the heap per sample of each answer format")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="bv-bench-"))
    try:
        figures = {} if args.heap_only else run(args, tmp)
        figures.update(run_heap(args, tmp))
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    figures["hit_breakdown"] = breakdown(figures)
    figures["targets_met"] = {
        name: figures.get(name, {}).get("met", False)
        for name in ("compression", "hit_miss", "coalescing", "partial", "warming", "job", "shaping")
    }
    figures["duration_s"] = round(time.monotonic() - started, 1)
    print_table(figures)
    print(json.dumps(figures, separators=(",", ":"), default=str))
    failed = any(
        "error" in (figures.get(n) or {})
        for n in ("compression", "hit_miss", "coalescing", "partial", "app_query", "warming", "job", "shaping",
                  "heap_per_sample")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
