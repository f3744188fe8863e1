"""Who may read what, per token and site, from FlightDeck's own answers remembered in D1 for a short time.

One call answers both questions: `/sites/{site}/points` with the caller's token is refused (403) when the
token may not read the site, and otherwise lists the points FlightDeck lets that token see. The site's
list (`site_points`, with each point's density) is the union of what the tokens that asked were shown,
shared by all; per token the service keeps only what sets it apart: the site's points its own list lacks
(`unlisted`) and the points a data call with it answered 403 for (`refused`). A remembered answer holds
while the site's list is the one the token's list was compared with, so a point another token's list adds
later is never taken as readable by a token that was not shown it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from .config import Settings
from .errors import Forbidden
from .flightdeck import FlightDeckClient
from .repositories import AccessRepository, CatalogRepository, SiteList


def token_hash(token: str) -> str:
    """What the service stores in place of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


# Whether the token reads the site, and the densities of the asked points it may read; None when not remembered.
Remembered = tuple[bool, dict[str, int]] | None


def names_digest(names: Collection[str]) -> str:
    """One value for a set of point names, whatever their order."""
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


class AccessService:
    """Guards data shared between users (the R2 cache, jobs) behind FlightDeck's own access rules."""

    def __init__(
        self, repo: AccessRepository, catalog: CatalogRepository, settings: Settings, now_ms: Callable[[], int],
    ) -> None:
        self.repo = repo
        self.catalog = catalog
        self.settings = settings
        self.now_ms = now_ms

    async def require(self, client: FlightDeckClient, token_digest: str, site: str) -> None:
        """Raise Forbidden unless FlightDeck has confirmed (recently) that the token reads `site`."""
        await self.readable(client, token_digest, site, ())

    def remembered(self, token_digest: str, site: str, names: Sequence[str]) -> Awaitable[Remembered]:
        """The remembered answer for `readable` (one D1 statement, no FlightDeck call): safe to start
        before a request's other checks have passed."""
        return self.repo.readable(token_digest, site, names, self.now_ms())

    async def readable(
        self, client: FlightDeckClient, token_digest: str, site: str, names: Sequence[str],
        remembered: Awaitable[Remembered] | None = None,
    ) -> dict[str, int]:
        """Samples a day of each of `names` the token may read at `site`: names the site lacks, and points
        FlightDeck refuses to this token, are left out. Forbidden when it may not read the site.

        Remembered answers cost one D1 statement (per 94 names; `remembered` when already started);
        otherwise one FlightDeck call.
        """
        known = await (remembered or self.remembered(token_digest, site, names))
        if known is not None:
            allowed, per_day = known
            if not allowed:
                raise _refused(site)
            return per_day
        listed = await self._check(client, token_digest, site)
        if listed is None:
            raise _refused(site)
        refused = await self.repo.refused(token_digest, site, names, self.now_ms())
        return {name: listed[name] for name in names if name in listed and name not in refused}

    async def densities(
        self, client: FlightDeckClient, token_digest: str, site: str, names: Sequence[str],
    ) -> dict[str, int]:
        """Samples a day of each of `names` the site has, to size a job's calls: from the site's remembered
        list (CATALOG_TTL_SECONDS), else from the token's own list (one FlightDeck call). A job was checked
        when it was queued, and FlightDeck checks each of its calls, so no fresh access answer is needed."""
        known = await self.catalog.densities(site, names, self.now_ms())
        if known is not None:
            return known
        listed = await self._check(client, token_digest, site)
        if listed is None:
            raise _refused(site)
        return {name: listed[name] for name in names if name in listed}

    async def refuse(self, token_digest: str, site: str, names: Sequence[str]) -> None:
        """Remember points a data call with the token was refused (403) for: they are that token's
        per-point errors, never read from the cache nor asked again, for ACCESS_TTL_SECONDS."""
        await self.repo.refuse(token_digest, site, names, self.now_ms(), self.settings.access_ttl_seconds)

    async def _check(self, client: FlightDeckClient, token_digest: str, site: str) -> dict[str, int] | None:
        """Ask FlightDeck for the token's list of the site's points and remember the answer; None when
        refused. A 404 (no such site, or a transient answer) raises NotFound and is not remembered."""
        now, ttl = self.now_ms(), self.settings.access_ttl_seconds
        try:
            listed = await client.samples_per_day(site)
        except Forbidden:
            await self.repo.remember(token_digest, site, False, now, ttl)
            return None
        current = await self.catalog.current(site, now)
        merged = listed if current is None else {**current.per_day, **listed}
        site_list = SiteList(merged, names_digest(merged),
                             current.expires_ms if current else now + self.settings.catalog_ttl_seconds * 1000)
        unchanged = current is not None and current.per_day == merged and current.digest == site_list.digest
        await self.repo.remember(token_digest, site, True, now, ttl, site_list.digest,
                                 sorted(merged.keys() - listed.keys()),
                                 () if unchanged else self.catalog.replace(site, site_list, now))
        return listed


def _refused(site: str) -> Forbidden:
    return Forbidden(f"this token may not read site {site!r}")


@dataclass(frozen=True)
class TokenAccess:
    """`AccessService` for one caller: its FlightDeck client and token hash bound."""

    service: AccessService
    client: FlightDeckClient
    token_digest: str

    async def require(self, site: str) -> None:
        await self.service.require(self.client, self.token_digest, site)

    def remembered(self, site: str, names: Sequence[str]) -> Awaitable[Remembered]:
        return self.service.remembered(self.token_digest, site, names)

    async def readable(self, site: str, names: Sequence[str], remembered: Awaitable[Remembered] | None = None
                       ) -> dict[str, int]:
        return await self.service.readable(self.client, self.token_digest, site, names, remembered)

    async def refuse(self, site: str, names: Sequence[str]) -> None:
        await self.service.refuse(self.token_digest, site, names)
