"""The timeseries JSON body, `{"data": {point: {samples, count, error}}, "_meta": {...}}`, in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .series import PointSeries

CHUNK_SAMPLES = 20_000


def json_items(values: list) -> list[str]:
    """Each value as JSON text: one `json.dumps` of the list and a split, both C loops.

    A text value holding a comma gives itself away in the split count; then each value is
    dumped on its own.
    """
    if not values:
        return []
    items = json.dumps(values, separators=(",", ":"))[1:-1].split(",")
    if len(items) != len(values):
        return [json.dumps(value) for value in values]
    return items


def pairs_json(times: list[int], values: list) -> str:
    """`[t,v],[t,v],…` for the samples, without the outer brackets."""
    if not times:
        return ""
    return "[" + "],[".join(map(",".join, zip(json_items(times), json_items(values)))) + "]"


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
