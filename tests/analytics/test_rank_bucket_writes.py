"""The shared rank buckets are written by the commit of each submitting transaction, last:
concurrent, batched and rolled-back submissions leave them exactly what a rebuild from
user_stats makes of them."""

from __future__ import annotations

import asyncio
import random

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import service
from studyhall.analytics.models import RankBucket, UserStats
from studyhall.analytics.schemas import ItemRecord, SubmissionRecord
from studyhall.core.db import session_scope
from tests.analytics.conftest import (
    add_users,
    items,
    rank_buckets,
    rebuilt_rank_buckets,
    submission,
)
from tests.backends import recorded_statements


def _random_items(rng: random.Random) -> list[ItemRecord]:
    answered = rng.choice([1, 2, 3, 5, 8, 40])
    correct = rng.choice([0, answered, rng.randint(0, answered)])
    return items(answered, correct, seconds_each=rng.choice([10, 30, 31, rng.randint(5, 900)]))


async def test_concurrent_submissions_keep_the_buckets_equal_to_a_rebuild(
    app: FastAPI, db: AsyncSession
) -> None:
    """Many users submitting at once, several of them twice at once (their user_stats row
    makes those take turns); each in a transaction of its own."""
    rng = random.Random(20260511)
    users = await add_users(db, *(f"Racer{n}" for n in range(16)))
    records = [submission(user, _random_items(rng)) for user in users for _ in range(3)]
    rng.shuffle(records)

    async def submit(record: SubmissionRecord) -> None:
        async with session_scope(app.state.sessionmaker) as session:
            await service.record_submission(session, record)

    await asyncio.gather(*(submit(record) for record in records))

    await db.commit()
    kept = await rank_buckets(db)
    assert sum(n for (metric, _), n in kept.items() if metric == "answered") == len(users)
    assert kept == await rebuilt_rank_buckets(db)


async def test_several_submissions_in_one_transaction_write_the_buckets_once(
    app: FastAPI, db: AsyncSession
) -> None:
    """As the minute job submits a batch of overdue attempts: the same user twice included."""
    ana, ben = await add_users(db, "Ana", "Ben")
    with recorded_statements(app.state.engine) as statements:
        async with session_scope(app.state.sessionmaker) as session:
            for user, records in ((ana, items(3, 1)), (ben, items(2, 2)), (ana, items(5, 5))):
                await service.record_submission(session, submission(user, records))
    bucket_writes = [s for s in statements if "rank_buckets" in s]
    assert len(bucket_writes) == 1, bucket_writes

    await db.commit()
    kept = await rank_buckets(db)
    assert sum(n for (metric, _), n in kept.items() if metric == "answered") == 2
    assert kept == await rebuilt_rank_buckets(db)


async def test_a_rolled_back_submission_leaves_no_bucket_change_behind(
    app: FastAPI, db: AsyncSession
) -> None:
    (cai,) = await add_users(db, "Cai")
    async with app.state.sessionmaker() as session:
        await service.record_submission(session, submission(cai, items(4, 2)))
        await session.rollback()
        # The same session, a new transaction: only this submission's changes are written.
        await service.record_submission(session, submission(cai, items(1, 1)))
        await session.commit()

    await db.commit()
    stats = await db.get(UserStats, cai)
    assert stats is not None and (stats.answered, stats.correct) == (1, 1)
    kept = await rank_buckets(db)
    assert sum(kept.values()) == 3  # one user, one bucket per measure
    assert kept == await rebuilt_rank_buckets(db)


async def test_a_failed_commit_writes_neither_stats_nor_buckets(
    app: FastAPI, db: AsyncSession
) -> None:
    (dee,) = await add_users(db, "Dee")
    with pytest.raises(RuntimeError):
        async with session_scope(app.state.sessionmaker) as session:
            await service.record_submission(session, submission(dee, items(2, 1)))
            raise RuntimeError("the request failed after recording")
    await db.commit()
    assert await db.get(UserStats, dee) is None
    assert await db.scalar(select(func.count()).select_from(RankBucket)) == 0


async def test_recording_does_not_touch_the_buckets_before_the_commit(
    app: FastAPI, db: AsyncSession
) -> None:
    """Until its commit, the submitting transaction holds no lock on a shared bucket row."""
    (eve,) = await add_users(db, "Eve")
    async with app.state.sessionmaker() as session:
        await service.record_submission(session, submission(eve, items(3, 3)))
        assert await session.scalar(select(func.count()).select_from(RankBucket)) == 0
        assert await session.get(UserStats, eve) is not None
        await session.commit()
    await db.commit()
    assert sum((await rank_buckets(db)).values()) == 3
