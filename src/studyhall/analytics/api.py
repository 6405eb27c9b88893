"""JSON API of the analytics module, under /api/v1/analytics.

Every route needs a signed-in user. "me" routes only ever show the caller's own data; item
analysis is for a question's author (teacher) and admins.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from studyhall.accounts.dependencies import CurrentUser
from studyhall.analytics import actions
from studyhall.analytics.schemas import (
    GlobalLeaderboard,
    ItemAnalysis,
    LeaderboardPeriod,
    PercentileRanking,
    Performance,
    QuizLeaderboard,
    TrendGranularity,
)
from studyhall.core.deps import DbSession
from studyhall.core.pagination import Pagination

router = APIRouter(prefix="/analytics", tags=["analytics"])

Period = Annotated[LeaderboardPeriod, Query(description="day, week, month or all (time)")]
On = Annotated[
    date | None,
    Query(description="a UTC day inside the period to show (default today)"),
]


@router.get("/me/performance", response_model=Performance)
async def my_performance(
    db: DbSession,
    user: CurrentUser,
    granularity: Annotated[TrendGranularity, Query()] = TrendGranularity.DAY,
    periods: Annotated[int, Query(ge=1, le=366, description="days or weeks of trend")] = 30,
) -> Performance:
    """Accuracy, average time and counts overall, by subject, by system and by both, and the
    trend per day or per week (UTC) up to today."""
    return await actions.my_performance(db, user, granularity, periods)


@router.get("/me/percentile", response_model=PercentileRanking)
async def my_percentile(db: DbSession, user: CurrentUser) -> PercentileRanking:
    """Percentiles against every user with at least one answer: accuracy, speed, volume and
    overall (50/25/25). The share of the other users strictly worse; ties count as neither."""
    return await actions.my_percentile(db, user)


@router.get("/leaderboards/global", response_model=GlobalLeaderboard)
async def global_leaderboard(
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
    period: Period = LeaderboardPeriod.WEEK,
    on: On = None,
) -> GlobalLeaderboard:
    """Users by correct answers in the UTC day, ISO week, month or all time; ties by
    accuracy. Competition ranks (1, 2, 2, 4)."""
    return await actions.global_leaderboard(db, user, period, pagination, on)


@router.get("/leaderboards/quizzes/{quiz_id}", response_model=QuizLeaderboard)
async def quiz_leaderboard(
    quiz_id: uuid.UUID,
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
    period: Period = LeaderboardPeriod.ALL,
    on: On = None,
) -> QuizLeaderboard:
    """Each user's best percent on a quiz they may see, ties by less time."""
    return await actions.quiz_leaderboard(db, user, quiz_id, period, pagination, on)


@router.get("/questions/{question_id}", response_model=ItemAnalysis)
async def item_analysis(question_id: uuid.UUID, db: DbSession, user: CurrentUser) -> ItemAnalysis:
    """Item analysis for the question's author or an admin: p-value, discrimination (upper
    vs lower 27% of attempts by score), option picks, overall and per version."""
    return await actions.item_analysis(db, user, question_id)
