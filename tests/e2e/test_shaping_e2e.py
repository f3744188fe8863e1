"""Shaped answers through the real worker: interval + agg, max_points, and CSV / NDJSON / MessagePack."""

import csv
import io
import json
import math

import msgpack
import pytest

from services.series import parse_value
from services.timerange import parse_iso
from tests.servers import wait_for

SAT = "acme/demo-hq/ahu-1:supply-air-temp"  # one-minute analog
MODE = "acme/demo-hq/ahu-1:occupancy-mode"  # text states
WEEK = ("2025-09-01T00:00:00Z", "2025-09-08T00:00:00Z")


def params(points, start, end, **extra):
    return {"site": "demo-hq", "points": ",".join(points), "start_time": start, "end_time": end, **extra}


def json_samples(body: dict) -> dict[str, list]:
    return {name: entry["samples"] for name, entry in body["data"].items()}


def rows_to_samples(rows) -> dict[str, list]:
    out: dict[str, list] = {}
    for point, stamp, value in rows:
        out.setdefault(point, []).append([parse_iso(stamp), value])
    return out


def from_csv(body: bytes) -> dict[str, list]:
    reader = csv.reader(io.StringIO(body.decode(), newline=""))
    assert next(reader) == ["point", "timestamp", "value"]
    return rows_to_samples((point, stamp, parse_value(value)) for point, stamp, value in reader)


def from_ndjson(body: bytes) -> dict[str, list]:
    objects = [json.loads(line) for line in body.decode().splitlines()]
    return rows_to_samples((o["point"], o["timestamp"], o["value"]) for o in objects)


def from_msgpack(body: bytes) -> dict[str, list]:
    return json_samples(msgpack.unpackb(body))


DECODERS = {"csv": ("text/csv", from_csv), "ndjson": ("application/x-ndjson", from_ndjson),
            "msgpack": ("application/msgpack", from_msgpack)}


def test_max_points_200_over_a_week_returns_flightdecks_own_samples_with_both_ends(worker, simulator):
    reply = worker.get("/api/timeseries", params([SAT], *WEEK, max_points="200"))
    truth = simulator.truth(SAT, *WEEK)
    samples = reply.json()["data"][SAT]["samples"]
    assert reply.status == 200 and len(truth) > 200 and len(samples) == 200
    assert {tuple(s) for s in samples} <= {tuple(s) for s in truth}
    assert samples[0] == truth[0] and samples[-1] == truth[-1]


def test_meta_says_what_shaping_was_applied(worker, simulator):
    body = worker.get("/api/timeseries", params([SAT, MODE], *WEEK, max_points="300", route="cached")).json()
    before = len(simulator.truth(SAT, *WEEK)) + len(simulator.truth(MODE, *WEEK))
    meta = body["_meta"]
    assert meta["maxPoints"] == 300 and meta["samplesBefore"] == before
    assert meta["samplesAfter"] == meta["samplesCount"] == sum(e["count"] for e in body["data"].values())


def test_max_points_keeps_a_text_points_changes_of_state(worker, simulator):
    truth = simulator.truth(MODE, *WEEK)
    changes = [s for i, s in enumerate(truth) if i == 0 or s[1] != truth[i - 1][1]]
    samples = worker.get("/api/timeseries", params([MODE], *WEEK, max_points="500")).json()["data"][MODE]["samples"]
    assert len(changes) < 500 < len(truth)
    assert samples == changes + ([truth[-1]] if truth[-1] != changes[-1] else [])


def test_hourly_averages_over_a_week_equal_the_means_of_flightdecks_samples(worker, simulator):
    reply = worker.get("/api/timeseries", params([SAT], *WEEK, interval="1h", agg="avg"))
    buckets: dict[int, list] = {}
    for t, value in simulator.truth(SAT, *WEEK):
        buckets.setdefault(t - t % 3_600_000, []).append(value)
    # Python 3.12+ (Pyodide's) sums floats with compensation; 3.11's plain sum can differ in the last bit.
    expected = [[start, pytest.approx(math.fsum(values) / len(values), rel=1e-12)]
                for start, values in sorted(buckets.items())]
    body = reply.json()
    assert reply.status == 200 and body["data"][SAT]["samples"] == expected
    assert (body["_meta"]["interval"], body["_meta"]["agg"]) == ("1h", "avg")


def test_a_numeric_aggregate_of_a_text_point_is_a_400_naming_it(worker):
    reply = worker.get("/api/timeseries", params([SAT, MODE], *WEEK, interval="1h", agg="avg"))
    assert reply.status == 400 and MODE in reply.json()["error"]["message"]
    assert reply.json()["error"]["field"] == "agg"


def test_a_text_point_takes_the_last_state_of_each_day(worker, simulator):
    samples = worker.get("/api/timeseries", params([MODE], *WEEK, interval="1d", agg="last")).json()["data"][MODE]
    days: dict[int, object] = {}
    for t, value in simulator.truth(MODE, *WEEK):
        days[t - t % 86_400_000] = value
    assert samples["samples"] == [[day, value] for day, value in sorted(days.items())]


@pytest.mark.parametrize("fmt", DECODERS)
def test_each_format_decodes_to_the_json_answers_samples(worker, fmt):
    query = params([SAT, MODE], "2025-09-10T00:00:00Z", "2025-09-12T00:00:00Z", route="cached")
    expected = json_samples(worker.get("/api/timeseries", query).json())
    reply = worker.get("/api/timeseries", dict(query, format=fmt))
    content_type, decode = DECODERS[fmt]
    assert reply.status == 200 and reply.headers["content-type"].startswith(content_type)
    assert decode(reply.body) == expected


def test_the_accept_header_chooses_the_format_and_format_wins_over_it(worker):
    query = params([SAT], "2025-09-10T00:00:00Z", "2025-09-10T02:00:00Z")
    by_accept = worker.get("/api/timeseries", query, headers={"X-ACE-Token": "dev-token", "Accept": "text/csv"})
    both = worker.get("/api/timeseries", dict(query, format="ndjson"),
                      headers={"X-ACE-Token": "dev-token", "Accept": "text/csv"})
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert both.headers["content-type"].startswith("application/x-ndjson")


def test_an_unsupported_format_is_a_406_json_error(worker):
    query = params([SAT], "2025-09-10T00:00:00Z", "2025-09-10T02:00:00Z")
    reply = worker.get("/api/timeseries", query, headers={"X-ACE-Token": "dev-token", "Accept": "application/xml"})
    assert reply.status == 406 and reply.json()["error"]["code"] == "not_acceptable"


def test_a_job_result_downloads_in_every_format_and_shaped(worker, simulator):
    query = params([SAT, MODE], "2025-07-01T00:00:00Z", "2025-07-02T00:00:00Z", route="queued")
    job_id = worker.get("/api/timeseries", query).json()["jobId"]
    wait_for(lambda: worker.get(f"/api/jobs/{job_id}").json()["status"] == "completed", deadline_s=60)
    result = f"/api/jobs/{job_id}/result"
    expected = json_samples(worker.get(result).json())
    assert expected[SAT] == simulator.truth(SAT, query["start_time"], query["end_time"])
    for fmt, (content_type, decode) in DECODERS.items():
        reply = worker.get(result, {"format": fmt})
        assert reply.status == 200 and reply.headers["content-type"].startswith(content_type)
        assert decode(reply.body) == expected, fmt
    shaped = worker.get(result, {"max_points": "100"}).json()
    assert shaped["data"][SAT]["count"] == 100 and shaped["_meta"]["samplesBefore"] == sum(map(len, expected.values()))
    hourly = worker.get(result, {"interval": "1h", "agg": "max", "format": "ndjson"})
    assert list(from_ndjson(hourly.body)) == [SAT] and len(from_ndjson(hourly.body)[SAT]) == 24
    text_error = worker.get(result, {"interval": "1h", "agg": "max"}).json()["data"][MODE]
    assert text_error["samples"] == [] and "holds text" in text_error["error"]
