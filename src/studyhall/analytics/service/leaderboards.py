"""Leaderboards: global by correct answers per day, week, month and all time; per quiz by
each user's best result in the period. Ranks are competition ranks (1, 2, 2, 4)."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, Row, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import service as accounts
from studyhall.analytics.models import AttemptResult, UserDailyStats, UserStats
from studyhall.analytics.schemas import (
    GlobalLeaderboard,
    LeaderboardEntry,
    LeaderboardPeriod,
    PeriodWindow,
    QuizLeaderboard,
    QuizLeaderboardEntry,
)
from studyhall.analytics.service.keys import (
    GLOBAL_LEADERBOARD_TAG,
    LEADERBOARD_TTL,
    global_leaderboard_key,
    quiz_leaderboard_key,
    quiz_leaderboard_tag,
)
from studyhall.analytics.service.percentiles import ranked_users
from studyhall.core import cache
from studyhall.core.db import utcnow
from studyhall.core.errors import ValidationFailed
from studyhall.core.pagination import Page, PageParams, paginate
from studyhall.quizzes import service as quizzes

# Shown for a user that no longer has a name (cannot normally happen: rows cascade).
UNKNOWN_NAME = "(deleted user)"


def period_window(period: LeaderboardPeriod, on: date) -> PeriodWindow:
    """The UTC calendar day, ISO week (Monday to Sunday) or month containing `on`; 422 when
    the window (or the day after it, the queries' exclusive end) falls outside the calendar."""
    try:
        window = _calendar_window(period, on)
        if window.last_day is not None:
            window.last_day + timedelta(days=1)
    except OverflowError:
        raise ValidationFailed(
            f"No {period.value} leaderboard exists around {on.isoformat()}: pick an earlier day.",
            code="date_out_of_range",
        ) from None
    return window


def _calendar_window(period: LeaderboardPeriod, on: date) -> PeriodWindow:
    if period is LeaderboardPeriod.DAY:
        return PeriodWindow(period=period, first_day=on, last_day=on)
    if period is LeaderboardPeriod.WEEK:
        monday = on - timedelta(days=on.weekday())
        return PeriodWindow(period=period, first_day=monday, last_day=monday + timedelta(days=6))
    if period is LeaderboardPeriod.MONTH:
        last = calendar.monthrange(on.year, on.month)[1]
        return PeriodWindow(
            period=period, first_day=on.replace(day=1), last_day=on.replace(day=last)
        )
    return PeriodWindow(period=period, first_day=None, last_day=None)


def _ranks(keys: Sequence[tuple[Any, ...]], first_rank: int, offset: int) -> list[int]:
    """Competition ranks of a page's rows, given the rank of its first row."""
    ranks: list[int] = []
    for index, key in enumerate(keys):
        if index == 0:
            ranks.append(first_rank)
        elif key == keys[index - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(offset + index + 1)
    return ranks


async def _names(db: AsyncSession, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    return await accounts.user_names(db, user_ids)


async def _all_time(db: AsyncSession, params: PageParams) -> Page[LeaderboardEntry]:
    # Ordered off ix_user_stats_correct_accuracy; the page's first rank is one COUNT. Every
    # user_stats row is a ranked user, counted once in the rank buckets of one measure.
    statement = select(
        UserStats.user_id, UserStats.correct, UserStats.answered, UserStats.accuracy
    ).order_by(UserStats.correct.desc(), UserStats.accuracy.desc(), UserStats.user_id.desc())

    async def entries(rows: Sequence[Row[Any]]) -> list[LeaderboardEntry]:
        if not rows:
            return []
        first_rank = 1
        if params.offset:
            top = rows[0]
            ahead = await db.scalar(
                select(func.count())
                .select_from(UserStats)
                .where(
                    or_(
                        UserStats.correct > top.correct,
                        and_(UserStats.correct == top.correct, UserStats.accuracy > top.accuracy),
                    )
                )
            )
            first_rank = int(ahead or 0) + 1
        ranks = _ranks([(r.correct, r.accuracy) for r in rows], first_rank, params.offset)
        names = await _names(db, [r.user_id for r in rows])
        return [
            LeaderboardEntry(
                rank=rank,
                user_id=r.user_id,
                name=names.get(r.user_id, UNKNOWN_NAME),
                correct=r.correct,
                answered=r.answered,
                accuracy=r.accuracy,
            )
            for rank, r in zip(ranks, rows, strict=True)
        ]

    return await paginate(db, statement, params, entries, total=await ranked_users(db))


async def _in_period(
    db: AsyncSession, first_day: date, last_day: date, params: PageParams
) -> Page[LeaderboardEntry]:
    in_window = and_(UserDailyStats.day >= first_day, UserDailyStats.day <= last_day)
    correct = func.sum(UserDailyStats.correct)
    answered = func.sum(UserDailyStats.answered)
    accuracy = cast(correct, Float) / func.nullif(answered, 0)
    rank = func.rank().over(order_by=(correct.desc(), accuracy.desc()))
    statement = (
        select(
            UserDailyStats.user_id,
            correct.label("correct"),
            answered.label("answered"),
            accuracy.label("accuracy"),
            rank.label("rank"),
        )
        .where(in_window)
        .group_by(UserDailyStats.user_id)
        .order_by(correct.desc(), accuracy.desc(), UserDailyStats.user_id.desc())
    )

    async def entries(rows: Sequence[Row[Any]]) -> list[LeaderboardEntry]:
        names = await _names(db, [r.user_id for r in rows])
        return [
            LeaderboardEntry(
                rank=int(r.rank),
                user_id=r.user_id,
                name=names.get(r.user_id, UNKNOWN_NAME),
                correct=int(r.correct),
                answered=int(r.answered),
                accuracy=float(r.accuracy or 0.0),
            )
            for r in rows
        ]

    # Counted without the ranking window over every user.
    total = select(func.count(func.distinct(UserDailyStats.user_id))).where(in_window)
    return await paginate(db, statement, params, entries, total=total)


async def global_leaderboard(
    db: AsyncSession,
    period: LeaderboardPeriod,
    params: PageParams,
    on: date | None = None,
) -> GlobalLeaderboard:
    """Users by correct answers in the period containing `on` (default today, UTC), ties by
    accuracy in that period. All time reads `user_stats`; periods sum `user_daily_stats`.
    Cached for 5 minutes; every submission invalidates the global boards."""
    window = period_window(period, on or utcnow().date())

    async def load() -> GlobalLeaderboard:
        if window.first_day is None or window.last_day is None:
            page = await _all_time(db, params)
        else:
            page = await _in_period(db, window.first_day, window.last_day, params)
        return GlobalLeaderboard(**dict(page), window=window)

    key = global_leaderboard_key(period.value, window.first_day, params.page, params.per_page)
    return await cache.get_or_set(key, LEADERBOARD_TTL, load, tags=[GLOBAL_LEADERBOARD_TAG])


def _window_bounds(window: PeriodWindow) -> tuple[datetime, datetime] | None:
    if window.first_day is None or window.last_day is None:
        return None
    start = datetime.combine(window.first_day, time.min, tzinfo=UTC)
    end = datetime.combine(window.last_day + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end


async def compute_quiz_leaderboard(
    db: AsyncSession, quiz_id: uuid.UUID, window: PeriodWindow, params: PageParams
) -> QuizLeaderboard:
    conditions: list[Any] = [AttemptResult.quiz_id == quiz_id]
    if bounds := _window_bounds(window):
        conditions += [
            AttemptResult.submitted_at >= bounds[0],
            AttemptResult.submitted_at < bounds[1],
        ]
    # Each user's best attempt: highest percent, then least time, then the earliest.
    best = (
        select(
            AttemptResult.user_id,
            AttemptResult.percent,
            AttemptResult.time_spent_seconds,
            AttemptResult.submitted_at,
            func.row_number()
            .over(
                partition_by=AttemptResult.user_id,
                order_by=(
                    AttemptResult.percent.desc(),
                    AttemptResult.time_spent_seconds.asc(),
                    AttemptResult.submitted_at.asc(),
                ),
            )
            .label("nth"),
        )
        .where(*conditions)
        .subquery()
    )
    rank = func.rank().over(order_by=(best.c.percent.desc(), best.c.time_spent_seconds.asc()))
    statement = (
        select(
            best.c.user_id,
            best.c.percent,
            best.c.time_spent_seconds,
            best.c.submitted_at,
            rank.label("rank"),
        )
        .where(best.c.nth == 1)
        .order_by(
            best.c.percent.desc(),
            best.c.time_spent_seconds.asc(),
            best.c.submitted_at.asc(),
            best.c.user_id,
        )
    )

    async def entries(rows: Sequence[Row[Any]]) -> list[QuizLeaderboardEntry]:
        names = await _names(db, [r.user_id for r in rows])
        return [
            QuizLeaderboardEntry(
                rank=int(r.rank),
                user_id=r.user_id,
                name=names.get(r.user_id, UNKNOWN_NAME),
                percent=float(r.percent),
                time_spent_seconds=int(r.time_spent_seconds),
                submitted_at=_aware(r.submitted_at),
            )
            for r in rows
        ]

    # Counted without the windows: one row per user who submitted.
    total = select(func.count(func.distinct(AttemptResult.user_id))).where(*conditions)
    page = await paginate(db, statement, params, entries, total=total)
    return QuizLeaderboard(**dict(page), quiz_id=quiz_id, window=window)


def _aware(moment: datetime | str) -> datetime:
    # Through a subquery SQLite hands back the stored text; the column type is not applied.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def quiz_leaderboard(
    db: AsyncSession,
    quiz_id: uuid.UUID,
    period: LeaderboardPeriod,
    params: PageParams,
    viewer_id: uuid.UUID,
    is_admin: bool = False,
    can_author: bool = False,
    on: date | None = None,
) -> QuizLeaderboard:
    """Each user's best percent on the quiz in the period containing `on` (default today,
    UTC), ties by less time. Only for a quiz the viewer may see (NotFound otherwise). Cached
    for 5 minutes; a submission of this quiz invalidates its boards."""
    quiz = await quizzes.get_quiz(
        db, quizzes.Actor(id=viewer_id, is_admin=is_admin, can_author=can_author), quiz_id
    )
    window = period_window(period, on or utcnow().date())

    async def load() -> QuizLeaderboard:
        return await compute_quiz_leaderboard(db, quiz_id, window, params)

    key = quiz_leaderboard_key(
        quiz_id, period.value, window.first_day, params.page, params.per_page
    )
    board = await cache.get_or_set(key, LEADERBOARD_TTL, load, tags=[quiz_leaderboard_tag(quiz_id)])
    # The title is not cached with the board: a renamed quiz shows its new name at once.
    return board.model_copy(update={"quiz_title": quiz.title})
