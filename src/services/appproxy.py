"""`GET /api/sites` and `GET /api/sites/{site}/configured_points`: read-only FlightDeck calls the app
makes, forwarded with the caller's token. An allow-list of paths and parameters, never an open proxy."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from .app import Services
from .errors import BadRequest
from .ports import ApiRequest, ApiResponse
from .web import caller_token, json_response

PER_PAGE = (2, 10, 20, 30, 40, 50, 100, 500, 1000, 5000, 10000, 100000)  # the spec's enum


def paging(params: Mapping[str, str]) -> dict[str, int]:
    """Only `page` and `per_page` travel upstream, and only valid ones."""
    forwarded: dict[str, int] = {}
    page = (params.get("page") or "").strip()
    if page:
        if not page.isdigit() or int(page) < 1:
            raise BadRequest("page must be a positive integer", field="page")
        forwarded["page"] = int(page)
    per_page = (params.get("per_page") or "").strip()
    if per_page:
        if not per_page.isdigit() or int(per_page) not in PER_PAGE:
            raise BadRequest(f"per_page must be one of {', '.join(map(str, PER_PAGE))}", field="per_page")
        forwarded["per_page"] = int(per_page)
    return forwarded


async def forward_sites(services: Services, request: ApiRequest, params: Mapping[str, str]) -> ApiResponse:
    """FlightDeck's `GET /sites/`: the sites this token may read."""
    return await _forward(services, request, "/sites/", params)


async def forward_configured_points(
    services: Services, request: ApiRequest, site: str, params: Mapping[str, str]
) -> ApiResponse:
    """FlightDeck's `GET /sites/{site}/configured_points`: the site's points configured for collection."""
    return await _forward(services, request, f"/sites/{quote(site, safe='')}/configured_points", params)


async def _forward(services: Services, request: ApiRequest, path: str, params: Mapping[str, str]) -> ApiResponse:
    token = caller_token(request)
    payload = await services.client(token).get_json(path, paging(params))
    return json_response(200, payload)
