"""Columnar sample encoding and compression: pure functions over values and bytes.

An object is `MAGIC, version, codec name, compressed body`. The body holds, per point, a JSON
header (name, count, where each UTC day starts, whether the values split on commas) followed by
two columns: timestamps as int64 deltas, and the values as their JSON text (what an answer
prints, so a cache hit copies text rather than formatting numbers). Regular sensor data becomes
long runs of repeated bytes and digits that any codec squeezes to almost nothing.
"""

from __future__ import annotations

import json
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from operator import sub

from .render import value_texts
from .series import PointSeries, Series
from .timerange import DAY_MS, Span

MAGIC = b"BVTS"
FORMAT_VERSION = 3
# On a week of 23 mixed simulator points (CPython): zstd-12 stores 2.66% of the JSON in 27 ms,
# zstd-15 2.45% in 32 ms, zstd-19 2.34% in 112 ms. The encode runs on every miss and job part (after
# the response), so 15.
ZSTD_LEVEL = 15


# -- compression ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Codec:
    """A named compressor; the name is what object metadata records."""

    name: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]


def _zstd_module():
    try:
        from compression import zstd  # Python 3.14, Pyodide 314

        return zstd
    except ImportError:
        pass
    try:
        from backports import zstd  # CPython 3.11 to 3.13

        return zstd
    except ImportError:
        return None


def _load_codecs() -> dict[str, Codec]:
    codecs = {"gzip": Codec("gzip", lambda data: zlib.compress(data, 9), zlib.decompress)}
    zstd = _zstd_module()
    if zstd is not None:
        codecs["zstd"] = Codec("zstd", lambda data: zstd.compress(data, ZSTD_LEVEL), zstd.decompress)
    return codecs


CODECS = _load_codecs()
# Measured on a week of mixed simulator points: zstd stores the columnar body smallest and
# decodes fastest; gzip is the fallback every runtime has. (Brotli is not offered: Pyodide's
# wheel is on its CDN only and the Worker does not vendor it, so production could not load it.)
PREFERENCE = ("zstd", "gzip")


def best_codec() -> Codec:
    """The most effective codec this runtime has."""
    return next(CODECS[name] for name in PREFERENCE if name in CODECS)


# -- columns ----------------------------------------------------------------------------------
#
# Every column is fixed-width little-endian (int64 or float64), stored as byte planes, so that
# decoding is slicing, `array.frombytes` and `itertools.accumulate`: loops that run in C. (A
# pure-Python varint reader was the largest cost of a cache hit under Pyodide.) The planes put the
# always-zero high bytes of small deltas together, and the codec squeezes those runs to nothing.

def _column(typecode: str, numbers: Iterable[int | float]) -> bytes:
    """Little-endian words, shuffled into byte planes (all first bytes, then all second bytes …)."""
    column = array(typecode, numbers)
    if sys.byteorder == "big":
        column.byteswap()
    raw = column.tobytes()
    return b"".join(raw[plane :: column.itemsize] for plane in range(column.itemsize))


def _read_column(typecode: str, data: memoryview, pos: int, count: int) -> tuple[array, int]:
    column = array(typecode)
    width = column.itemsize
    end = pos + width * count
    raw = bytearray(width * count)
    for plane in range(width):
        raw[plane::width] = data[pos + plane * count : pos + (plane + 1) * count]
    column.frombytes(raw)
    if sys.byteorder == "big":
        column.byteswap()
    return column, end


def _deltas(numbers: Iterable[int]) -> list[int]:
    listed = list(numbers)
    return list(map(sub, listed, [0, *listed[:-1]]))


def _day_marks(times: list[int]) -> list[list[int]]:
    """`[index, time]` of each UTC day's first sample: where a windowed decode can start."""
    if not times:
        return []
    marks = []
    for day in range(times[0] // DAY_MS, times[-1] // DAY_MS + 1):
        index = bisect_left(times, day * DAY_MS)
        if times[index] < (day + 1) * DAY_MS:
            marks.append([index, times[index]])
    return marks


def encode_columns(series: Series) -> bytes:
    """Lay samples out column-wise (uncompressed), points in sorted name order."""
    parts = [_column("q", [len(series)])]
    for name in sorted(series):
        points = series[name]
        values = ",".join(value_texts(points))
        plain = values.count(",") == len(points) - 1  # no text value holds a comma
        header = json.dumps([name, len(points), _day_marks(points.times), plain], separators=(",", ":")).encode()
        encoded = values.encode()
        parts += [_column("q", [len(header)]), header, _column("q", _deltas(points.times)),
                  _column("q", [len(encoded)]), encoded]
    return b"".join(parts)


def _rows_for(marks: list[list[int]], count: int, window: Span | None) -> tuple[int, int, int]:
    """The rows `[lo, hi)` of the whole UTC days that hold `window` (all rows without one), and the time at lo."""
    if window is None or not marks:
        return 0, count, marks[0][1] if marks else 0
    starts = [time for _, time in marks]
    first = max(bisect_right(starts, window.start_ms) - 1, 0)
    last = bisect_left(starts, window.end_ms)
    return marks[first][0], marks[last][0] if last < len(marks) else count, marks[first][1]


def decode_columns(raw: bytes, window: Span | None = None) -> Series:
    """Inverse of `encode_columns`, each point cut to `window` when given; values keep their JSON text.

    Only the days holding the window become Python objects: a month object read for a week
    costs a week.
    """
    data = memoryview(raw)
    (count,), pos = _read_column("q", data, 0, 1)
    series: Series = {}
    for _ in range(count):
        (length,), pos = _read_column("q", data, pos, 1)
        name, n, marks, plain = json.loads(bytes(data[pos : pos + length]))
        deltas, pos = _read_column("q", data, pos + length, n)
        (length,), pos = _read_column("q", data, pos, 1)
        text = str(data[pos : pos + length], "utf-8")
        pos += length
        lo, hi, first = _rows_for(marks, n, window)
        times = list(accumulate(deltas[lo + 1 : hi], initial=first)) if hi > lo else []
        if plain:
            points = PointSeries(times, texts=text.split(",", hi)[lo:hi] if hi > lo else [])
        else:
            points = PointSeries(times, json.loads("[" + text + "]")[lo:hi])
        series[name] = points.window(window.start_ms, window.end_ms) if window else points
    return series


@dataclass(frozen=True)
class Encoded:
    """A compressed object and the facts its metadata records."""

    body: bytes
    codec: str
    raw_size: int
    samples: int


def encode(series: Series, codec: Codec | None = None) -> Encoded:
    """Columnar-encode and compress samples into one self-describing object."""
    chosen = codec or best_codec()
    raw = encode_columns(series)
    label = chosen.name.encode()
    body = MAGIC + bytes([FORMAT_VERSION, len(label)]) + label + chosen.compress(raw)
    return Encoded(body, chosen.name, len(raw), sum(len(p) for p in series.values()))


def decode(body: bytes, window: Span | None = None) -> Series:
    """Decode an object written by `encode`, whatever codec it names; only `window`'s samples when given."""
    if body[:4] != MAGIC:
        raise ValueError("not a timeseries object")
    version, label_length = body[4], body[5]
    if version != FORMAT_VERSION:
        raise ValueError(f"unsupported format version {version}")
    name = body[6 : 6 + label_length].decode()
    if name not in CODECS:
        raise ValueError(f"codec {name!r} is not available in this runtime")
    return decode_columns(CODECS[name].decompress(body[6 + label_length :]), window)

