"""Progressive lockout after repeated failures, per account and per IP, kept in the cache.

Keys use the submitted email (not the user id) so unknown and known emails lock alike and
the lockout itself reveals nothing about which accounts exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from studyhall.core import cache
from studyhall.core.errors import Locked
from studyhall.core.settings import Settings

FAILURE_MEMORY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class LockState:
    locked: bool
    retry_after: int = 0


def _scope_keys(scope: str, subject: str) -> tuple[str, str]:
    return f"lockout:{scope}:fails:{subject}", f"lockout:{scope}:until:{subject}"


async def check(scope: str, subject: str) -> LockState:
    _, until_key = _scope_keys(scope, subject)
    until = await cache.get(until_key)
    if until is not None and float(until) > time.time():
        return LockState(True, max(1, int(float(until) - time.time()) + 1))
    return LockState(False)


async def refuse_if_locked(scope: str, subject: str) -> None:
    """Raise a 423 problem (with Retry-After) while `subject` is locked in `scope`."""
    state = await check(scope, subject)
    if state.locked:
        raise Locked(
            f"Too many failed attempts. Try again in {state.retry_after} seconds.",
            code="locked_out",
            headers={"Retry-After": str(state.retry_after)},
            extra={"retry_after": state.retry_after},
        )


def lock_seconds(settings: Settings, failures: int) -> int:
    """Doubles with every failure past the threshold, up to the maximum."""
    over = failures - settings.lockout_threshold
    if over < 0:
        return 0
    return int(
        min(settings.lockout_base_seconds * (2 ** min(over, 20)), settings.lockout_max_seconds)
    )


async def record_failure(settings: Settings, scope: str, subject: str) -> LockState:
    """Count a failure; returns the new lock, if this failure started one."""
    fails_key, until_key = _scope_keys(scope, subject)
    failures = await cache.incr(fails_key, FAILURE_MEMORY_SECONDS)
    seconds = lock_seconds(settings, failures)
    if seconds:
        await cache.set_value(until_key, time.time() + seconds, seconds)
        return LockState(True, seconds)
    return LockState(False)


async def clear(scope: str, subject: str) -> None:
    fails_key, until_key = _scope_keys(scope, subject)
    await cache.delete(fails_key)
    await cache.delete(until_key)
