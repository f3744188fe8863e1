"""Point values as pure functions of (site, point, epoch second): schedules, cycles, hashed noise."""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import datetime

from .catalog import Point, site

DAY = 86_400
_MODES = ("unoccupied", "standby", "occupied")


def noise(site_name: str, point_name: str, t: int) -> float:
    """Deterministic noise in [-1, 1) from blake2b of `site|point|t`."""
    digest = hashlib.blake2b(f"{site_name}|{point_name}|{t}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 2**31 - 1.0


def _local(site_name: str, t: int) -> tuple[float, int]:
    """Local hour of day and weekday (Monday = 0) at the site's fixed UTC offset."""
    local = t + _offset_s(site_name)
    return (local % DAY) / 3600, (local // DAY + 3) % 7


@functools.cache
def _offset_s(site_name: str) -> int:
    found = site(site_name)
    return found.utc_offset_h * 3600 if found else 0


def mode(site_name: str, t: int) -> int:
    """Occupancy: 2 occupied (weekdays 07:00-18:00 local), 1 standby (an hour either side), 0 unoccupied."""
    hour, weekday = _local(site_name, t)
    if weekday >= 5 or hour < 6 or hour >= 19:
        return 0
    return 2 if 7 <= hour < 18 else 1


def _daily(site_name: str, t: int) -> float:
    """Daily cycle in [-1, 1], warmest at 15:00 local."""
    return math.cos(2 * math.pi * (_local(site_name, t)[0] - 15) / 24)


def _seasonal(t: int) -> float:
    """Yearly cycle in [-1, 1], warmest mid-July."""
    return math.cos(2 * math.pi * (t / DAY - 196.5) / 365.2425)


def _raw(p: Point, t: int) -> float | str:
    """The unrounded signal of point `p` at time `t`."""
    occ = mode(p.site, t)
    on = occ > 0
    daily, seasonal = _daily(p.site, t), _seasonal(t)
    oat = 55 + 22 * seasonal + 9 * daily
    load = (daily + 1) / 2 * (0.4 + 0.3 * (seasonal + 1)) if on else 0.0
    n = noise(p.site, p.name, t) if p.kind not in ("mode", "setpoint") else 0.0
    match p.kind:
        case "mode":
            return _MODES[occ]
        case "setpoint":
            return p.base if occ == 2 else p.base * 1.12
        case "status":
            return float(occ == 2 and n > -0.4) if p.base else float(on)
        case "oat":
            return oat + 1.2 * n
        case "humidity":
            return min(100.0, max(5.0, p.base - 20 * daily + 5 * n))
        case "zone_temp":
            swing = 0.6 * daily if occ == 2 else 2.5 * daily + 2 * seasonal
            return p.base + swing + 0.4 * n
        case "supply_temp":
            return p.base + 0.6 * n if on else 0.5 * oat + 35 + 0.3 * n
        case "return_temp":
            return p.base + 1.2 * daily + 0.3 * n
        case "mixed_temp":
            return 0.75 * 72 + 0.25 * oat + 0.4 * n
        case "chw_supply":
            return p.base + 0.4 * n if on else p.base + 12 + 2 * daily
        case "chw_return":
            return p.base + 2 * load + 0.4 * n if on else p.base + 6 + daily
        case "hw_supply":
            return p.base + 3 * n if on else p.base - 60 + 2 * n
        case "pressure":
            return p.base + 0.003 * n
        case "speed" | "percent":
            return min(100.0, max(0.0, p.base + 50 * load + 5 * n)) if on else 0.0
        case "flow":
            return p.base * ((0.6 + 0.5 * load) if occ == 2 else 0.3) * (1 + 0.03 * n)
        case "kw":
            return p.base * (0.35 + (0.65 * (0.6 + 0.4 * load) if occ == 2 else 0.0)) * (1 + 0.03 * n)
    raise ValueError(f"unknown kind {p.kind!r}")


def value(p: Point, t: int) -> str:
    """The sample value of `p` at `t` as the API's string, rounded to the sensor's resolution."""
    raw = _raw(p, t)
    if isinstance(raw, str):
        return raw
    stepped = round(raw / p.resolution) * p.resolution
    return f"{stepped + 0.0:.{p.decimals}f}"


@functools.cache
def _site_outages(site_name: str) -> tuple[tuple[int, int], ...]:
    found = site(site_name)
    return tuple(
        (int(datetime.fromisoformat(a).timestamp()), int(datetime.fromisoformat(b).timestamp()))
        for a, b in (found.outages if found else ())
    )


@functools.lru_cache(maxsize=65_536)
def _gap(point_name: str, day: int) -> tuple[int, int] | None:
    """A point's outage on `day` (epoch days), present on about one day in six."""
    h = hashlib.blake2b(f"gap|{point_name}|{day}".encode(), digest_size=3).digest()
    if h[0] >= 43:
        return None
    start = day * DAY + h[1] % 20 * 3600
    return start, start + (2 + h[2] % 5) * 3600


def in_outage(p: Point, t: int) -> bool:
    """True when `p` has no sample at `t`: a site-wide outage, or the point's own gap."""
    if any(a <= t < b for a, b in _site_outages(p.site)):
        return True
    if not p.has_gaps:
        return False
    gap = _gap(p.name, t // DAY)
    return gap is not None and gap[0] <= t < gap[1]
