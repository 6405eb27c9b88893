"""The shared rank buckets are written by the delivery of `attempt.submitted`, together with
the user_stats rows they follow: concurrent submissions and concurrent delivery passes leave
them exactly what a rebuild from user_stats makes of them."""

from __future__ import annotations

import asyncio
import random

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import AttemptResult, ItemResponse, RankBucket, UserStats
from studyhall.analytics.schemas import ItemRecord, SubmissionRecord
from studyhall.core.db import session_scope
from studyhall.core.events import deliver_pending, emit
from tests.analytics.conftest import (
    add_users,
    items,
    rank_buckets,
    rebuilt_rank_buckets,
    submission,
)
from tests.conftest import deliver_events


def _random_items(rng: random.Random) -> list[ItemRecord]:
    answered = rng.choice([1, 2, 3, 5, 8, 40])
    correct = rng.choice([0, answered, rng.randint(0, answered)])
    return items(answered, correct, seconds_each=rng.choice([10, 30, 31, rng.randint(5, 900)]))


async def test_48_concurrent_submissions_keep_the_buckets_equal_to_a_rebuild(
    app: FastAPI, db: AsyncSession
) -> None:
    """16 users submitting 3 attempts each, all at once, each in a transaction of its own,
    while delivery passes run at the same time."""
    rng = random.Random(20260511)
    users = await add_users(db, *(f"Racer{n}" for n in range(16)))
    records = [submission(user, _random_items(rng)) for user in users for _ in range(3)]
    rng.shuffle(records)

    async def submit(record: SubmissionRecord) -> None:
        async with session_scope(app.state.sessionmaker) as session:
            emit(session, record)

    passes = [deliver_pending(app.state.sessionmaker) for _ in range(3)]
    await asyncio.gather(*(submit(record) for record in records), *passes)
    await deliver_events(app)

    await db.commit()
    assert await db.scalar(select(func.count()).select_from(AttemptResult)) == len(records)
    kept = await rank_buckets(db)
    assert sum(n for (metric, _), n in kept.items() if metric == "answered") == len(users)
    assert kept == await rebuilt_rank_buckets(db)
    answered = sum(item.answered for record in records for item in record.items)
    assert await db.scalar(select(func.sum(UserStats.answered))) == answered


async def test_a_rolled_back_submission_leaves_nothing_to_deliver(
    app: FastAPI, db: AsyncSession
) -> None:
    (cai,) = await add_users(db, "Cai")
    async with app.state.sessionmaker() as session:
        emit(session, submission(cai, items(4, 2)))
        await session.flush()
        await session.rollback()
        # The same session, a new transaction: only this submission is recorded.
        emit(session, submission(cai, items(1, 1)))
        await session.commit()
    await deliver_events(app)

    await db.commit()
    stats = await db.get(UserStats, cai)
    assert stats is not None and (stats.answered, stats.correct) == (1, 1)
    assert await db.scalar(select(func.count()).select_from(ItemResponse)) == 1
    kept = await rank_buckets(db)
    assert sum(kept.values()) == 3  # one user, one bucket per measure
    assert kept == await rebuilt_rank_buckets(db)
    assert await db.scalar(select(func.count()).select_from(RankBucket)) == 3
