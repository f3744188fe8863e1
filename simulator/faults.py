"""Fault injection: extra latency, error statuses and broken bodies, consumed thread-safely."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class Rule:
    """Applies to calls whose raw target (path and query) contains `path_contains`.

    The first matching rule with `times` left takes the call: it lets `skip` calls pass, then
    fires on the next `times` calls (None: forever).
    """

    path_contains: str = ""
    method: str | None = None
    status: int | None = None
    times: int | None = None
    skip: int = 0
    retry_after: float | None = None
    delay_ms: float = 0
    break_mid_body: bool = False


_TYPES: dict[str, tuple[type, ...]] = {
    "path_contains": (str,),
    "method": (str, type(None)),
    "status": (int, type(None)),
    "times": (int, type(None)),
    "skip": (int,),
    "retry_after": (int, float, type(None)),
    "delay_ms": (int, float),
    "break_mid_body": (bool,),
}


def _rule(raw: Any) -> Rule:
    if not isinstance(raw, dict):
        raise ValueError("each rule must be an object")
    for key, item in raw.items():
        if key not in _TYPES:
            raise ValueError(f"unknown rule field {key!r}")
        if not isinstance(item, _TYPES[key]) or (isinstance(item, bool) and key != "break_mid_body"):
            raise ValueError(f"rule field {key!r} has the wrong type")
    return Rule(**raw)


class Faults:
    """The current fault config; `take` decides, atomically, what happens to one call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency_ms: float = 0
        self._rules: list[Rule] = []

    def replace(self, payload: Any) -> None:
        """Install `{"latency_ms": N, "rules": [...]}`; ValueError if malformed."""
        if not isinstance(payload, dict) or set(payload) - {"latency_ms", "rules"}:
            raise ValueError('faults must be {"latency_ms": N, "rules": [...]}')
        latency = payload.get("latency_ms", 0)
        if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
            raise ValueError("latency_ms must be a non-negative number")
        rules = payload.get("rules", [])
        if not isinstance(rules, list):
            raise ValueError("rules must be a list")
        parsed = [_rule(r) for r in rules]
        with self._lock:
            self._latency_ms, self._rules = latency, parsed

    def clear(self) -> None:
        """Remove all faults."""
        self.replace({})

    def snapshot(self) -> dict[str, Any]:
        """The config as it stands, with `times` and `skip` counting down as calls consume them."""
        with self._lock:
            return {"latency_ms": self._latency_ms, "rules": [dataclasses.asdict(r) for r in self._rules]}

    def take(self, method: str, target: str) -> tuple[float, Rule | None]:
        """The configured latency and the rule that fires for this call, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.path_contains not in target or (rule.method and rule.method.upper() != method):
                    continue
                if rule.times is not None and rule.times <= 0:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    return self._latency_ms, None
                if rule.times is not None:
                    rule.times -= 1
                return self._latency_ms, dataclasses.replace(rule)
            return self._latency_ms, None
