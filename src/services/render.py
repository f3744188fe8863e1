"""The timeseries JSON body, `{"data": {point: {samples, count, error}}, "_meta": {...}}`, in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .codec import PointSeries

CHUNK_SAMPLES = 20_000


def pairs_json(times: list[int], values: list) -> str:
    """`[t,v],[t,v],…` for the samples, without the outer brackets.

    Two flat `json.dumps` calls and a join run in C and beat dumping a list of pairs; when a text
    value holds a comma the split count gives it away and the plain way is used.
    """
    if not times:
        return ""
    stamps = json.dumps(times, separators=(",", ":"))[1:-1].split(",")
    rendered = json.dumps(values, separators=(",", ":"))[1:-1].split(",")
    if len(rendered) != len(times):
        return json.dumps(list(zip(times, values)), separators=(",", ":"))[1:-1]
    return "[" + "],[".join(map(",".join, zip(stamps, rendered))) + "]"


def point_chunks(name: str, points: PointSeries, error: str | None, first: bool) -> Iterator[str]:
    """One point's entry as JSON text, its samples rendered a slice at a time."""
    yield ("" if first else ",") + json.dumps(name) + ':{"samples":['
    for start in range(0, len(points), CHUNK_SAMPLES):
        stop = start + CHUNK_SAMPLES
        yield ("," if start else "") + pairs_json(points.times[start:stop], points.values[start:stop])
    yield '],"count":' + str(len(points)) + ',"error":' + json.dumps(error) + "}"


def open_body() -> str:
    return '{"data":{'


def close_body(meta: dict) -> str:
    return '},"_meta":' + json.dumps(meta, separators=(",", ":")) + "}"
