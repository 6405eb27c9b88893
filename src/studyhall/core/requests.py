"""What the shared request layer (each module's `actions.py`) needs to know of a request.

The JSON API and the pages both call a module's actions for what a request does: the
authorization rules, rate limits and lockouts, then the service call. The actions never see
the Request itself, only this context: where the request comes from, the settings in force,
and where a counted rate limit leaves its X-RateLimit-* headers for the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from studyhall.core.errors import TooManyRequests
from studyhall.core.ratelimit import RateLimitResult, count_hit, too_many_requests
from studyhall.core.settings import Settings


@dataclass(frozen=True)
class LimitRule:
    """A rate limit, declared once: its counter's name and the setting holding its rule.

    The counter's name and the key an action passes make the bucket, so every door that
    spends the same rule with the same key spends the same budget.
    """

    name: str
    setting: str  # a Settings field such as "rate_limit_login_ip" ("10/minute")
    # False: clock-aligned windows, one round trip (load shedding, see hit_fixed_window).
    exact: bool = True

    def rule(self, settings: Settings) -> str:
        value: str = getattr(settings, self.setting)
        return value


def _ignore(_result: RateLimitResult) -> None:
    return None


@dataclass(frozen=True)
class RequestContext:
    """Who sends a request from where, as the shared actions see it."""

    settings: Settings
    ip: str
    user_agent: str = ""
    # Keeps the most restrictive result for the response's headers (see remember_headers).
    remember: Callable[[RateLimitResult], None] = field(default=_ignore, compare=False)

    async def count(self, limit: LimitRule, key: str) -> RateLimitResult:
        """Count one hit of `limit` for `key`; the caller decides what a refusal means."""
        result = await count_hit(limit.name, limit.rule(self.settings), key, exact=limit.exact)
        self.remember(result)
        return result

    async def spend(
        self,
        limit: LimitRule,
        key: str,
        detail: str = "",
        error: type[TooManyRequests] = TooManyRequests,
    ) -> RateLimitResult:
        """Count one hit of `limit` for `key`; raise a 429 (`error`) when it is spent."""
        result = await self.count(limit, key)
        if not result.allowed:
            raise too_many_requests(result, detail, error)
        return result
