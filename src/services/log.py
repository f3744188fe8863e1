"""One JSON line per event (request, queue batch, cron run): what `wrangler tail` shows."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def log_event(event: str, **fields: Any) -> None:
    """Print one structured JSON line; callers never pass tokens (only their hashes)."""
    record = {"ts": round(time.time() * 1000), "event": event}
    record.update({key: value for key, value in fields.items() if value is not None})
    print(json.dumps(record, separators=(",", ":"), default=str), file=sys.stdout, flush=True)
