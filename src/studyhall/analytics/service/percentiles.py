"""Percentile ranking against every user with at least one answer (the MS2 seed's method)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import RankBucket, UserStats
from studyhall.analytics.ranking import Measure, bucket_bounds, buckets_of
from studyhall.analytics.schemas import PercentileRanking
from studyhall.analytics.service.keys import PERCENTILE_TTL, PERCENTILES_TAG, percentile_key
from studyhall.core import cache

WEIGHTS = {"accuracy": 0.5, "speed": 0.25, "volume": 0.25}


def percentile(worse: int, total: int) -> float:
    """Share of the *other* users that are strictly worse, in percent (0 when alone)."""
    others = total - 1
    return round(worse / others * 100, 2) if others > 0 else 0.0


def overall_percentile(accuracy: float, speed: float, volume: float) -> float:
    return round(
        accuracy * WEIGHTS["accuracy"] + speed * WEIGHTS["speed"] + volume * WEIGHTS["volume"], 2
    )


# Open ends of the first and last buckets, as values every column compares with.
_FLOAT_FLOOR, _FLOAT_CEILING = float("-inf"), float("inf")
_INT_FLOOR, _INT_CEILING = -(2**31), 2**31 - 1


def _bucket_sum(measure: Measure, condition: Any = None) -> Any:
    where = [RankBucket.metric == measure.value]
    if condition is not None:
        where.append(condition)
    return select(func.coalesce(func.sum(RankBucket.users), 0)).where(*where).scalar_subquery()


def _count(*conditions: Any) -> Any:
    return select(func.count()).select_from(UserStats).where(*conditions).scalar_subquery()


async def ranked_users(db: AsyncSession) -> int:
    """How many users have at least one answer: each is in one bucket of each measure."""
    return int(await db.scalar(select(_bucket_sum(Measure.ANSWERED))) or 0)


# Built once; every ranking runs the same SQL with other parameters (asyncpg prepares it once
# per connection). Per measure: the buckets below (speed: above) the user's, plus the users
# inside the user's bucket on the worse side of the user's value.
_RANKING = select(
    _bucket_sum(Measure.ANSWERED).label("total"),
    (
        _bucket_sum(Measure.ACCURACY, RankBucket.bucket < bindparam("accuracy_bucket"))
        + _count(
            UserStats.accuracy >= bindparam("accuracy_low"),
            UserStats.accuracy < bindparam("accuracy"),
        )
    ).label("lower_accuracy"),
    (
        _bucket_sum(Measure.AVG_TIME, RankBucket.bucket > bindparam("time_bucket"))
        + _count(
            UserStats.avg_time_seconds > bindparam("avg_time"),
            UserStats.avg_time_seconds < bindparam("time_high"),
        )
    ).label("slower"),
    (
        _bucket_sum(Measure.ANSWERED, RankBucket.bucket < bindparam("answered_bucket"))
        + _count(
            UserStats.answered >= bindparam("answered_low"),
            UserStats.answered < bindparam("answered"),
        )
    ).label("fewer"),
)


def _ranking_parameters(answered: int, accuracy: float, avg_time: float) -> dict[str, Any]:
    buckets = buckets_of(answered, accuracy, avg_time)
    accuracy_low, _ = bucket_bounds(Measure.ACCURACY, buckets[Measure.ACCURACY])
    _, time_high = bucket_bounds(Measure.AVG_TIME, buckets[Measure.AVG_TIME])
    answered_low, _ = bucket_bounds(Measure.ANSWERED, buckets[Measure.ANSWERED])
    return {
        "accuracy_bucket": buckets[Measure.ACCURACY],
        "accuracy_low": _FLOAT_FLOOR if accuracy_low is None else accuracy_low,
        "accuracy": accuracy,
        "time_bucket": buckets[Measure.AVG_TIME],
        "avg_time": avg_time,
        "time_high": _FLOAT_CEILING if time_high is None else time_high,
        "answered_bucket": buckets[Measure.ANSWERED],
        "answered_low": _INT_FLOOR if answered_low is None else int(answered_low),
        "answered": answered,
    }


async def compute_percentile_ranking(db: AsyncSession, user_id: uuid.UUID) -> PercentileRanking:
    """Uncached ranking: a primary-key read, then one statement.

    Definition (MS2 seed): a percentile is the share of the OTHER ranked users (those with at
    least one answer) who are strictly worse, times 100: accuracy strictly lower; speed:
    average time per answered question strictly higher (slower); volume: strictly fewer
    answered. Ties count as neither worse nor better, so tied users share one value, and a
    tie at the top stays below 100 (everyone equal: 0). A user alone in the ranking has no
    others and gets 0 everywhere. Overall = 0.5·accuracy + 0.25·speed + 0.25·volume
    percentiles. Values are rounded to two decimals.

    How it stays fast: "strictly worse" = the users in the buckets below the user's bucket
    (a sum over `rank_buckets`, a few hundred rows at most) + those inside the user's own
    bucket below the user's value (a range of `ix_user_stats_accuracy` / `_avg_time` /
    `_answered` between the bucket's edge and the value). No loop over users, no scan of
    `user_stats`; the result is exact (see analytics.ranking).
    """
    me = (
        await db.execute(
            select(UserStats.answered, UserStats.accuracy, UserStats.avg_time_seconds).where(
                UserStats.user_id == user_id
            )
        )
    ).one_or_none()
    if me is None:
        total = await ranked_users(db)
        return PercentileRanking(
            user_id=user_id,
            ranked=False,
            total_users=int(total or 0),
            answered=0,
            accuracy=None,
            avg_time_seconds=None,
            accuracy_percentile=None,
            speed_percentile=None,
            volume_percentile=None,
            overall_percentile=None,
        )
    row = (
        await db.execute(
            _RANKING, _ranking_parameters(me.answered, me.accuracy, me.avg_time_seconds)
        )
    ).one()
    total, lower_accuracy, slower, fewer = (int(value or 0) for value in row)
    accuracy_pct = percentile(lower_accuracy, total)
    speed_pct = percentile(slower, total)
    volume_pct = percentile(fewer, total)
    return PercentileRanking(
        user_id=user_id,
        ranked=True,
        total_users=total,
        answered=me.answered,
        accuracy=me.accuracy,
        avg_time_seconds=me.avg_time_seconds,
        accuracy_percentile=accuracy_pct,
        speed_percentile=speed_pct,
        volume_percentile=volume_pct,
        overall_percentile=overall_percentile(accuracy_pct, speed_pct, volume_pct),
    )


async def rebuild_rank_buckets(db: AsyncSession, batch: int = 10_000) -> int:
    """Recompute `rank_buckets` from `user_stats` (after a bulk load of `user_stats`, or after
    users were deleted); returns the number of ranked users. One pass over `user_stats`: a
    maintenance operation, never on a request path. Flushes; the caller commits."""
    counts: Counter[tuple[str, int]] = Counter()
    users = 0
    stream = await db.stream(
        select(UserStats.answered, UserStats.accuracy, UserStats.avg_time_seconds)
        .where(UserStats.answered >= 1)
        .execution_options(yield_per=batch)
    )
    async for answered, accuracy, avg_time in stream:
        users += 1
        for measure, bucket in buckets_of(answered, accuracy, avg_time).items():
            counts[(measure.value, bucket)] += 1
    await db.execute(delete(RankBucket))
    rows = [{"metric": m, "bucket": b, "users": n} for (m, b), n in sorted(counts.items())]
    for start in range(0, len(rows), 1000):
        await db.execute(insert(RankBucket), rows[start : start + 1000])
    await db.flush()
    await cache.invalidate_tag(PERCENTILES_TAG)
    return users


async def percentile_ranking(db: AsyncSession, user_id: uuid.UUID) -> PercentileRanking:
    """The user's ranking, cached per user for 15 minutes and dropped when they submit.

    Others' submissions move it too; those show within the cache lifetime.
    """

    async def load() -> PercentileRanking:
        return await compute_percentile_ranking(db, user_id)

    return await cache.get_or_set(
        percentile_key(user_id), PERCENTILE_TTL, load, tags=[PERCENTILES_TAG]
    )


async def time_percentile_query(
    db: AsyncSession, user_ids: Sequence[uuid.UUID], repeat: int = 1
) -> list[float]:
    """Seconds per uncached ranking, for the benchmark (`bench/` times it at 100,000 users)."""
    timings = []
    for _ in range(repeat):
        for user_id in user_ids:
            started = time.perf_counter()
            await compute_percentile_ranking(db, user_id)
            timings.append(time.perf_counter() - started)
    return timings
