"""The timeseries JSON body, `{"data": {point: {samples, count, error}}, "_meta": {...}}`, in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .series import PointSeries, Value

CHUNK_SAMPLES = 20_000


def json_items(values: list[Value]) -> list[str]:
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


def value_texts(points: PointSeries) -> list[str]:
    """Each value as JSON text: the cache's own text when the series came from it."""
    return points.texts if points.texts is not None else json_items(points.values)


def format_samples(points: PointSeries, template: str) -> str:
    """`template % (time, value's JSON text)` for every sample, concatenated.

    One `%` format over the interleaved columns: a single C loop with no Python code per sample
    (under Pyodide 1.7x faster than joining dumped columns). `template` holds one `%d` (the time)
    and one `%s` (the value); any other `%` in it must be doubled.
    """
    count = len(points)
    if not count:
        return ""
    parts: list[object] = [None] * (2 * count)
    parts[0::2] = points.times
    parts[1::2] = value_texts(points)
    return template * count % tuple(parts)


def pairs_json(points: PointSeries) -> str:
    """`[t,v],[t,v],…` for the samples, without the outer brackets."""
    return format_samples(points, "[%d,%s],")[:-1]


def point_chunks(name: str, points: PointSeries, error: str | None, first: bool) -> Iterator[str]:
    """One point's entry as JSON text, its samples rendered a slice at a time."""
    yield ("" if first else ",") + json.dumps(name) + ':{"samples":['
    for index, part in enumerate(points.chunks(CHUNK_SAMPLES)):
        yield ("," if index else "") + pairs_json(part)
    yield '],"count":' + str(len(points)) + ',"error":' + json.dumps(error) + "}"


def open_body() -> str:
    return '{"data":{'


def close_body(meta: dict) -> str:
    return '},"_meta":' + json.dumps(meta, separators=(",", ":")) + "}"
