"""Domain events through the outbox, on the real database: nothing leaves a rolled-back
transaction, nothing is lost between a commit and its delivery, handlers are retried with
backoff and in order per aggregate, and a delivered event is never applied twice.

Events committed with a plain `session.commit()` skip the after-commit enqueue, exactly as
if the process had died right after its commit: only a delivery pass run here (or the
minute sweep) delivers them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import UserStats
from studyhall.core import events
from studyhall.core.db import session_scope, utcnow
from studyhall.core.events import (
    DeliveryStatus,
    DomainEvent,
    EventDelivery,
    OutboxEvent,
    deliver_pending,
    emit,
    purge_delivered,
    subscribe,
)
from tests.analytics.conftest import add_users, items, submission
from tests.conftest import deliver_events, wait_until

# The handlers' effects: a table of this test module only, written in the delivery's
# transaction (so a handler's writes commit or vanish with its delivery record).
effects_metadata = MetaData()
effects = Table(
    "test_event_effects",
    effects_metadata,
    Column("key", String(100), primary_key=True),
    Column("account", String(50)),
    Column("n", Integer),
)


class Credited(DomainEvent):
    name = "test.credited"
    aggregate = "account"

    account: str
    n: int


class Flaky:
    """Handler behaviour per test: calls seen and how many times each event fails first."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.fail_first: dict[str, int] = {}
        self.applied: list[str] = []

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


flaky = Flaky()


def key_of(event: Credited) -> str:
    return f"{event.account}:{event.n}"


@subscribe(Credited, "tests.credit")
async def credit(session: AsyncSession, event: Credited) -> None:
    key = key_of(event)
    flaky.calls[key] += 1
    if flaky.calls[key] <= flaky.fail_first.get(key, 0):
        raise RuntimeError(f"refused {key}")
    await session.execute(insert(effects).values(key=key, account=event.account, n=event.n))
    flaky.applied.append(key)


@pytest.fixture(autouse=True)
async def effects_table(app: FastAPI) -> AsyncIterator[None]:
    flaky.reset()
    async with app.state.engine.begin() as connection:
        await connection.run_sync(effects_metadata.create_all)
    yield
    async with app.state.engine.begin() as connection:
        await connection.run_sync(effects_metadata.drop_all)


async def emit_committed_without_enqueue(app: FastAPI, *batch: DomainEvent) -> None:
    """Emit and commit, but never run the after-commit hooks (a crash right after COMMIT)."""
    async with app.state.sessionmaker() as session:
        for event in batch:
            emit(session, event)
        await session.commit()


async def effect_keys(app: FastAPI) -> list[str]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(effects.c.key).order_by(effects.c.key)))


async def deliveries(app: FastAPI) -> dict[str, EventDelivery]:
    """Delivery rows of the test handler, by effect key."""
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(EventDelivery, OutboxEvent.payload)
            .join(OutboxEvent, OutboxEvent.seq == EventDelivery.event_seq)
            .where(EventDelivery.handler == "tests.credit")
        )
        return {f"{payload['account']}:{payload['n']}": row for row, payload in rows}


async def test_a_rolled_back_transaction_emits_nothing(app: FastAPI) -> None:
    with pytest.raises(RuntimeError):
        async with session_scope(app.state.sessionmaker) as session:
            emit(session, Credited(account="a", n=1))
            await session.flush()  # even once written, the rollback takes it back
            raise RuntimeError("the request failed")
    await deliver_events(app)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert flaky.calls == Counter() and await effect_keys(app) == []


async def test_an_event_committed_before_a_crash_is_delivered_by_a_later_pass(
    app: FastAPI,
) -> None:
    await emit_committed_without_enqueue(app, Credited(account="a", n=1))
    async with app.state.sessionmaker() as session:
        event = await session.scalar(select(OutboxEvent))
    assert event is not None and event.name == "test.credited" and event.aggregate_key == "a"

    await deliver_events(app)  # what the minute sweep does
    assert await effect_keys(app) == ["a:1"]
    delivery = (await deliveries(app))["a:1"]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert flaky.calls["a:1"] == 1


async def test_after_the_commit_the_worker_delivers_without_being_asked(app: FastAPI) -> None:
    """The embedded worker (the app's in-process consumer) runs the pass the commit queued."""
    async with session_scope(app.state.sessionmaker) as session:
        emit(session, Credited(account="a", n=1))

    async def delivered() -> bool:
        return await effect_keys(app) == ["a:1"]

    await wait_until(delivered)


async def test_a_failing_handler_is_retried_with_backoff_then_succeeds_once(
    app: FastAPI,
) -> None:
    flaky.fail_first["a:1"] = 2
    await emit_committed_without_enqueue(app, Credited(account="a", n=1))
    # A moment far from the real clock: the background sweep never finds these retries due.
    start = utcnow() + timedelta(days=1)

    result = await deliver_pending(app.state.sessionmaker, now=start)
    assert (result.delivered, result.retried) == (0, 1)
    first = (await deliveries(app))["a:1"]
    assert (first.status, first.attempts) == (DeliveryStatus.PENDING, 1)
    assert first.next_attempt_at == start + timedelta(seconds=events.RETRY_BASE_SECONDS)
    assert first.last_error == "RuntimeError: refused a:1"

    not_yet = await deliver_pending(app.state.sessionmaker, now=start + timedelta(seconds=4))
    assert not not_yet.worked and flaky.calls["a:1"] == 1

    second_try = start + timedelta(seconds=5)
    await deliver_pending(app.state.sessionmaker, now=second_try)
    second = (await deliveries(app))["a:1"]
    assert second.attempts == 2
    assert second.next_attempt_at == second_try + timedelta(seconds=2 * events.RETRY_BASE_SECONDS)

    await deliver_pending(app.state.sessionmaker, now=second_try + timedelta(seconds=10))
    done = (await deliveries(app))["a:1"]
    assert (done.status, done.attempts, done.last_error) == (DeliveryStatus.DELIVERED, 3, None)
    assert await effect_keys(app) == ["a:1"] and flaky.applied == ["a:1"]


async def test_a_failed_event_holds_back_its_aggregate_only(app: FastAPI) -> None:
    flaky.fail_first["a:1"] = 1
    await emit_committed_without_enqueue(
        app, Credited(account="a", n=1), Credited(account="a", n=2), Credited(account="b", n=1)
    )
    start = utcnow() + timedelta(days=1)

    await deliver_pending(app.state.sessionmaker, now=start)
    # a:2 waits behind a:1; b goes on.
    assert flaky.applied == ["b:1"]
    assert (await deliveries(app))["a:2"].attempts == 0

    await deliver_pending(app.state.sessionmaker, now=start + timedelta(minutes=1))
    assert flaky.applied == ["b:1", "a:1", "a:2"]


async def test_a_handler_that_keeps_failing_gives_up_and_releases_the_aggregate(
    app: FastAPI,
) -> None:
    flaky.fail_first["a:1"] = 1000
    await emit_committed_without_enqueue(
        app, Credited(account="a", n=1), Credited(account="a", n=2)
    )
    moment = utcnow() + timedelta(days=1)
    for _ in range(events.MAX_ATTEMPTS):
        await deliver_pending(app.state.sessionmaker, now=moment)
        moment += timedelta(hours=1)

    rows = await deliveries(app)
    assert (rows["a:1"].status, rows["a:1"].attempts) == (
        DeliveryStatus.FAILED,
        events.MAX_ATTEMPTS,
    )
    assert rows["a:2"].status == DeliveryStatus.DELIVERED
    assert flaky.calls["a:1"] == events.MAX_ATTEMPTS and flaky.applied == ["a:2"]


async def test_concurrent_passes_deliver_each_event_once(app: FastAPI) -> None:
    batch = [Credited(account=f"acc{n % 5}", n=n) for n in range(40)]
    await emit_committed_without_enqueue(app, *batch)

    await asyncio.gather(*(deliver_pending(app.state.sessionmaker) for _ in range(4)))

    expected = sorted(key_of(event) for event in batch)
    assert await effect_keys(app) == expected
    assert set(flaky.calls.values()) == {1}, flaky.calls
    # In order per account.
    for account in {event.account for event in batch}:
        mine = [key for key in flaky.applied if key.startswith(account + ":")]
        assert mine == sorted(mine, key=lambda key: int(key.split(":")[1]))


async def test_a_redelivered_submission_is_not_counted_twice(app: FastAPI) -> None:
    """Analytics' handler is idempotent: even if a delivery ran again (its record reset, as
    an at-least-once delivery may), the attempt counts once."""
    (ana,) = await add_users_via(app)
    await emit_committed_without_enqueue(app, submission(ana, items(4, 3)))
    await deliver_events(app)
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(EventDelivery)
            .where(EventDelivery.handler == "analytics.record_submission")
            .values(status=DeliveryStatus.PENDING, finished_at=None)
        )
        await session.commit()
    result = await deliver_events(app)
    assert result.delivered == 1
    async with app.state.sessionmaker() as session:
        stats = await session.get(UserStats, ana)
    assert stats is not None and (stats.answered, stats.correct) == (4, 3)


async def add_users_via(app: FastAPI) -> list[uuid.UUID]:
    async with app.state.sessionmaker() as session:
        return await add_users(session, "Ana")


async def test_old_finished_events_are_purged_and_pending_ones_kept(app: FastAPI) -> None:
    flaky.fail_first["b:1"] = 1000
    await emit_committed_without_enqueue(
        app, Credited(account="a", n=1), Credited(account="b", n=1)
    )
    start = utcnow() + timedelta(days=1)
    await deliver_pending(app.state.sessionmaker, now=start)

    assert await purge_delivered(app.state.sessionmaker, now=start + timedelta(days=6)) == 0
    later = start + events.KEEP_DELIVERED + timedelta(minutes=1)
    assert await purge_delivered(app.state.sessionmaker, now=later) == 1
    assert set(await deliveries(app)) == {"b:1"}  # still being retried: kept
