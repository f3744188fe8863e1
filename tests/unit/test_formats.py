import csv
import io
import json

import msgpack
import pytest

from services.errors import NotAcceptable
from services.formats import Format, choose_format, csv_field, iso_stamps, render_as, writer_for
from services.series import PointSeries, parse_value
from services.timerange import parse_iso, to_iso

SERIES = {
    "acme/hq/ahu-1:supply-air-temp": PointSeries([1_762_732_800_000, 1_762_732_860_000], [55.2, 55]),
    "acme/hq/ahu-1:mode,text": PointSeries([1_762_732_800_000, 1_762_732_800_500], ['occupied, "eco"', "off"]),
    "acme/hq/empty": PointSeries(),
}
ERRORS = {"acme/hq/empty": "upstream said no"}
META = {"requestId": "r1", "routeType": "cached"}


def json_answer() -> dict:
    return json.loads(render_as(Format.JSON, SERIES, ERRORS, META))


def rows_from_json() -> list[tuple[str, int, object]]:
    return [(name, t, v) for name, entry in json_answer()["data"].items() for t, v in entry["samples"]]


FORMAT_CASES = {
    "format= wins over Accept": ("csv", "application/msgpack", Format.CSV),
    "format= ignores case": ("NDJSON", None, Format.NDJSON),
    "no format and no Accept": (None, None, Format.JSON),
    "Accept names msgpack": (None, "application/msgpack", Format.MSGPACK),
    "Accept prefers the higher q": (None, "text/csv;q=0.5, application/x-ndjson;q=0.9", Format.NDJSON),
    "a browser's Accept": (None, "text/html,application/xhtml+xml,*/*;q=0.8", Format.JSON),
    "an exact type beats a wildcard of the same q": (None, "*/*, text/csv", Format.CSV),
    "text/* means CSV": (None, "text/*", Format.CSV),
}


@pytest.mark.parametrize(("param", "accept", "expected"), FORMAT_CASES.values(), ids=FORMAT_CASES.keys())
def test_choose_format(param, accept, expected):
    assert choose_format(param, accept) is expected


@pytest.mark.parametrize(("param", "accept"), [("xml", None), (None, "application/xml"), (None, "text/csv;q=0")])
def test_choose_format_refuses_unsupported_formats_with_406(param, accept):
    with pytest.raises(NotAcceptable) as caught:
        choose_format(param, accept)
    assert caught.value.status == 406


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1_762_732_860_000, "2025-11-10T00:01:00Z"),
        (1_762_732_800_500, "2025-11-10T00:00:00.500Z"),
    ],
)
def test_to_iso(epoch_ms, expected):
    assert to_iso(epoch_ms) == expected


def test_csv_has_the_header_and_rfc4180_quoting():
    lines = render_as(Format.CSV, SERIES, ERRORS, META).decode().split("\r\n")
    assert lines[0] == "point,timestamp,value"
    assert lines[3] == '"acme/hq/ahu-1:mode,text",2025-11-10T00:00:00Z,"occupied, ""eco"""'


def test_csv_decodes_to_the_json_answers_samples():
    rows = list(csv.DictReader(io.StringIO(render_as(Format.CSV, SERIES, ERRORS, META).decode(), newline="")))
    decoded = [(row["point"], parse_iso(row["timestamp"]), parse_value(row["value"])) for row in rows]
    assert decoded == rows_from_json()


def test_ndjson_decodes_to_the_json_answers_samples():
    body = render_as(Format.NDJSON, SERIES, ERRORS, META).decode()
    objects = [json.loads(line) for line in body.splitlines()]
    assert [(o["point"], parse_iso(o["timestamp"]), o["value"]) for o in objects] == rows_from_json()
    assert body.endswith("\n")


def test_msgpack_decodes_to_the_json_answer():
    assert msgpack.unpackb(render_as(Format.MSGPACK, SERIES, ERRORS, META)) == json_answer()


def test_msgpack_streamed_chunk_by_chunk_equals_packing_the_whole_answer():
    writer = writer_for(Format.MSGPACK)
    chunks = [writer.start(len(SERIES))]
    for name, samples in SERIES.items():
        chunks.extend(writer.point(name, samples, ERRORS.get(name)))
    chunks.append(writer.end(META))
    assert b"".join(chunks) == msgpack.packb(json_answer())


def test_json_writer_keeps_todays_shape():
    answer = json_answer()
    assert answer["data"]["acme/hq/ahu-1:supply-air-temp"] == {
        "samples": [[1_762_732_800_000, 55.2], [1_762_732_860_000, 55]], "count": 2, "error": None,
    }
    assert answer["data"]["acme/hq/empty"] == {"samples": [], "count": 0, "error": "upstream said no"}
    assert answer["_meta"] == META


@pytest.mark.parametrize(
    "times",
    [[1_762_732_800_000 + i * 61_000 for i in range(3_000)], [86_399_000, 86_400_000, 86_400_250]],
    ids=["whole seconds across days", "milliseconds"],
)
def test_iso_stamps_equal_to_iso_of_each_time(times):
    assert iso_stamps(times) == [to_iso(t) for t in times]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", "plain"), ("a,b", '"a,b"'), ('say "hi"', '"say ""hi"""'), ("two\nlines", '"two\nlines"')],
)
def test_csv_field_quotes_only_what_rfc4180_needs(text, expected):
    assert csv_field(text) == expected


def test_csv_of_a_cached_series_is_the_csv_of_its_values():
    times = [1_762_732_800_000, 1_762_732_860_000, 1_762_732_920_000]
    for values in ([55.2, 55, -1e-07], [1.5, "on", 'say "hi", ok']):
        texts = [json.dumps(value) for value in values]
        cached = render_as(Format.CSV, {"p": PointSeries(times, texts=texts)}, {}, META)
        assert cached == render_as(Format.CSV, {"p": PointSeries(times, values)}, {}, META)
