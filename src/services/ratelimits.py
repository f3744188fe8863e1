"""Request rate limits on Cloudflare's Rate Limiting bindings: per token and per site, cheap routes apart.

The limits themselves (`simple = {limit, period}`) live in `wrangler.toml`, one `[[ratelimits]]`
each; this module only decides which keys a request counts against. Keys carry the token's hash,
never the token.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import RateLimited
from .ports import RateLimiter

# The `simple.period` of every [[ratelimits]] in wrangler.toml: the binding's API does not expose
# it, and a fixed window never needs longer than one period to reopen.
RATE_LIMIT_PERIOD_SECONDS = 60

TOKEN_LIMIT = "RATE_LIMIT_TOKEN"  # data routes, per token
SITE_LIMIT = "RATE_LIMIT_SITE"  # data routes, per site, all tokens together: what FlightDeck sees
LIGHT_LIMIT = "RATE_LIMIT_LIGHT"  # cheap routes (health, stats, job status and events), per token or client
BINDINGS = (TOKEN_LIMIT, SITE_LIMIT, LIGHT_LIMIT)


class RateLimits:
    """Checks a request against the configured bindings; a binding that is not configured is not checked."""

    def __init__(self, limiters: Mapping[str, RateLimiter]) -> None:
        self.limiters = limiters

    async def check_data(self, token_hash: str, site: str | None) -> None:
        """An expensive route: the caller's token, then the site when the request names one."""
        await self._check(TOKEN_LIMIT, f"token:{token_hash}", "requests for data per token")
        if site:
            await self._check(SITE_LIMIT, f"site:{site}", f"requests for data of site {site!r}, all callers together")

    async def check_light(self, caller_key: str) -> None:
        """A cheap route (health, stats, job status, job events), counted apart from the data routes."""
        await self._check(LIGHT_LIMIT, caller_key, "status and health requests per caller")

    async def _check(self, binding: str, key: str, what: str) -> None:
        limiter = self.limiters.get(binding)
        if limiter is not None and not await limiter.limit(key):
            raise RateLimited(
                f"rate limit {binding} exceeded ({what}); retry after {RATE_LIMIT_PERIOD_SECONDS} s",
                retry_after=RATE_LIMIT_PERIOD_SECONDS, details={"limit": binding},
            )
