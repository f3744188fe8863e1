"""The request log behind `GET /_sim/log`: bounded, thread-safe, never holding tokens."""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Any

MAX_ENTRIES = 100_000


class RequestLog:
    """Entries in arrival order; `seq` keeps counting across clears."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_ENTRIES)

    def add(self, entry: dict[str, Any]) -> None:
        """Append an entry, numbering it."""
        with self._lock:
            self._entries.append({"seq": next(self._seq), **entry})

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> int:
        """Drop all entries; returns how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            return count
