"""One periodic scheduler per installation: however many consumers run (each `serve` worker
process, each `studyhall worker`), a periodic task is enqueued once per tick, and the ticks go
on when the process that enqueued the last ones dies. On the SQLite queue and on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from huey import Huey, RedisHuey, SqliteHuey

from studyhall.core.jobs import tick_claims_for
from tests import backends

ROOT = Path(__file__).parents[2]
CONSUMERS = 3


@pytest.fixture(params=["sqlite", "redis"])
def queue_location(
    request: pytest.FixtureRequest, test_env: backends.TestEnvironment, tmp_path: Path
) -> Iterator[tuple[str, str, str]]:
    """(kind, location, queue name) of a queue of the test's own."""
    kind: str = request.param
    name = f"periodic-{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        yield kind, str(tmp_path / "jobs.db"), name
        return
    if not test_env.redis_url:
        pytest.skip("needs STUDYHALL_TEST_REDIS_URL")
    yield kind, test_env.redis_url, name
    client = redis.Redis.from_url(test_env.redis_url)
    keys = list(client.scan_iter(f"huey.*{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _queue(kind: str, location: str, name: str) -> Huey:
    if kind == "redis":
        return RedisHuey(name, url=location, utc=True)
    return SqliteHuey(name, filename=location, utc=True)


def test_a_tick_is_claimed_once_among_racing_threads(queue_location: tuple[str, str, str]) -> None:
    claims = tick_claims_for(_queue(*queue_location))
    tick = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(lambda n: claims.claim(tick, f"owner-{n}"), range(16)))
    assert won.count(True) == 1
    assert claims.claim(tick.replace(minute=1), "late") is True  # the next tick is free


def _start_consumer(kind: str, location: str, name: str, record: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.core.periodic_consumer", kind, location, name, str(record)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _enqueues(record: Path) -> list[tuple[int, str]]:
    """(pid, task id) of every enqueue of the periodic task so far, in order."""
    lines = record.read_text().splitlines()
    return [(int(pid), task_id) for pid, task_id in (line.split(" ", 1) for line in lines)]


def _wait_until(check: Callable[[], bool], within: float, message: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_consumers_enqueue_each_tick_once_and_survive_the_death_of_one(
    queue_location: tuple[str, str, str], tmp_path: Path
) -> None:
    kind, location, name = queue_location
    record = tmp_path / "enqueued.txt"
    record.touch()
    if kind == "sqlite":
        _queue(kind, location, name)  # create the file's tables before the processes race
    consumers = [_start_consumer(kind, location, name, record) for _ in range(CONSUMERS)]
    try:
        _wait_until(lambda: len(_enqueues(record)) >= 4, 60, "no periodic enqueues")
        # Kill whichever consumer enqueued the latest tick, without letting it clean up.
        last_pid = _enqueues(record)[-1][0]
        victim = next(c for c in consumers if c.pid == last_pid)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        seen = len(_enqueues(record))
        _wait_until(
            lambda: len(_enqueues(record)) >= seen + 4,
            30,
            "the ticks stopped when one consumer died",
        )
        assert all(c.poll() is None for c in consumers if c is not victim)
    finally:
        for consumer in consumers:
            if consumer.poll() is None:
                consumer.kill()
            consumer.wait(timeout=10)

    enqueues = _enqueues(record)
    task_ids = [task_id for _, task_id in enqueues]
    duplicates = {t for t in task_ids if task_ids.count(t) > 1}
    assert not duplicates, f"ticks enqueued more than once: {sorted(duplicates)}"
    assert task_ids == sorted(task_ids), "a tick was enqueued after a later one"
    after_death = [pid for pid, _ in enqueues[seen:]]
    assert after_death and victim.pid not in after_death
