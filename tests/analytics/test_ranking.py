"""The rank buckets behind the percentiles: exact against a brute-force count, kept in step
by every submission, and rebuilt from user_stats."""

from __future__ import annotations

import random
import uuid
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import service
from studyhall.analytics.models import RankBucket, UserStats
from studyhall.analytics.ranking import (
    ACCURACY_EDGES,
    ANSWERED_EDGES,
    AVG_TIME_EDGES,
    Measure,
    bucket_bounds,
    bucket_of,
)
from studyhall.analytics.service.percentiles import overall_percentile, percentile
from tests.analytics.conftest import add_users, items, record


def test_buckets_follow_their_edges() -> None:
    for edges in (ACCURACY_EDGES, AVG_TIME_EDGES, ANSWERED_EDGES):
        assert all(low < high for low, high in pairwise(edges))
    assert all(isinstance(edge, int) for edge in ANSWERED_EDGES)  # integer comparisons in SQL
    assert bucket_of(Measure.ACCURACY, 0.0) == 0
    assert bucket_of(Measure.ACCURACY, 0.001) == 1  # an edge opens its bucket
    assert bucket_of(Measure.ACCURACY, 0.0009999) == 0
    assert bucket_of(Measure.ACCURACY, 1.0) == len(ACCURACY_EDGES) - 1
    assert bucket_of(Measure.ANSWERED, 1) == 0 and bucket_of(Measure.ANSWERED, 199) == 198
    assert bucket_of(Measure.AVG_TIME, 1e12) == len(AVG_TIME_EDGES) - 1
    assert bucket_bounds(Measure.ACCURACY, 0) == (None, 0.001)
    assert bucket_bounds(Measure.AVG_TIME, len(AVG_TIME_EDGES) - 1)[1] is None
    for measure, value in ((Measure.ACCURACY, 2 / 3), (Measure.AVG_TIME, 37.25)):
        low, high = bucket_bounds(measure, bucket_of(measure, value))
        assert low is not None and high is not None and low <= value < high


def _brute_force(stats: list[UserStats], me: UserStats) -> tuple[float, float, float, float]:
    total = len(stats)
    accuracy = percentile(sum(s.accuracy < me.accuracy for s in stats), total)
    speed = percentile(sum(s.avg_time_seconds > me.avg_time_seconds for s in stats), total)
    volume = percentile(sum(s.answered < me.answered for s in stats), total)
    return accuracy, speed, volume, overall_percentile(accuracy, speed, volume)


async def _buckets(db: AsyncSession) -> dict[tuple[str, int], int]:
    rows = await db.scalars(select(RankBucket))
    return {(row.metric, row.bucket): row.users for row in rows if row.users}


async def test_percentiles_equal_a_brute_force_count(db: AsyncSession) -> None:
    """Users with values in shared buckets, exact ties, piles at 0% and 100%, and high
    volumes in the wide buckets, built up over several submissions each."""
    rng = random.Random(20261122)
    ids = await add_users(db, *(f"R{n}" for n in range(40)))
    for user in ids:
        for _ in range(rng.randint(1, 3)):
            answered = rng.choice([1, 2, 3, 5, 8, 40, 150, 260, 263])
            correct = rng.choice([0, answered, rng.randint(0, answered)])
            seconds = rng.choice([10, 30, 31, 45, rng.randint(5, 900)])
            await record(db, user, items(answered, correct, seconds_each=seconds))
    # Two very slow users share the last, open-ended time bucket; one is in the first
    # accuracy bucket (0%) with many others.
    slow, slower = await add_users(db, "Slow", "Slower")
    await record(db, slow, items(1, 0, seconds_each=2 * 10**7))
    await record(db, slower, items(1, 1, seconds_each=10**8))
    ids += [slow, slower]

    db.expire_all()
    stats = list(await db.scalars(select(UserStats)))
    assert len(stats) == len(ids)
    for me in stats:
        ranking = await service.compute_percentile_ranking(db, me.user_id)
        assert ranking.total_users == len(ids)
        got = (
            ranking.accuracy_percentile,
            ranking.speed_percentile,
            ranking.volume_percentile,
            ranking.overall_percentile,
        )
        assert got == _brute_force(stats, me), me.user_id

    # What submissions kept up to date is what a rebuild from user_stats finds.
    kept = await _buckets(db)
    assert sum(n for (metric, _), n in kept.items() if metric == "answered") == len(ids)
    assert await service.rebuild_rank_buckets(db) == len(ids)
    await db.commit()
    assert await _buckets(db) == kept


async def test_rebuild_after_a_bulk_load(db: AsyncSession) -> None:
    ids = await add_users(db, "Bulk1", "Bulk2", "Bulk3")
    # Loaded straight into user_stats (as a benchmark seeder might): no buckets yet.
    for index, user in enumerate(ids, start=1):
        db.add(
            UserStats(
                user_id=user,
                answered=10 * index,
                correct=5 * index + index,
                time_seconds=300 * index,
                accuracy=(5 * index + index) / (10 * index),
                avg_time_seconds=30.0,
            )
        )
    await db.commit()
    assert await service.rebuild_rank_buckets(db) == 3
    await db.commit()
    ranking = await service.compute_percentile_ranking(db, ids[2])
    assert (ranking.total_users, ranking.volume_percentile, ranking.speed_percentile) == (
        3,
        100.0,
        0.0,
    )
    unknown = await service.compute_percentile_ranking(db, uuid.uuid4())
    assert unknown.ranked is False and unknown.total_users == 3
