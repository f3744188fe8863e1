"""Settings: one frozen dataclass built from the Worker's vars, with named defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from .errors import ServiceError


class ConfigError(ServiceError):
    """A configuration variable has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service; each field is read from the env var of the same name, upper-cased."""

    flightdeck_base_url: str = "https://flightdeck.aceiot.cloud/api"
    samples_per_point_per_day: int = 100
    direct_max_samples: int = 1_000
    cached_max_samples: int = 100_000
    max_points: int = 1_000
    max_range_days: int = 400
    max_response_samples: int = 500_000
    max_read_samples: int = 750_000
    freshness_seconds: int = 600
    cache_ttl_seconds: int = 30 * 86_400
    recent_cache_ttl_seconds: int = 300
    access_ttl_seconds: int = 300
    catalog_ttl_seconds: int = 3_600
    upstream_timeout_seconds: float = 30.0
    upstream_max_retries: int = 3
    upstream_concurrency: int = 6
    upstream_page_samples: int = 50_000
    job_batch_points: int = 50
    job_part_samples: int = 100_000
    job_page_samples: int = 10_000
    job_upstream_concurrency: int = 2
    job_point_attempts: int = 3
    job_lease_seconds: int = 900
    job_max_requeues: int = 2
    consumer_max_upstream_calls: int = 40
    job_retention_seconds: int = 86_400
    job_row_retention_seconds: int = 7 * 86_400
    cleanup_max_objects: int = 500
    cleanup_max_operations: int = 200
    orphan_grace_seconds: int = 3_600
    max_active_jobs_per_token: int = 3
    events_poll_seconds: float = 1.0
    events_heartbeat_seconds: float = 15.0
    events_max_seconds: float = 120.0
    warming_max_calls: int = 40
    warming_max_sets: int = 20
    warming_lookback_days: int = 7
    warming_days: int = 1
    allowed_origins: tuple[str, ...] = ()
    version: str = "1.0.0"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of env vars; unknown keys are ignored, bad values name their key."""
        values: dict[str, object] = {}
        for field in fields(cls):
            key = field.name.upper()
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            values[field.name] = _parse(key, str(raw), field.type)
        return cls(**values)

    @classmethod
    def var_names(cls) -> list[str]:
        """The env var names this class reads."""
        return [field.name.upper() for field in fields(cls)]


def _parse(key: str, raw: str, kind: object) -> object:
    try:
        if kind == "int":
            value: object = int(raw)
        elif kind == "float":
            value = float(raw)
        elif kind == "tuple[str, ...]":
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        else:
            return raw.strip()
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from exc
    if value < 0:  # type: ignore[operator]
        raise ConfigError(f"{key} must not be negative, got {raw!r}")
    return value
