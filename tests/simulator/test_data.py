"""The data model as pure functions: catalogue, sample timing, values and gaps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from simulator import catalog, data

UTC = UTC
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _names(site: str) -> list[str]:
    return [p.name for p in catalog.site_points(site)]


def _week(name: str) -> list[str]:
    return [v for _, v in data.samples(name.split("/")[1], name, MONDAY, MONDAY + timedelta(days=7))]


def test_catalog_site_point_counts() -> None:
    counts = {s.name: len(catalog.site_points(s.name)) for s in catalog.sites()}
    assert counts["demo-hq"] >= 150
    assert 35 <= counts["demo-lab"] <= 45
    assert 15 <= counts["demo-plant"] <= 25


def test_catalog_names_contain_slash_colon_and_dot() -> None:
    names = [n for s in catalog.sites() for n in _names(s.name)]
    assert "acme/demo-hq/vav-2-01/analogValue/13" in names
    assert "acme/demo-hq/ahu-1:supply-air-temp" in names
    assert "acme/demo-plant/meter.main/kW" in names


def test_catalog_mixes_collect_intervals() -> None:
    intervals = {p.interval for s in catalog.sites() for p in catalog.site_points(s.name)}
    assert intervals == {60, 300, 900}


def test_samples_are_deterministic() -> None:
    name = "acme/demo-hq/ahu-1:supply-air-temp"
    first = data.samples("demo-hq", name, MONDAY, MONDAY + timedelta(hours=6))
    assert first == data.samples("demo-hq", name, MONDAY, MONDAY + timedelta(hours=6))


def test_samples_subrange_is_a_slice() -> None:
    name = "acme/demo-lab/lab-1:room-pressure"
    whole = data.samples("demo-lab", name, MONDAY, MONDAY + timedelta(hours=4))
    part = data.samples("demo-lab", name, MONDAY + timedelta(minutes=61, seconds=30), MONDAY + timedelta(hours=2))
    start = whole.index(part[0])
    assert whole[start : start + len(part)] == part


def test_samples_aligned_in_half_open_range() -> None:
    p = catalog.point("acme/demo-hq/vav-2-01/analogInput/1")
    assert p is not None and p.interval == 300
    rows = data.samples("demo-hq", p.name, MONDAY, MONDAY + timedelta(hours=1))
    assert [t for t, _ in rows] == [_ms(MONDAY) + i * 300_000 for i in range(12)]


def test_samples_values_round_to_resolution() -> None:
    half_degree = _week("acme/demo-hq/vav-1-01/analogInput/1")
    assert half_degree and all(v.endswith((".0", ".5")) for v in half_degree)
    assert all(len(v.split(".")[1]) == 2 for v in _week("acme/demo-plant/meter.main/kW"))
    assert all(v.isdigit() for v in _week("acme/demo-hq/vav-1-01/analogOutput/2"))


def test_samples_binary_points_are_zero_or_one() -> None:
    assert set(_week("acme/demo-hq/ahu-1:supply-fan-status")) == {"0", "1"}


def test_samples_multistate_point_has_text_values() -> None:
    assert set(_week("acme/demo-plant/plant:mode")) == {"occupied", "unoccupied", "standby"}


def test_samples_setpoint_steps_with_occupancy() -> None:
    values = _week("acme/demo-hq/vav-1-01/analogValue/13")
    assert len(set(values)) == 2
    assert sum(a != b for a, b in itertools.pairwise(values)) == 10  # up and down on each of 5 weekdays


def test_samples_zone_temperature_has_a_daily_cycle() -> None:
    values = [float(v) for v in _week("acme/demo-lab/lab-1:zone-temp")]
    assert max(values) - min(values) > 2


def test_samples_none_before_2025() -> None:
    start = datetime(2024, 12, 31, 23, tzinfo=UTC)
    rows = data.samples("demo-plant", "acme/demo-plant/meter.main/kW", start, start + timedelta(hours=2))
    assert rows[0][0] == _ms(datetime(2025, 1, 1, tzinfo=UTC)) and len(rows) == 60


def test_samples_none_in_the_future() -> None:
    now = datetime.now(UTC)
    rows = data.samples(
        "demo-plant", "acme/demo-plant/meter.main/kW", now - timedelta(hours=1), now + timedelta(days=1)
    )
    assert rows and rows[-1][0] <= _ms(now)


def test_samples_site_outage_has_no_data() -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    for p in catalog.site_points("demo-plant"):
        assert data.samples("demo-plant", p.name, start, start + timedelta(days=2)) == []


def test_samples_points_with_gaps_miss_hours() -> None:
    p = next(p for p in catalog.site_points("demo-hq") if p.has_gaps and p.collect_enabled)
    rows = data.samples("demo-hq", p.name, MONDAY, MONDAY + timedelta(days=30))
    expected = 30 * 86_400 // p.interval
    assert expected - len(rows) >= 2 * 3600 // p.interval


def test_samples_disabled_points_have_none() -> None:
    disabled = [p for p in catalog.site_points("demo-hq") if not p.collect_enabled]
    assert disabled
    assert all(data.samples("demo-hq", p.name, MONDAY, MONDAY + timedelta(days=1)) == [] for p in disabled)


def test_samples_wrong_site_is_empty() -> None:
    assert data.samples("demo-lab", "acme/demo-plant/meter.main/kW", MONDAY, MONDAY + timedelta(hours=1)) == []


def test_iter_site_orders_by_time_then_name() -> None:
    rows = list(data.iter_site("demo-lab", _ms(MONDAY), _ms(MONDAY + timedelta(minutes=30)), raw=True))
    keys = [(t, p.name) for t, _, p, _ in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_iter_site_matches_per_point_samples() -> None:
    end = MONDAY + timedelta(hours=1)
    rows = list(data.iter_site("demo-plant", _ms(MONDAY), _ms(end), raw=True))
    for p in catalog.site_points("demo-plant"):
        mine = [(t * 1000, v) for t, _, q, v in rows if q is p]
        assert mine == data.samples("demo-plant", p.name, MONDAY, end)


def test_iter_site_resumes_from_position() -> None:
    args = ("demo-hq", _ms(MONDAY), _ms(MONDAY + timedelta(minutes=20)), True)
    rows = list(data.iter_site(*args))
    t, index, _, _ = rows[137]
    assert list(data.iter_site(*args, position=(t, index))) == rows[137:]


def test_iter_site_buckets_average_five_minutes() -> None:
    end = MONDAY + timedelta(hours=1)
    name = "acme/demo-plant/meter.main/kW"
    buckets = [
        (t, v) for t, _, p, v in data.iter_site("demo-plant", _ms(MONDAY), _ms(end), raw=False) if p.name == name
    ]
    raw = data.samples("demo-plant", name, MONDAY, end)
    assert len(buckets) == 12
    for t, value in buckets:
        inside = [float(v) for ms, v in raw if t * 1000 <= ms < (t + 300) * 1000]
        assert abs(float(value) - sum(inside) / len(inside)) < 0.001


def test_samples_naive_datetimes_mean_utc() -> None:
    name = "acme/demo-plant/meter.main/kW"
    naive = MONDAY.replace(tzinfo=None)
    assert data.samples("demo-plant", name, naive, naive + timedelta(hours=1)) == data.samples(
        "demo-plant", name, MONDAY, MONDAY + timedelta(hours=1)
    )
