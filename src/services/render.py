"""The timeseries JSON body, `{"data": {point: {samples, count, error}}, "_meta": {...}}`, in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .series import PointSeries

CHUNK_SAMPLES = 20_000


def json_columns(times: list[int], values: list) -> tuple[list[str], list[str]]:
    """Each timestamp and each value as JSON text.

    Two flat `json.dumps` calls split on commas run in C and beat dumping sample by sample; when a
    text value holds a comma the split count gives it away and the values are dumped one by one.
    """
    stamps = json.dumps(times, separators=(",", ":"))[1:-1].split(",")
    rendered = json.dumps(values, separators=(",", ":"))[1:-1].split(",")
    if len(rendered) != len(times):
        rendered = [json.dumps(value) for value in values]
    return stamps, rendered


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


def render_body(series: dict[str, PointSeries], errors: dict[str, str], meta: dict) -> bytes:
    """The whole body at once, for responses small enough to hold (direct and cached routes)."""
    parts = [open_body()]
    for index, (name, points) in enumerate(series.items()):
        parts.extend(point_chunks(name, points, errors.get(name), index == 0))
    parts.append(close_body(meta))
    return "".join(parts).encode()
