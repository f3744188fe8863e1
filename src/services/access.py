"""Who may read what: token → site access (per token hash) and site → points (per site), both from
FlightDeck and remembered in D1 for a short time."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .config import Settings
from .errors import Forbidden
from .flightdeck import FlightDeckClient
from .repositories import AccessRepository, CatalogRepository


def token_hash(token: str) -> str:
    """What the service stores in place of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessService:
    """Guards data shared between users (the R2 cache, jobs) behind FlightDeck's own access rules."""

    def __init__(self, repo: AccessRepository, settings: Settings, now_ms: Callable[[], int]) -> None:
        self.repo = repo
        self.settings = settings
        self.now_ms = now_ms

    async def require(self, client: FlightDeckClient, token_digest: str, site: str) -> None:
        """Raise Forbidden unless FlightDeck has confirmed (recently) that the token reads `site`."""
        now = self.now_ms()
        allowed = await self.repo.lookup(token_digest, site, now)
        if allowed is None:
            allowed = await client.can_read_site(site)
            await self.repo.remember(token_digest, site, allowed, now, self.settings.access_ttl_seconds)
        if not allowed:
            raise Forbidden(f"this token may not read site {site!r}")


class SiteCatalog:
    """The points each site has, so a request for site A never serves a point of site B."""

    def __init__(self, repo: CatalogRepository, settings: Settings, now_ms: Callable[[], int]) -> None:
        self.repo = repo
        self.settings = settings
        self.now_ms = now_ms

    async def densities(self, client: FlightDeckClient, site: str, names: Sequence[str]) -> dict[str, int]:
        """Samples a day of each of `names` that belongs to `site`; the others are left out."""
        now = self.now_ms()
        known = await self.repo.lookup(site, names, now)
        if known is not None:
            return known
        per_day = await client.samples_per_day(site)
        await self.repo.replace(site, per_day, now, self.settings.catalog_ttl_seconds)
        return {name: per_day[name] for name in names if name in per_day}
