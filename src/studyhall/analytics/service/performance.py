"""A user's own performance: overall, by subject and system, and the trend over time."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import UserDailyStats, UserStats, UserSubjectStats
from studyhall.analytics.schemas import (
    Counts,
    GroupPerformance,
    Performance,
    TrendGranularity,
    TrendPoint,
)
from studyhall.analytics.service.keys import PERFORMANCE_TTL, performance_key, user_tag
from studyhall.core import cache
from studyhall.core.db import utcnow

MAX_TREND_PERIODS = 366


def trend_start(granularity: TrendGranularity, periods: int, today: date) -> date:
    """First day of the trend: `periods` days, or `periods` weeks starting on Mondays."""
    if granularity is TrendGranularity.DAY:
        return today - timedelta(days=periods - 1)
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=periods - 1)


def _bucket(day: date, granularity: TrendGranularity) -> date:
    if granularity is TrendGranularity.DAY:
        return day
    return day - timedelta(days=day.weekday())


def build_trend(
    days: Iterable[tuple[date, int, int, int]],
    granularity: TrendGranularity,
    periods: int,
    today: date,
) -> list[TrendPoint]:
    """One point per day or week, oldest first, zeros where nothing was answered."""
    start = trend_start(granularity, periods, today)
    step = timedelta(days=1 if granularity is TrendGranularity.DAY else 7)
    sums: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, answered, correct, seconds in days:
        if start <= day <= today:
            bucket = sums[_bucket(day, granularity)]
            bucket[0] += answered
            bucket[1] += correct
            bucket[2] += seconds
    points = []
    for index in range(periods):
        moment = start + step * index
        answered, correct, seconds = sums.get(moment, (0, 0, 0))
        points.append(
            TrendPoint(start=moment, answered=answered, correct=correct, time_seconds=seconds)
        )
    return points


def _grouped(
    rows: Iterable[tuple[str, str, int, int, int]], by_subject: bool, by_system: bool
) -> list[GroupPerformance]:
    sums: dict[tuple[str | None, str | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for subject, system, answered, correct, seconds in rows:
        key = (subject if by_subject else None, system if by_system else None)
        sums[key][0] += answered
        sums[key][1] += correct
        sums[key][2] += seconds
    return [
        GroupPerformance(subject=subject, system=system, answered=a, correct=c, time_seconds=s)
        for (subject, system), (a, c, s) in sorted(
            sums.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")
        )
    ]


async def compute_performance(
    db: AsyncSession,
    user_id: uuid.UUID,
    granularity: TrendGranularity,
    periods: int,
    today: date,
) -> Performance:
    """Uncached: three primary-key range reads of this user's rows."""
    stats = await db.get(UserStats, user_id)
    overall = (
        Counts(answered=stats.answered, correct=stats.correct, time_seconds=stats.time_seconds)
        if stats is not None
        else Counts()
    )
    subject_rows = [
        (r.subject, r.system, r.answered, r.correct, r.time_seconds)
        for r in await db.execute(
            select(
                UserSubjectStats.subject,
                UserSubjectStats.system,
                UserSubjectStats.answered,
                UserSubjectStats.correct,
                UserSubjectStats.time_seconds,
            ).where(UserSubjectStats.user_id == user_id)
        )
    ]
    start = trend_start(granularity, periods, today)
    day_rows = [
        (r.day, r.answered, r.correct, r.time_seconds)
        for r in await db.execute(
            select(
                UserDailyStats.day,
                UserDailyStats.answered,
                UserDailyStats.correct,
                UserDailyStats.time_seconds,
            ).where(
                UserDailyStats.user_id == user_id,
                UserDailyStats.day >= start,
                UserDailyStats.day <= today,
            )
        )
    ]
    return Performance(
        user_id=user_id,
        overall=overall,
        by_subject=_grouped(subject_rows, by_subject=True, by_system=False),
        by_system=_grouped(subject_rows, by_subject=False, by_system=True),
        by_subject_system=_grouped(subject_rows, by_subject=True, by_system=True),
        granularity=granularity,
        trend=build_trend(day_rows, granularity, periods, today),
    )


async def my_performance(
    db: AsyncSession,
    user_id: uuid.UUID,
    granularity: TrendGranularity = TrendGranularity.DAY,
    periods: int = 30,
    today: date | None = None,
) -> Performance:
    """The user's performance with a trend of `periods` days or weeks up to `today` (UTC).

    Cached per user for 15 minutes; a submission by the user invalidates it.
    """
    periods = max(1, min(periods, MAX_TREND_PERIODS))
    today = today or utcnow().date()

    async def load() -> Performance:
        return await compute_performance(db, user_id, granularity, periods, today)

    return await cache.get_or_set(
        performance_key(user_id, granularity.value, periods, today),
        PERFORMANCE_TTL,
        load,
        tags=[user_tag(user_id)],
    )
