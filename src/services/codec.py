"""Columnar sample encoding and compression: pure functions over values and bytes.

An object is `MAGIC, version, codec name, compressed body`. The body holds, per point, a JSON
header (name, count, value kind, decimal scale) followed by two columns: timestamps as
delta-of-delta zig-zag varints and values typed (integers and scaled decimals as zig-zag
deltas, other floats as IEEE doubles, text as JSON). Regular sensor data becomes long runs of
zeros that any codec squeezes to almost nothing.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate

Value = int | float | str

MAGIC = b"BVTS"
FORMAT_VERSION = 1
MAX_DECIMALS = 6


@dataclass
class PointSeries:
    """One point's samples: parallel lists of epoch-ms timestamps and values, sorted by time."""

    times: list[int] = field(default_factory=list)
    values: list[Value] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)

    def extend(self, other: PointSeries) -> None:
        self.times.extend(other.times)
        self.values.extend(other.values)

    def window(self, start_ms: int, end_ms: int) -> PointSeries:
        """The samples with start_ms <= time < end_ms (times must be sorted)."""
        lo = bisect_left(self.times, start_ms)
        hi = bisect_left(self.times, end_ms)
        return PointSeries(self.times[lo:hi], self.values[lo:hi])


Series = dict[str, PointSeries]


def parse_value(text: object) -> Value:
    """FlightDeck sends values as strings; numeric ones become int or float, the rest stay text."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return text if math.isfinite(text) else str(text)
    raw = str(text).strip()
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return str(text)
    return number if math.isfinite(number) else str(text)


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
        codecs["zstd"] = Codec("zstd", lambda data: zstd.compress(data, 19), zstd.decompress)
    try:
        import brotli

        codecs["br"] = Codec("br", lambda data: brotli.compress(data, quality=11), brotli.decompress)
    except ImportError:
        pass
    return codecs


CODECS = _load_codecs()
# Measured by `make bench` on a week of mixed simulator points: zstd-19 stores the columnar
# body smallest and decodes fastest; brotli-11 is close but absent from Pyodide here; gzip is
# the fallback every runtime has.
PREFERENCE = ("zstd", "br", "gzip")


def best_codec() -> Codec:
    """The most effective codec this runtime has."""
    return next(CODECS[name] for name in PREFERENCE if name in CODECS)


# -- varints ----------------------------------------------------------------------------------

def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63) if -(1 << 63) <= n < (1 << 63) else _big_zigzag(n)


def _big_zigzag(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def _unzigzag(z: int) -> int:
    return (z >> 1) ^ -(z & 1)


def _write_varints(out: bytearray, numbers: Iterable[int]) -> None:
    for number in numbers:
        z = _zigzag(number)
        while z >= 0x80:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        out.append(z)


def _read_varints(data: memoryview, pos: int, count: int) -> tuple[list[int], int]:
    numbers: list[int] = []
    for _ in range(count):
        shift = 0
        z = 0
        while True:
            byte = data[pos]
            pos += 1
            z |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        numbers.append(_unzigzag(z))
    return numbers, pos


def _deltas(numbers: list[int]) -> Iterator[int]:
    previous = 0
    for number in numbers:
        yield number - previous
        previous = number


def _undelta(deltas: list[int]) -> list[int]:
    return list(accumulate(deltas))


# -- columns ----------------------------------------------------------------------------------

def _decimals(value: float) -> int | None:
    text = repr(value)
    if "e" in text or "n" in text:
        return None
    return len(text.partition(".")[2])


def _value_kind(values: list[Value]) -> tuple[str, int]:
    """Choose how a column of values is stored: ('int'|'dec'|'f64'|'str', decimal scale)."""
    if any(isinstance(v, str) or isinstance(v, bool) for v in values):
        return "str", 0
    if all(isinstance(v, int) for v in values):
        return "int", 0
    scale = 0
    for value in values:
        places = _decimals(float(value))
        if places is None or places > MAX_DECIMALS:
            return "f64", 0
        scale = max(scale, places)
    factor = 10**scale
    if all(round(v * factor) / factor == v for v in values):
        return "dec", scale
    return "f64", 0


def _encode_values(out: bytearray, values: list[Value], kind: str, scale: int) -> None:
    if kind == "int":
        _write_varints(out, _deltas(values))  # type: ignore[arg-type]
    elif kind == "dec":
        factor = 10**scale
        _write_varints(out, _deltas([round(v * factor) for v in values]))  # type: ignore[operator]
    elif kind == "f64":
        out += struct.pack(f"<{len(values)}d", *values)
    else:
        text = json.dumps(values, separators=(",", ":")).encode()
        _write_varints(out, [len(text)])
        out += text


def _decode_values(data: memoryview, pos: int, count: int, kind: str, scale: int) -> tuple[list[Value], int]:
    if kind == "int":
        deltas, pos = _read_varints(data, pos, count)
        return _undelta(deltas), pos  # type: ignore[return-value]
    if kind == "dec":
        deltas, pos = _read_varints(data, pos, count)
        factor = 10**scale
        return [n / factor for n in _undelta(deltas)], pos
    if kind == "f64":
        end = pos + 8 * count
        return list(struct.unpack(f"<{count}d", data[pos:end])), end
    (length,), pos = _read_varints(data, pos, 1)
    end = pos + length
    return json.loads(bytes(data[pos:end])), end


def encode_columns(series: Series) -> bytes:
    """Lay samples out column-wise (uncompressed), points in sorted name order."""
    out = bytearray()
    names = sorted(series)
    _write_varints(out, [len(names)])
    for name in names:
        points = series[name]
        kind, scale = _value_kind(points.values)
        header = json.dumps([name, len(points), kind, scale], separators=(",", ":")).encode()
        _write_varints(out, [len(header)])
        out += header
        _write_varints(out, _deltas(list(_deltas(points.times))))
        _encode_values(out, points.values, kind, scale)
    return bytes(out)


def decode_columns(raw: bytes) -> Series:
    """Inverse of `encode_columns`."""
    data = memoryview(raw)
    (count,), pos = _read_varints(data, 0, 1)
    series: Series = {}
    for _ in range(count):
        (length,), pos = _read_varints(data, pos, 1)
        name, n, kind, scale = json.loads(bytes(data[pos : pos + length]))
        pos += length
        dods, pos = _read_varints(data, pos, n)
        times = _undelta(_undelta(dods))
        values, pos = _decode_values(data, pos, n, kind, scale)
        series[name] = PointSeries(times, values)
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


def decode(body: bytes) -> Series:
    """Decode an object written by `encode`, whatever codec it names."""
    if body[:4] != MAGIC:
        raise ValueError("not a timeseries object")
    version, label_length = body[4], body[5]
    if version != FORMAT_VERSION:
        raise ValueError(f"unsupported format version {version}")
    name = body[6 : 6 + label_length].decode()
    if name not in CODECS:
        raise ValueError(f"codec {name!r} is not available in this runtime")
    return decode_columns(CODECS[name].decompress(body[6 + label_length :]))

