"""record_submission keeps user_stats, user_subject_stats, user_daily_stats and results."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics import service
from studyhall.analytics.models import (
    AttemptResult,
    ItemResponse,
    UserDailyStats,
    UserStats,
    UserSubjectStats,
)
from studyhall.analytics.schemas import TrendGranularity
from tests.analytics.conftest import add_quiz, add_users, items, record


async def _stats(db: AsyncSession, user_id: uuid.UUID) -> UserStats:
    db.expire_all()
    stats = await db.get(UserStats, user_id)
    assert stats is not None
    return stats


async def test_two_submissions_on_different_days_and_subjects(db: AsyncSession) -> None:
    (user,) = await add_users(db, "Ana")
    first_day = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    # 01:30 at UTC+3 is 22:30 UTC the day before: the UTC day counts.
    second_day = datetime(2026, 3, 5, 1, 30, tzinfo=timezone(timedelta(hours=3)))
    await record(
        db,
        user,
        items(4, 3, seconds_each=20, subject="Physiology", system="Cardiovascular", unanswered=1)
        + items(2, 1, seconds_each=50, subject="Pathology", system="Renal"),
        submitted_at=first_day,
    )
    await record(
        db,
        user,
        items(2, 2, seconds_each=10, subject="Physiology", system="Cardiovascular")
        + items(1, 0, seconds_each=40, subject="Physiology", system="Renal"),
        submitted_at=second_day,
    )

    stats = await _stats(db, user)
    # Unanswered items count nowhere: 4 + 2 + 2 + 1 answered, 3 + 1 + 2 + 0 correct.
    assert (stats.answered, stats.correct) == (9, 6)
    assert stats.time_seconds == 4 * 20 + 2 * 50 + 2 * 10 + 40
    assert stats.accuracy == 6 / 9
    assert stats.avg_time_seconds == 240 / 9

    subjects = {
        (row.subject, row.system): (row.answered, row.correct, row.time_seconds)
        for row in await db.scalars(
            select(UserSubjectStats).where(UserSubjectStats.user_id == user)
        )
    }
    assert subjects == {
        ("Physiology", "Cardiovascular"): (6, 5, 100),
        ("Pathology", "Renal"): (2, 1, 100),
        ("Physiology", "Renal"): (1, 0, 40),
    }
    days = {
        row.day: (row.answered, row.correct, row.time_seconds)
        for row in await db.scalars(select(UserDailyStats).where(UserDailyStats.user_id == user))
    }
    assert days == {date(2026, 3, 2): (6, 4, 180), date(2026, 3, 4): (3, 2, 60)}

    # The same numbers through the performance service.
    performance = await service.compute_performance(
        db, user, TrendGranularity.DAY, periods=7, today=date(2026, 3, 5)
    )
    assert performance.overall.answered == 9 and performance.overall.accuracy == 6 / 9
    by_subject = {g.subject: (g.answered, g.correct) for g in performance.by_subject}
    assert by_subject == {"Pathology": (2, 1), "Physiology": (7, 5)}
    by_system = {g.system: (g.answered, g.correct) for g in performance.by_system}
    assert by_system == {"Cardiovascular": (6, 5), "Renal": (3, 1)}
    assert len(performance.by_subject_system) == 3
    trend = {p.start: p.answered for p in performance.trend}
    assert list(trend) == [date(2026, 2, 27) + timedelta(days=n) for n in range(7)]
    assert trend[date(2026, 3, 2)] == 6 and trend[date(2026, 3, 4)] == 3
    assert sum(trend.values()) == 9
    assert performance.trend[0].accuracy is None  # a day without answers

    weekly = await service.compute_performance(
        db, user, TrendGranularity.WEEK, periods=2, today=date(2026, 3, 5)
    )
    assert [(p.start, p.answered, p.correct) for p in weekly.trend] == [
        (date(2026, 2, 23), 0, 0),
        (date(2026, 3, 2), 9, 6),  # Monday 2 March: both days fall in this ISO week
    ]


async def test_recording_an_attempt_twice_changes_nothing(db: AsyncSession) -> None:
    (user,) = await add_users(db, "Ben")
    quiz = await add_quiz(db)
    attempt = uuid.uuid4()
    submission = await record(db, user, items(3, 2), quiz_id=quiz, attempt_id=attempt)
    await service.record_submission(db, submission)
    await db.commit()

    stats = await _stats(db, user)
    assert (stats.answered, stats.correct) == (3, 2)
    results = list(await db.scalars(select(AttemptResult)))
    assert len(results) == 1
    assert results[0].quiz_id == quiz and results[0].percent == round(200 / 3, 2)
    # The item analysis facts: one row per item, also written once.
    responses = list(await db.scalars(select(ItemResponse)))
    assert sorted(r.is_correct for r in responses) == [False, True, True]
    assert {(r.attempt_id, r.user_id, r.attempt_percent) for r in responses} == {
        (attempt, user, round(200 / 3, 2))
    }


async def test_nothing_answered_leaves_the_user_unranked_but_keeps_the_quiz_result(
    db: AsyncSession,
) -> None:
    (user,) = await add_users(db, "Cai")
    quiz = await add_quiz(db)
    await record(db, user, items(0, 0, unanswered=5), quiz_id=quiz)

    db.expire_all()
    assert await db.get(UserStats, user) is None
    assert list(await db.scalars(select(UserDailyStats))) == []
    assert list(await db.scalars(select(UserSubjectStats))) == []
    result = await db.scalar(select(AttemptResult))
    assert result is not None and result.percent == 0.0 and result.question_count == 5
    ranking = await service.compute_percentile_ranking(db, user)
    assert ranking.ranked is False and ranking.overall_percentile is None


async def test_rates_from_several_submissions_equal_one_submission_of_the_same_totals(
    db: AsyncSession,
) -> None:
    """Accuracy is divided in SQL on update and in Python on insert: the floats must agree,
    or equal users would not tie in the percentile counts."""
    once, twice = await add_users(db, "Once", "Twice")
    await record(db, once, items(6, 2, seconds_each=7))
    await record(db, twice, items(3, 1, seconds_each=7))
    await record(db, twice, items(3, 1, seconds_each=7))
    assert (await _stats(db, once)).accuracy == (await _stats(db, twice)).accuracy == 2 / 6
    ranking = await service.compute_percentile_ranking(db, once)
    assert ranking.accuracy_percentile == 0.0  # tied with the only other user: not worse
