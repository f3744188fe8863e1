"""The demo sites and their points: static metadata, built once."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

CLIENT = "acme"


@dataclass(frozen=True)
class Site:
    """A building; `utc_offset_h` places its occupancy schedule in local time."""

    id: int
    name: str
    nice_name: str
    address: str
    latitude: float
    longitude: float
    utc_offset_h: int
    outages: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The spec's "A site"."""
        return {
            "id": self.id,
            "name": self.name,
            "client": CLIENT,
            "address": self.address,
            "nice_name": self.nice_name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "archived": False,
        }


@dataclass(frozen=True)
class Point:
    """A collected point; `kind`, `base` and `resolution` drive its signal (see signals.py)."""

    id: int
    name: str
    site: str
    device: str
    kind: str
    interval: int
    unit: str
    resolution: float = 0.1
    base: float = 0.0
    collect_enabled: bool = True
    markers: tuple[str, ...] = ()
    extra_tags: tuple[tuple[str, str], ...] = field(default=())

    @property
    def decimals(self) -> int:
        """Digits after the point when formatting a value at this resolution."""
        text = f"{self.resolution:g}"
        return len(text.split(".")[1]) if "." in text else 0

    @functools.cached_property
    def name_json(self) -> str:
        """The name as a JSON string literal, cached for fast encoding."""
        return json.dumps(self.name)

    @functools.cached_property
    def has_gaps(self) -> bool:
        """About one point in eight has deterministic multi-hour outages."""
        return hashlib.blake2b(self.name.encode(), digest_size=1).digest()[0] % 8 == 0

    def to_json(self) -> dict[str, Any]:
        """The spec's "A point"."""
        return {
            "id": self.id,
            "name": self.name,
            "client": CLIENT,
            "site": self.site,
            "kv_tags": {"device": self.device, "unit": self.unit, "kind": self.kind, **dict(self.extra_tags)},
            "marker_tags": list(self.markers),
            "collect_enabled": self.collect_enabled,
            "collect_interval": self.interval,
            "point_type": "multistate" if self.kind == "mode" else "binary" if self.kind == "status" else "analog",
        }


_SITES = (
    Site(
        1,
        "demo-hq",
        "Demo Headquarters",
        "100 Main St, Springfield",
        39.78,
        -89.65,
        -5,
        (("2025-09-14T02:00:00Z", "2025-09-14T08:00:00Z"),),
    ),
    Site(
        2,
        "demo-lab",
        "Demo Research Lab",
        "7 Science Park, Palo Alto",
        37.44,
        -122.14,
        -8,
        (("2025-02-10T06:00:00Z", "2025-02-10T18:00:00Z"),),
    ),
    Site(
        3,
        "demo-plant",
        "Demo Central Plant",
        "1 Energy Way, Springfield",
        39.79,
        -89.64,
        -5,
        (("2025-06-01T00:00:00Z", "2025-06-03T00:00:00Z"),),
    ),
    Site(4, "demo-tower", "Demo Office Tower", "500 Lake Shore Dr, Chicago", 41.89, -87.61, -6),
)

# (suffix, kind, interval s, unit, resolution, base, markers)
_Spec = tuple[str, str, int, str, float, float, tuple[str, ...]]

_AHU: tuple[_Spec, ...] = (
    (":supply-air-temp", "supply_temp", 60, "degF", 0.1, 55, ("discharge", "air", "temp", "sensor")),
    (":return-air-temp", "return_temp", 60, "degF", 0.1, 72, ("return", "air", "temp", "sensor")),
    (":mixed-air-temp", "mixed_temp", 60, "degF", 0.1, 62, ("mixed", "air", "temp", "sensor")),
    (":supply-air-temp-setpoint", "setpoint", 900, "degF", 0.5, 55, ("discharge", "air", "temp", "sp")),
    (":supply-fan-status", "status", 60, "", 1, 0, ("discharge", "fan", "run", "sensor")),
    (":supply-fan-speed", "speed", 60, "%", 0.1, 60, ("discharge", "fan", "speed", "cmd")),
    (":outside-air-damper", "percent", 300, "%", 1, 20, ("outside", "damper", "cmd")),
    (":cooling-valve", "percent", 300, "%", 1, 10, ("cool", "valve", "cmd")),
    (":occupancy-mode", "mode", 900, "", 1, 0, ("occupied", "mode")),
)

_LAB: tuple[_Spec, ...] = (
    (":zone-temp", "zone_temp", 300, "degF", 0.1, 70, ("zone", "air", "temp", "sensor")),
    (":room-pressure", "pressure", 60, "inH2O", 0.001, -0.02, ("zone", "pressure", "sensor")),
    (":fume-hood.sash-position", "percent", 60, "%", 1, 15, ("fumeHood", "sash", "sensor")),
    (":fume-hood.face-velocity", "flow", 60, "fpm", 1, 100, ("fumeHood", "velocity", "sensor")),
    (":supply-valve", "percent", 300, "%", 1, 30, ("supply", "valve", "cmd")),
    (":occupancy", "mode", 900, "", 1, 0, ("occupied", "mode")),
)

_SITE_WIDE: dict[str, tuple[_Spec, ...]] = {
    "demo-hq": (
        ("/meter.main/kW", "kw", 60, "kW", 0.01, 180, ("elec", "power", "meter")),
        ("/weather:outside-air-temp", "oat", 900, "degF", 0.1, 0, ("outside", "air", "temp", "weather")),
    ),
    "demo-lab": (
        ("/ef-1:status", "status", 300, "", 1, 0, ("exhaust", "fan", "run", "sensor")),
        ("/ef-1:speed", "speed", 60, "%", 0.1, 70, ("exhaust", "fan", "speed", "cmd")),
        ("/meter.lab/kW", "kw", 60, "kW", 0.01, 95, ("elec", "power", "meter")),
        ("/weather:outside-air-temp", "oat", 900, "degF", 0.1, 0, ("outside", "air", "temp", "weather")),
    ),
    "demo-plant": (
        ("/ch-1:status", "status", 60, "", 1, 0, ("chiller", "run", "sensor")),
        ("/ch-1:chw-supply-temp", "chw_supply", 60, "degF", 0.1, 44, ("chilled", "water", "leaving", "temp")),
        ("/ch-1:chw-return-temp", "chw_return", 60, "degF", 0.1, 54, ("chilled", "water", "entering", "temp")),
        ("/ch-1:kW", "kw", 60, "kW", 0.01, 140, ("chiller", "elec", "power")),
        ("/ch-2:status", "status", 60, "", 1, 0, ("chiller", "run", "sensor")),
        ("/ch-2:chw-supply-temp", "chw_supply", 60, "degF", 0.1, 44, ("chilled", "water", "leaving", "temp")),
        ("/ch-2:chw-return-temp", "chw_return", 60, "degF", 0.1, 55, ("chilled", "water", "entering", "temp")),
        ("/ch-2:kW", "kw", 60, "kW", 0.01, 120, ("chiller", "elec", "power")),
        ("/chwp-1:status", "status", 300, "", 1, 0, ("chilled", "water", "pump", "run")),
        ("/chwp-2:status", "status", 300, "", 1, 0, ("chilled", "water", "pump", "run")),
        ("/ct-1:fan-speed", "speed", 60, "%", 0.1, 50, ("coolingTower", "fan", "speed")),
        ("/ct-1:status", "status", 300, "", 1, 0, ("coolingTower", "fan", "run")),
        ("/b-1:status", "status", 300, "", 1, 0, ("boiler", "run", "sensor")),
        ("/b-1:hw-supply-temp", "hw_supply", 300, "degF", 0.5, 160, ("hot", "water", "leaving", "temp")),
        ("/plant:mode", "mode", 900, "", 1, 0, ("plant", "mode")),
        ("/plant:chw-supply-temp-setpoint", "setpoint", 900, "degF", 0.5, 44, ("chilled", "water", "temp", "sp")),
        ("/meter.main/kW", "kw", 60, "kW", 0.01, 420, ("elec", "power", "meter")),
        ("/meter.gas/flow", "kw", 900, "therm/h", 0.01, 12, ("gas", "flow", "meter")),
        ("/weather:outside-air-temp", "oat", 900, "degF", 0.1, 0, ("outside", "air", "temp", "weather")),
        ("/weather:humidity", "humidity", 900, "%RH", 1, 55, ("outside", "air", "humidity", "weather")),
    ),
}


def _vav_specs(floor: int, index: int) -> tuple[_Spec, ...]:
    """One VAV box's BACnet-style points; resolution and airflow rate vary by floor."""
    zone_base = 70.0 + (floor * 7 + index) % 5 * 0.5
    return (
        (
            "/analogInput/1",
            "zone_temp",
            300,
            "degF",
            0.5 if floor <= 2 else 0.1,
            zone_base,
            ("zone", "air", "temp", "sensor"),
        ),
        ("/analogValue/13", "setpoint", 900, "degF", 0.5, 72 + index % 2, ("zone", "air", "temp", "cooling", "sp")),
        ("/analogOutput/2", "percent", 300, "%", 1, 25 + index % 4 * 5, ("damper", "cmd")),
        ("/analogInput/3", "flow", 60 if floor == 2 else 300, "cfm", 1, 300 + index * 20, ("air", "flow", "sensor")),
        ("/binaryValue/5", "status", 300, "", 1, 1, ("occupied", "sensor")),
    )


def _tower_device(floor: int, index: int) -> str:
    """A long, human-written BACnet device path, as real sites have: spaces, dots, a colon, a slash."""
    return (f"Tower A.Level {floor:02d}/VAV {floor}-{index:02d} Terminal with Reheat"
            f" (Open Office Zone {floor}{index:02d} North):Controller {floor * 100 + index}")


def _object_tags(suffix: str) -> tuple[tuple[str, str], ...]:
    """BACnet object type and instance, for names like `/analogValue/13`."""
    _, object_type, instance = suffix.split("/")
    return (("object_type", object_type), ("object_instance", instance))


def _device(suffix: str) -> str:
    """The device part of a name suffix: `/meter.main/kW` -> `meter.main`, `/ahu-3:x` -> `ahu-3`."""
    return suffix.lstrip("/").split(":")[0].split("/")[0]


@functools.cache
def _build() -> tuple[dict[str, Site], dict[str, tuple[Point, ...]], dict[str, Point]]:
    """Build the catalogue once; point ids are stable across runs."""
    rows: list[tuple[str, str, str, _Spec, tuple[tuple[str, str], ...], bool]] = []
    for floor in range(1, 5):
        for index in range(1, 9):
            device = f"vav-{floor}-{index:02d}"
            for spec in _vav_specs(floor, index):
                rows.append(("demo-hq", device, f"/{device}{spec[0]}", spec, _object_tags(spec[0]), True))
    for ahu in ("ahu-1", "ahu-2"):
        rows.extend(("demo-hq", ahu, f"/{ahu}{spec[0]}", spec, (), True) for spec in _AHU)
    for lab in range(1, 7):
        rows.extend(("demo-lab", f"lab-{lab}", f"/lab-{lab}{spec[0]}", spec, (), True) for spec in _LAB)
    for site_name, specs in _SITE_WIDE.items():
        for spec in specs:
            rows.append((site_name, _device(spec[0]), spec[0], spec, (), True))
    retired: tuple[_Spec, ...] = (
        ("/vav-4-08/analogValue/99", "setpoint", 900, "degF", 0.5, 70, ("zone", "air", "temp", "sp")),
        ("/ahu-3:supply-air-temp", "supply_temp", 60, "degF", 0.1, 55, ("discharge", "air", "temp", "sensor")),
    )
    rows.extend(("demo-hq", _device(spec[0]), spec[0], spec, (), False) for spec in retired)
    for floor in range(5, 11):
        for index in range(1, 5):
            device = _tower_device(floor, index)
            for spec in _vav_specs(floor, index):
                rows.append(("demo-tower", device, f"/{device}{spec[0]}", spec, _object_tags(spec[0]), True))

    points: list[Point] = []
    for number, (site_name, device, suffix, spec, tags, enabled) in enumerate(rows, start=1001):
        _, kind, interval, unit, resolution, base, markers = spec
        points.append(
            Point(
                id=number,
                name=f"{CLIENT}/{site_name}{suffix}",
                site=site_name,
                device=device,
                kind=kind,
                interval=interval,
                unit=unit,
                resolution=resolution,
                base=base,
                collect_enabled=enabled,
                markers=("point", *markers),
                extra_tags=tags,
            )
        )
    by_site = {s.name: tuple(sorted((p for p in points if p.site == s.name), key=lambda p: p.name)) for s in _SITES}
    return {s.name: s for s in _SITES}, by_site, {p.name: p for p in points}


def sites() -> tuple[Site, ...]:
    """All sites, by id."""
    return _SITES


def site(name: str) -> Site | None:
    """The site called `name`, if any."""
    return _build()[0].get(name)


def site_points(name: str) -> tuple[Point, ...]:
    """A site's points sorted by name (empty for an unknown site)."""
    return _build()[1].get(name, ())


def point(name: str) -> Point | None:
    """The point called `name`, if any."""
    return _build()[2].get(name)
