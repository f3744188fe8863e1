"""Calling the API in-process, as the Worker's fetch does."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

from services.api import Api
from services.ports import ApiRequest, ApiResponse

DAY0 = "2025-11-10T00:00:00Z"


def call(api: Api, method: str, path: str, params: dict | None = None, token: str | None = "good",
         headers: dict | None = None) -> tuple[ApiResponse, object]:
    url = f"https://worker.test{path}" + (f"?{urlencode(params)}" if params else "")
    sent = {"x-ace-token": token} if token else {}
    sent.update(headers or {})
    response = asyncio.run(api.handle(ApiRequest(method, url, sent)))
    body = response.body if isinstance(response.body, bytes) else asyncio.run(_collect(response.body))
    if response.headers.get("content-type", "").startswith("application/json"):
        return response, (json.loads(body) if body else None)
    return response, body


async def _collect(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def series_params(points, start=DAY0, end="2025-11-13T00:00:00Z", **extra) -> dict:
    return {"site": "demo-hq", "points": ",".join(points), "start_time": start, "end_time": end, **extra}
