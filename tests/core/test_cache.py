"""The cache module on the run's real backend (memory, or Redis when STUDYHALL_TEST_REDIS_URL
is set): get_or_set, invalidation by key and by tag, single-use markers and counters."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import pytest
from cashews import cache as cashews_cache
from fastapi import FastAPI

from studyhall.core import cache
from studyhall.core.db import session_scope
from studyhall.core.settings import get_settings
from tests.conftest import ENV

pytestmark = pytest.mark.usefixtures("app")  # the app sets the cache up; cleanup follows it


def _key(name: str) -> str:
    return f"test{uuid.uuid4().hex[:8]}:{name}"


class Loader:
    """Counts loads and returns a new value each time, so a reload is visible."""

    def __init__(self, prefix: str = "v") -> None:
        self.calls = 0
        self.prefix = prefix

    def __call__(self) -> Awaitable[dict[str, object]]:
        self.calls += 1
        value: dict[str, object] = {"value": f"{self.prefix}{self.calls}", "items": [1, 2]}

        async def load() -> dict[str, object]:
            return value

        return load()


def test_the_backend_is_the_one_configured(app: FastAPI) -> None:
    backend = type(cashews_cache._get_backend(cache.full_key(""))).__name__.lower()
    assert ("redis" in backend) == bool(ENV.redis_url), backend


async def test_get_or_set_loads_once() -> None:
    key, load = _key("quiz:1"), Loader()
    first = await cache.get_or_set(key, 60, load)
    second = await cache.get_or_set(key, 60, load)
    assert first == second == {"value": "v1", "items": [1, 2]}
    assert load.calls == 1
    assert await cache.get(key) == first


async def test_falsy_values_are_cached_too() -> None:
    key, calls = _key("empty"), 0

    async def load() -> list[int]:
        nonlocal calls
        calls += 1
        return []

    assert await cache.get_or_set(key, 60, load) == []
    assert await cache.get_or_set(key, 60, load) == []
    assert calls == 1


async def test_invalidate_by_key() -> None:
    key, other, load = _key("a"), _key("b"), Loader()
    await cache.get_or_set(key, 60, load)
    await cache.get_or_set(other, 60, Loader("other"))
    await cache.invalidate(key)
    assert (await cache.get_or_set(key, 60, load))["value"] == "v2"
    assert (await cache.get_or_set(other, 60, Loader("new")))["value"] == "other1"


async def test_invalidate_by_tag() -> None:
    tag = f"quiz-{uuid.uuid4().hex[:8]}"
    tagged = [_key("detail"), _key("list")]
    untagged = _key("unrelated")
    loaders = {key: Loader() for key in [*tagged, untagged]}
    for key in tagged:
        await cache.get_or_set(key, 60, loaders[key], tags=[tag, "other-tag"])
    await cache.get_or_set(untagged, 60, loaders[untagged])

    await cache.invalidate_tag(tag)
    for key in tagged:
        assert (await cache.get_or_set(key, 60, loaders[key], tags=[tag]))["value"] == "v2"
    assert (await cache.get_or_set(untagged, 60, loaders[untagged]))["value"] == "v1"

    await cache.invalidate_tag(tag)  # again: the reloaded keys were tagged again
    assert [await cache.get(key) for key in tagged] == [None, None]
    await cache.invalidate_tag(f"never-used-{uuid.uuid4().hex}")  # an unknown tag is a no-op


async def test_many_keys_under_one_tag() -> None:
    tag = f"big-{uuid.uuid4().hex[:8]}"
    keys = [_key(f"k{i}") for i in range(1200)]  # more than one set_pop batch
    for key in keys:
        await cache.set_value(key, 1, 60)
        await cache._remember_tag(tag, key, 60)
    await cache.invalidate_tag(tag)
    assert [await cache.get(key) for key in keys[::100]] == [None] * 12
    assert await cache.get(keys[-1]) is None


async def test_a_tag_outlives_its_longest_key() -> None:
    """A short-lived key tagged later must not shorten the tag's memory of a long-lived one."""
    tag = f"ttl-{uuid.uuid4().hex[:8]}"
    tag_key = cache.full_key("tag:" + tag)
    long_ttl = cache.TAG_TTL_SECONDS * 2
    await cache.get_or_set(_key("long"), long_ttl, Loader(), tags=[tag])
    await cache.get_or_set(_key("short"), 1, Loader(), tags=[tag])
    assert await cashews_cache.get_expire(tag_key) > long_ttl - 60

    short_tag = f"short-{uuid.uuid4().hex[:8]}"
    await cache.get_or_set(_key("brief"), 5, Loader(), tags=[short_tag])
    assert await cashews_cache.get_expire(cache.full_key("tag:" + short_tag)) > 5


async def test_set_if_absent_claims_once() -> None:
    key = _key("marker")
    assert await cache.set_if_absent(key, "first", 60) is True
    assert await cache.set_if_absent(key, "second", 60) is False
    assert await cache.get(key) == "first"
    await cache.delete(key)
    assert await cache.set_if_absent(key, "third", 60) is True
    assert await cache.get(key) == "third"


async def test_incr_counts_and_expires() -> None:
    key = _key("counter")
    assert [await cache.incr(key, 120) for _ in range(3)] == [1, 2, 3]
    assert 0 < await cashews_cache.get_expire(cache.full_key(key)) <= 120
    assert await cache.incr(_key("counter"), 120) == 1


async def test_set_value_get_delete_and_ping() -> None:
    key = _key("plain")
    assert await cache.get(key) is None
    await cache.set_value(key, {"n": 1}, 60)
    assert await cache.get(key) == {"n": 1}
    await cache.delete(key)
    assert await cache.get(key) is None
    assert await cache.ping() is True


async def test_setup_again_with_the_same_url_keeps_the_backend() -> None:
    key = _key("kept")
    await cache.set_value(key, "still here", 60)
    backend = cashews_cache._get_backend(cache.full_key(""))
    cache.setup_cache(ENV.redis_url, get_settings().redis_namespace)
    assert cashews_cache._get_backend(cache.full_key("")) is backend
    await cache.close_cache()  # another app shutting down: connections reopen on next use
    assert await cache.get(key) == "still here"


@pytest.fixture
def backend_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each cache command reaches the backend (each is one round trip)."""
    calls: Counter[str] = Counter()
    for name in ("delete", "delete_many", "set_pop"):
        original = getattr(cashews_cache, name)

        async def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            calls[_name] += 1
            return await _original(*args)

        monkeypatch.setattr(cashews_cache, name, counted)
    return calls


async def _present(keys: list[str]) -> list[str]:
    values = await cache.get_many(keys)
    return [key for key, value in zip(keys, values, strict=True) if value is not None]


async def test_many_keys_are_dropped_in_one_round_trip(backend_calls: Counter[str]) -> None:
    keys = [_key(f"many{i}") for i in range(300)]
    kept = _key("kept")
    await cache.set_many({key: i for i, key in enumerate([*keys, kept])}, 60)
    await cache.invalidate(*keys, keys[0])
    assert backend_calls == {"delete_many": 1}
    assert await _present(keys) == []
    assert await cache.get(kept) == 300


async def test_keys_and_tags_are_dropped_together(backend_calls: Counter[str]) -> None:
    big, small = f"big-{uuid.uuid4().hex[:8]}", f"small-{uuid.uuid4().hex[:8]}"
    in_big = [_key(f"b{i}") for i in range(250)]
    in_small = [_key("s1"), _key("s2"), in_big[0]]  # a key under both tags
    plain, untouched = [_key("p1"), _key("p2")], _key("untouched")
    for key in in_big:
        await cache.get_or_set(key, 60, Loader(), tags=[big])
    for key in in_small:
        await cache.get_or_set(key, 60, Loader(), tags=[small])
    await cache.set_many({key: 1 for key in [*plain, untouched]}, 60)

    await cache.invalidate_many(plain, [big, small, big])
    # One pop per tag (each under a batch), one delete for everything.
    assert backend_calls == {"set_pop": 2, "delete_many": 1}
    assert await _present([*in_big, *in_small, *plain]) == []
    assert await cache.get(untouched) == 1

    backend_calls.clear()
    await cache.invalidate_tag(big)  # the tag's set was emptied: nothing left to delete
    assert backend_calls == {"set_pop": 1}


async def test_a_large_tag_is_dropped_in_batches(backend_calls: Counter[str]) -> None:
    tag = f"large-{uuid.uuid4().hex[:8]}"
    keys = [_key(f"k{i}") for i in range(cache.BATCH + 5)]
    await cache.set_many({key: 1 for key in keys}, 60)
    for key in keys:
        await cache._remember_tag(tag, key, 60)
    backend_calls.clear()
    await cache.invalidate_tag(tag)
    assert backend_calls == {"set_pop": 2, "delete_many": 2}
    assert await _present(keys) == []


async def test_dropped_now_and_again_after_the_commit(
    app: FastAPI, backend_calls: Counter[str]
) -> None:
    key, tagged, tag = _key("row"), _key("list"), f"rows-{uuid.uuid4().hex[:8]}"
    await cache.set_value(key, "old", 60)
    await cache.get_or_set(tagged, 60, Loader("old"), tags=[tag])

    async with session_scope(app.state.sessionmaker) as db:
        await cache.invalidate_now_and_after_commit(db, [key], [tag])
        assert await _present([key, tagged]) == []  # the writer's next read misses
        # A reader between the drop and the commit caches the rows it still sees.
        await cache.set_value(key, "stale", 60)
        await cache.get_or_set(tagged, 60, Loader("stale"), tags=[tag])
    assert await _present([key, tagged]) == []  # dropped again once committed
    assert backend_calls == {"set_pop": 2, "delete_many": 2}

    with pytest.raises(RuntimeError):
        async with session_scope(app.state.sessionmaker) as db:
            await cache.invalidate_now_and_after_commit(db, [key])
            await cache.set_value(key, "current", 60)  # nothing changed: still right
            raise RuntimeError("rolled back")
    assert await cache.get(key) == "current"
