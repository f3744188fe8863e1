"""Token → site access: FlightDeck's answer, remembered in D1 per token hash for a short time."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from .config import Settings
from .errors import Forbidden
from .flightdeck import FlightDeckClient
from .repositories import AccessRepository


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
