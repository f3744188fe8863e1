"""Answer formats: JSON, CSV, NDJSON and MessagePack, chosen by `format=` or `Accept`, written in chunks.

Every writer has the same three steps, so a body can be streamed point by point (job results)
or joined (direct and cached answers): `start(points)`, `point(name, samples, error)` yielding
chunks, `end(meta)`. JSON and MessagePack carry the same shape (`{"data": …, "_meta": …}`); CSV and
NDJSON carry rows `point,timestamp,value` with ISO 8601 UTC timestamps, values as numbers where
numeric and text otherwise. MessagePack comes from the `msgpack` package (a wasm build in
Pyodide's distribution for production, a pure-Python build for the local runtime: see README).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from enum import Enum
from itertools import repeat
from operator import floordiv, mod

from .errors import NotAcceptable
from .render import CHUNK_SAMPLES, close_body, open_body, point_chunks, value_texts
from .series import PointSeries, any_text
from .timerange import to_iso


class Format(str, Enum):
    """An answer format, as named by `format=`."""

    JSON = "json"
    CSV = "csv"
    NDJSON = "ndjson"
    MSGPACK = "msgpack"


CONTENT_TYPES = {
    Format.JSON: "application/json; charset=utf-8",
    Format.CSV: "text/csv; charset=utf-8; header=present",
    Format.NDJSON: "application/x-ndjson",
    Format.MSGPACK: "application/msgpack",
}

# Media types an Accept header may name; wildcards fall back to the default of their family.
MEDIA_TYPES = {
    "application/json": Format.JSON,
    "application/*": Format.JSON,
    "*/*": Format.JSON,
    "text/csv": Format.CSV,
    "text/*": Format.CSV,
    "application/x-ndjson": Format.NDJSON,
    "application/ndjson": Format.NDJSON,
    "application/msgpack": Format.MSGPACK,
    "application/x-msgpack": Format.MSGPACK,
    "application/vnd.msgpack": Format.MSGPACK,
}

CSV_HEADER = ("point", "timestamp", "value")


def choose_format(param: str | None, accept: str | None) -> Format:
    """`format=` when given, else the best supported type of the Accept header, else JSON; 406 otherwise."""
    if param is not None and param.strip():
        try:
            return Format(param.strip().lower())
        except ValueError:
            supported = ", ".join(f.value for f in Format)
            raise NotAcceptable(f"format must be one of {supported}", field="format") from None
    if accept is None or not accept.strip():
        return Format.JSON
    offers = [offer for offer in _media_ranges(accept) if offer[1] > 0 and offer[0] in MEDIA_TYPES]
    if not offers:
        supported = ", ".join(sorted({t for t in MEDIA_TYPES if "*" not in t}))
        raise NotAcceptable(f"Accept names no supported type; supported: {supported}")
    best = max(offers, key=lambda offer: (offer[1], "*" not in offer[0]))
    return MEDIA_TYPES[best[0]]


def _media_ranges(accept: str) -> Iterator[tuple[str, float]]:
    """(media type, q) for each entry of an Accept header; a malformed q counts as 0."""
    for entry in accept.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        yield media.lower(), quality


_CLOCK_MINUTES = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_CLOCK_SECONDS = [f"{s:02d}Z" for s in range(60)]


def iso_stamps(times: list[int]) -> list[str]:
    """`to_iso` of each time, for a whole chunk at once.

    Whole seconds (FlightDeck's times) take C loops only: a day prefix, an `HH:MM:` and an `SSZ`
    looked up and joined, far faster under Pyodide than formatting each time; a time with
    milliseconds sends the chunk the plain way.
    """
    seconds = list(map(floordiv, times, repeat(1000)))
    if any(map(mod, times, repeat(1000))):
        return list(map(to_iso, times))
    days = list(map(floordiv, seconds, repeat(86_400)))
    prefix = {day: time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400)) for day in set(days)}
    of_day = list(map(mod, seconds, repeat(86_400)))
    return list(map("".join, zip(
        map(prefix.__getitem__, days),
        map(_CLOCK_MINUTES.__getitem__, map(floordiv, of_day, repeat(60))),
        map(_CLOCK_SECONDS.__getitem__, map(mod, of_day, repeat(60))),
    )))


def _rows(head: str, stamps: list[str], middle: str, cells: list[str], tail: str) -> bytes:
    """`head + stamp + middle + cell + tail` for each sample, joined in C."""
    return "".join(map("".join, zip(repeat(head), stamps, repeat(middle), cells, repeat(tail)))).encode()


class JsonWriter:
    """Today's JSON shape, `{"data": {point: {samples, count, error}}, "_meta": …}`."""

    def __init__(self) -> None:
        self._first = True

    def start(self, points: int) -> bytes:
        return open_body().encode()

    def point(self, name: str, samples: PointSeries, error: str | None) -> Iterator[bytes]:
        for chunk in point_chunks(name, samples, error, self._first):
            yield chunk.encode()
        self._first = False

    def end(self, meta: dict) -> bytes:
        return close_body(meta).encode()


class CsvWriter:
    """RFC 4180 rows under a `point,timestamp,value` header: CRLF line ends, a field quoted (and
    its quotes doubled) only when it holds a comma, a quote or a line break."""

    def start(self, points: int) -> bytes:
        return (",".join(CSV_HEADER) + "\r\n").encode()

    def point(self, name: str, samples: PointSeries, error: str | None) -> Iterator[bytes]:
        head = csv_field(name) + ","
        for part in samples.chunks(CHUNK_SAMPLES):
            yield _rows(head, iso_stamps(part.times), ",", csv_cells(part), "\r\n")

    def end(self, meta: dict) -> bytes:
        return b""


def csv_cells(points: PointSeries) -> list[str]:
    """Numbers as in the JSON answer (the cache's own texts on a hit), text as CSV fields.

    A cached text value is a JSON string, so its text starts with a quote: texts without one are
    all numbers and are used as they are, never parsed and dumped again.
    """
    texts = points.texts
    numeric = not any(map(str.startswith, texts, repeat('"'))) if texts is not None else not any_text(points.values)
    if numeric:
        return value_texts(points)
    return [csv_field(value) if isinstance(value, str) else json.dumps(value) for value in points.values]


def csv_field(text: str) -> str:
    """A CSV field for the text, quoted when RFC 4180 needs it."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class NdjsonWriter:
    """One `{"point", "timestamp", "value"}` object a line."""

    def start(self, points: int) -> bytes:
        return b""

    def point(self, name: str, samples: PointSeries, error: str | None) -> Iterator[bytes]:
        head = '{"point":' + json.dumps(name) + ',"timestamp":"'
        for part in samples.chunks(CHUNK_SAMPLES):
            yield _rows(head, iso_stamps(part.times), '","value":', value_texts(part), "}\n")

    def end(self, meta: dict) -> bytes:
        return b""


class MsgpackWriter:
    """The JSON shape in MessagePack, written header by header so it can stream."""

    def __init__(self) -> None:
        try:
            import msgpack
        except ImportError as exc:  # a deploy that did not vendor the dependency
            raise NotAcceptable("MessagePack is not available in this deployment", field="format") from exc
        self._packer = msgpack.Packer(autoreset=True)

    def start(self, points: int) -> bytes:
        pack = self._packer
        return pack.pack_map_header(2) + pack.pack("data") + pack.pack_map_header(points)

    def point(self, name: str, samples: PointSeries, error: str | None) -> Iterator[bytes]:
        pack = self._packer
        yield pack.pack(name) + pack.pack_map_header(3) + pack.pack("samples") + pack.pack_array_header(len(samples))
        for part in samples.chunks(CHUNK_SAMPLES):
            yield b"".join(map(pack.pack, zip(part.times, part.values)))
        yield pack.pack("count") + pack.pack(len(samples)) + pack.pack("error") + pack.pack(error)

    def end(self, meta: dict) -> bytes:
        return self._packer.pack("_meta") + self._packer.pack(meta)


Writer = JsonWriter | CsvWriter | NdjsonWriter | MsgpackWriter

WRITERS: dict[Format, type[Writer]] = {
    Format.JSON: JsonWriter,
    Format.CSV: CsvWriter,
    Format.NDJSON: NdjsonWriter,
    Format.MSGPACK: MsgpackWriter,
}


def writer_for(fmt: Format) -> Writer:
    """A fresh writer for one body."""
    return WRITERS[fmt]()


def body_chunks(fmt: Format, series: dict[str, PointSeries], errors: dict[str, str], meta: dict) -> Iterator[bytes]:
    """A whole answer in the format, chunk by chunk."""
    writer = writer_for(fmt)
    yield writer.start(len(series))
    for name, samples in series.items():
        yield from writer.point(name, samples, errors.get(name))
    yield writer.end(meta)


def render_as(fmt: Format, series: dict[str, PointSeries], errors: dict[str, str], meta: dict) -> bytes:
    """A whole answer at once."""
    return b"".join(body_chunks(fmt, series, errors, meta))


async def stream_as(
    fmt: Format, series: dict[str, PointSeries], errors: dict[str, str], meta: dict
) -> AsyncIterator[bytes]:
    """A whole answer as a streamed body: only one chunk's text is held at a time."""
    for chunk in body_chunks(fmt, series, errors, meta):
        yield chunk
