"""The timeseries JSON body, `{"data": {point: {samples, count, error}}, "_meta": {...}}`, in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .series import PointSeries

CHUNK_SAMPLES = 20_000


def json_items(values: list) -> list[str]:
    """Each value as JSON text.

    One flat `json.dumps` split on commas runs in C and beats dumping value by value; when a text
    value holds a comma the split count gives it away and the values are dumped one by one.
    """
    if not values:
        return []
    items = json.dumps(values, separators=(",", ":"))[1:-1].split(",")
    if len(items) != len(values):
        return [json.dumps(value) for value in values]
    return items


def json_columns(times: list[int], values: list) -> tuple[list[str], list[str]]:
    """Each timestamp and each value as JSON text."""
    return json_items(times), json_items(values)


def pairs_json(times: list[int], values: list) -> str:
    """`[t,v],[t,v],…` for the samples, without the outer brackets."""
    if not times:
        return ""
    stamps, rendered = json_columns(times, values)
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

