"""The timeseries JSON body, `{"data": {point: {samples, count, error}}, "_meta": {...}}`, in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .series import PointSeries, Value

CHUNK_SAMPLES = 20_000
# Splits joined texts apart again; JSON text never holds a raw NUL (json.dumps escapes it).
_CUT = "\0"


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


def json_columns(points: PointSeries) -> tuple[list[str], list[str]]:
    """Each timestamp and each value as JSON text."""
    return json_items(points.times), value_texts(points)


def pairs_json(points: PointSeries) -> str:
    """`[t,v],[t,v],…` for the samples, without the outer brackets.

    Every step is a C loop (no Python code runs per sample): the stamps as one text cut into
    `[t,` pieces, the values as one text cut into `v],` pieces (the last `v]`), and the two
    interleaved by slice assignment and joined.
    """
    count = len(points)
    if not count:
        return ""
    stamps = json.dumps(points.times, separators=(",", ":"))[1:-1]
    heads = ("[" + stamps.replace(",", "," + _CUT + "[") + ",").split(_CUT)
    values = value_texts(points)
    tails = (",".join(values).replace(",", "]," + _CUT) + "]").split(_CUT)
    if len(tails) != count:  # a text value holds a comma
        tails = [value + "]," for value in values]
        tails[-1] = values[-1] + "]"
    parts: list[str | None] = [None] * (2 * count)
    parts[0::2] = heads
    parts[1::2] = tails
    return "".join(parts)  # type: ignore[arg-type]


def point_chunks(name: str, points: PointSeries, error: str | None, first: bool) -> Iterator[str]:
    """One point's entry as JSON text, its samples rendered a slice at a time."""
    yield ("" if first else ",") + json.dumps(name) + ':{"samples":['
    for start in range(0, len(points), CHUNK_SAMPLES):
        yield ("," if start else "") + pairs_json(points.slice(start, start + CHUNK_SAMPLES))
    yield '],"count":' + str(len(points)) + ',"error":' + json.dumps(error) + "}"


def open_body() -> str:
    return '{"data":{'


def close_body(meta: dict) -> str:
    return '},"_meta":' + json.dumps(meta, separators=(",", ":")) + "}"
