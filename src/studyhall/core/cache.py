"""The one door to the cache (cashews: memory or Redis).

Services cache and invalidate through it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from cashews import cache
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import after_commit
from studyhall.core.metrics import CACHE_HITS, CACHE_MISSES

T = TypeVar("T")
_MISSING = object()
_TAG_PREFIX = "tag:"
_prefix = "studyhall:"
# A tag's key set must outlive every key in it, or invalidate_tag would miss keys. Each add
# resets the set's expiry, so it is never shortened below this or the longest key's TTL.
TAG_TTL_SECONDS = 24 * 3600
# Keys per backend round trip when popping a tag's set or deleting keys.
BATCH = 1000

_configured_url: str | None = None


def setup_cache(redis_url: str = "", namespace: str = "studyhall") -> None:
    """Point the cache at Redis or memory; again with the same URL, keep the backend in use
    (several apps in one process, as in the tests, then share it instead of leaking one).

    Every key starts with `namespace:`, so several installations can share one Redis.
    """
    global _configured_url, _prefix
    _prefix = f"{namespace}:"
    url = redis_url or "mem://?size=100000"
    if url == _configured_url and cache.is_setup():
        return
    if redis_url:
        # check_repr re-reprs every value read to detect corruption; too costly per request.
        cache.setup(redis_url, suppress=False, check_repr=False)
    else:
        cache.setup(url, check_repr=False)
    _configured_url = url


def full_key(key: str) -> str:
    """The backend key of `key` (namespaced), for tools that talk to the backend directly."""
    return _prefix + key


_k = full_key


async def close_cache() -> None:
    """Close connections; cashews reopens them on next use, so a shared backend survives."""
    await cache.close()


def _namespace(key: str) -> str:
    return key.split(":", 1)[0]


async def get_or_set(
    key: str,
    ttl_seconds: int,
    load: Callable[[], Awaitable[T]],
    tags: Iterable[str] = (),
) -> T:
    """Return the cached value of `key`, or load, store and return it.

    Keys must include every input the value depends on, the user id for anything private.
    """
    value = await cache.get(_k(key), default=_MISSING)
    if value is not _MISSING:
        CACHE_HITS.labels(_namespace(key)).inc()
        return cast(T, value)
    CACHE_MISSES.labels(_namespace(key)).inc()
    value = await load()
    await cache.set(_k(key), value, expire=ttl_seconds)
    for tag in tags:
        await _remember_tag(tag, key, ttl_seconds)
    return value


async def _remember_tag(tag: str, key: str, ttl_seconds: int) -> None:
    tag_key = _k(_TAG_PREFIX + tag)
    current = await cache.get_expire(tag_key)  # seconds left; negative when none or unlimited
    await cache.set_add(tag_key, key, expire=max(ttl_seconds, TAG_TTL_SECONDS, current))


async def invalidate(*keys: str) -> None:
    """Drop `keys`: one backend round trip (per BATCH keys)."""
    await _delete([_k(key) for key in dict.fromkeys(keys)])


async def invalidate_tag(tag: str) -> None:
    """Drop every key stored with `tag`."""
    await invalidate_many(tags=(tag,))


async def invalidate_many(keys: Iterable[str] = (), tags: Iterable[str] = ()) -> None:
    """Drop `keys` and every key stored with one of `tags`: the tags' key sets are emptied
    concurrently (a round trip per BATCH keys each), then one delete drops all the keys."""
    members = await asyncio.gather(*(_pop_tag(tag) for tag in dict.fromkeys(tags)))
    await invalidate(*keys, *(key for tagged in members for key in tagged))


async def _pop_tag(tag: str) -> list[str]:
    """Take every key out of `tag`'s set."""
    tag_key = _k(_TAG_PREFIX + tag)
    members: list[str] = []
    while True:
        popped = [str(key) for key in await cache.set_pop(tag_key, BATCH)]
        members += popped
        if len(popped) < BATCH:
            return members


async def _delete(backend_keys: Sequence[str]) -> None:
    for start in range(0, len(backend_keys), BATCH):
        await cache.delete_many(*backend_keys[start : start + BATCH])


async def incr(key: str, ttl_seconds: int) -> int:
    value: int = await cache.incr(_k(key), expire=ttl_seconds)
    return value


async def get(key: str) -> Any:
    return await cache.get(_k(key))


async def set_value(key: str, value: Any, ttl_seconds: int) -> None:
    await cache.set(_k(key), value, expire=ttl_seconds)


async def delete(key: str) -> None:
    await cache.delete(_k(key))


async def set_if_absent(key: str, value: Any, ttl_seconds: int) -> bool:
    """Atomically claim `key`; False when it was already there (used for single-use markers)."""
    return bool(await cache.set(_k(key), value, expire=ttl_seconds, exist=False))


async def ping() -> bool:
    probe = _k("health:probe")
    await cache.set(probe, "ok", expire=10)
    return bool(await cache.get(probe) == "ok")


def record_lookups(namespace: str, hits: int, misses: int) -> None:
    """Count hits/misses for lookups that read the cache key by key (bulk reads)."""
    if hits:
        CACHE_HITS.labels(namespace).inc(hits)
    if misses:
        CACHE_MISSES.labels(namespace).inc(misses)


async def clear_namespace() -> None:
    """Delete every key of this installation (tests; never other namespaces' keys)."""
    await cache.delete_match(_prefix + "*")


async def invalidate_now_and_after_commit(
    session: AsyncSession, keys: Iterable[str] = (), tags: Iterable[str] = ()
) -> None:
    """Drop cached values now, and once more when `session`'s transaction has committed.

    Now, so the writer's own next read misses; again after the commit, because a reader that
    missed in between could have cached the rows it still saw before the commit.
    """
    key_list, tag_list = list(keys), list(tags)

    async def drop() -> None:
        await invalidate_many(key_list, tag_list)

    await drop()
    after_commit(session, drop)


async def get_many(keys: Sequence[str]) -> list[Any]:
    """Values of `keys` in one round trip (None where missing)."""
    if not keys:
        return []
    return list(await cache.get_many(*(_k(key) for key in keys)))


async def set_many(values: Mapping[str, Any], ttl_seconds: int) -> None:
    """Store several keys in one round trip."""
    if values:
        await cache.set_many({_k(key): value for key, value in values.items()}, expire=ttl_seconds)
