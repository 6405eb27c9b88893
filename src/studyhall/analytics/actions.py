"""What each analytics request does, for the JSON API and the pages alike: who may see what,
then the service. Both doors call these; see core/requests.py."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts import actions as accounts
from studyhall.accounts.schemas import Role
from studyhall.accounts.service import Principal
from studyhall.analytics import service
from studyhall.analytics.schemas import (
    GlobalLeaderboard,
    ItemAnalysis,
    LeaderboardPeriod,
    PercentileRanking,
    Performance,
    QuizLeaderboard,
    TrendGranularity,
)
from studyhall.core.pagination import PageParams


async def my_performance(
    db: AsyncSession, principal: Principal, granularity: TrendGranularity, periods: int
) -> Performance:
    return await service.my_performance(db, principal.id, granularity, periods)


async def my_percentile(db: AsyncSession, principal: Principal) -> PercentileRanking:
    return await service.percentile_ranking(db, principal.id)


async def global_leaderboard(
    db: AsyncSession,
    principal: Principal,
    period: LeaderboardPeriod,
    params: PageParams,
    on: date | None = None,
) -> GlobalLeaderboard:
    return await service.global_leaderboard(db, period, params, on)


async def quiz_leaderboard(
    db: AsyncSession,
    principal: Principal,
    quiz_id: uuid.UUID,
    period: LeaderboardPeriod,
    params: PageParams,
    on: date | None = None,
) -> QuizLeaderboard:
    """For a quiz the user may see (404 otherwise)."""
    return await service.quiz_leaderboard(
        db,
        quiz_id,
        period,
        params,
        viewer_id=principal.id,
        is_admin=Role.ADMIN in principal.roles,
        can_author=bool(principal.roles & {Role.TEACHER, Role.ADMIN}),
        on=on,
    )


async def item_analysis(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID
) -> ItemAnalysis:
    """For teachers (their own questions) and admins: 403 `insufficient_role` for anyone
    else, before the question is even looked up."""
    accounts.require_roles(principal, Role.TEACHER)
    return await service.item_analysis(
        db,
        question_id,
        principal.id,
        is_admin=Role.ADMIN in principal.roles,
        can_author=bool(principal.roles & {Role.TEACHER, Role.ADMIN}),
    )
