"""Rate limits with `limits` (memory or Redis), answering with X-RateLimit-* and Retry-After."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from starlette.types import Scope

from studyhall.core.errors import TooManyRequests
from studyhall.core.metrics import RATE_LIMITED

STATE_KEY = "ratelimit"


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    def __init__(self, redis_url: str = "", namespace: str = "studyhall") -> None:
        self.redis_url = redis_url
        self.namespace = namespace
        if redis_url:
            uri = redis_url.replace("redis://", "async+redis://", 1)
            storage = storage_from_string(
                uri, implementation="redispy", key_prefix=f"{namespace}:limits"
            )
        else:
            storage = storage_from_string("async+memory://")
        assert isinstance(storage, Storage)
        self.storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self._parsed: dict[str, RateLimitItem] = {}

    def _item(self, rule: str) -> RateLimitItem:
        if rule not in self._parsed:
            self._parsed[rule] = parse(rule)
        return self._parsed[rule]

    async def hit(self, name: str, rule: str, key: str) -> RateLimitResult:
        item = self._item(rule)
        allowed = await self._strategy.hit(item, name, key)
        stats = await self._strategy.get_window_stats(item, name, key)
        if not allowed:
            RATE_LIMITED.labels(name).inc()
        return RateLimitResult(allowed, item.amount, max(0, stats.remaining), stats.reset_time)

    async def hit_fixed_window(self, name: str, rule: str, key: str) -> RateLimitResult:
        """Count a hit in the current clock-aligned window: one storage round trip.

        For the rules every request counts against (per IP, per user, auto-save), where
        `hit`'s exact moving window would cost two round trips per rule on each request. A
        client may spend up to twice the limit across a window boundary, which is fine for
        load shedding; security rules (sign-in, codes, resets, submit) keep the exact window.
        """
        item = self._item(rule)
        period = item.get_expiry()
        window = int(time.time() // period)
        count = await self.storage.incr(item.key_for(name, key, str(window)), period)
        allowed = count <= item.amount
        if not allowed:
            RATE_LIMITED.labels(name).inc()
        reset_at = float((window + 1) * period)
        return RateLimitResult(allowed, item.amount, max(0, item.amount - count), reset_at)

    async def reset(self) -> None:
        await self.storage.reset()

    async def ping(self) -> bool:
        return bool(await self.storage.check())


_limiter: RateLimiter | None = None


def configure_rate_limits(redis_url: str = "", namespace: str = "studyhall") -> RateLimiter:
    """Create the process's limiter; calling it again with the same URL keeps the one in use
    (several apps in one process, as in the tests, then share the counters and connections)."""
    global _limiter
    if _limiter is None or (_limiter.redis_url, _limiter.namespace) != (redis_url, namespace):
        _limiter = RateLimiter(redis_url, namespace)
    return _limiter


def get_limiter() -> RateLimiter:
    if _limiter is None:
        raise RuntimeError("rate limits are not configured; create_app() does that")
    return _limiter


def forwarded_client_ip(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The address our one trusted proxy appended to X-Forwarded-For (the last entry).

    Earlier entries come from the client and are not to be trusted: taking the first would
    let anyone pick the key they are rate-limited under.
    """
    forwarded = b",".join(value for name, value in headers if name == b"x-forwarded-for")
    entries = [part.strip() for part in forwarded.decode("latin-1").split(",") if part.strip()]
    return entries[-1] if entries else None


def scope_client_ip(scope: Scope, trust_proxy: bool = False) -> str:
    if trust_proxy and (forwarded := forwarded_client_ip(scope.get("headers", []))):
        return forwarded
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def client_ip(request: Request, trust_proxy: bool = False) -> str:
    return scope_client_ip(request.scope, trust_proxy)


def remember_headers(request: Request, result: RateLimitResult) -> None:
    """Keep the most restrictive rule's headers for the response (the middleware writes them).

    A refusal always wins and is never replaced by a later allowed hit; otherwise the rule with
    the fewest requests left (on a tie, the later reset) is the one the client must respect.
    """
    current: RateLimitResult | None = getattr(request.state, STATE_KEY, None)
    if _more_restrictive(result, current):
        setattr(request.state, STATE_KEY, result)


def _more_restrictive(result: RateLimitResult, current: RateLimitResult | None) -> bool:
    if current is None:
        return True
    if result.allowed != current.allowed:
        return not result.allowed
    return (result.remaining, -result.reset_at) < (current.remaining, -current.reset_at)


def too_many_requests(
    result: RateLimitResult, detail: str = "", error: type[TooManyRequests] = TooManyRequests
) -> TooManyRequests:
    """The 429 problem for a refused hit, carrying its headers and `retry_after` (which
    `detail` may show as `{retry_after}`)."""
    detail = detail or "Too many requests; try again in {retry_after} seconds."
    return error(
        detail.format(retry_after=result.retry_after),
        headers=result.headers(),
        extra={"retry_after": result.retry_after},
    )


async def count_hit(name: str, rule: str, key: str, *, exact: bool = True) -> RateLimitResult:
    """Count one hit of `rule` for `key` without refusing anything.

    `exact=False` counts in clock-aligned windows (one round trip; see `hit_fixed_window`).
    """
    limiter = get_limiter()
    if exact:
        return await limiter.hit(name, rule, key)
    return await limiter.hit_fixed_window(name, rule, key)
