"""Cache keys, tags and lifetimes of analytics (TTLs from the QuizMaster and MS2 seeds).

Every key holding one user's data carries that user's id; shared values (leaderboards, item
analysis) are the same for everyone allowed to read them, and authorization happens before
the cache is consulted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache

PERFORMANCE_TTL = 15 * 60
PERCENTILE_TTL = 15 * 60
LEADERBOARD_TTL = 5 * 60  # leaderboard:{period} 5 min in the QuizMaster seed
ITEM_ANALYSIS_TTL = 15 * 60  # analytics:quiz:{quizId} 15 min in the QuizMaster seed

GLOBAL_LEADERBOARD_TAG = "leaderboard:global"
# Every cached percentile, dropped when the rank buckets are rebuilt.
PERCENTILES_TAG = "analytics:percentiles"


def user_tag(user_id: uuid.UUID) -> str:
    return f"analytics:user:{user_id}"


def performance_key(user_id: uuid.UUID, granularity: str, periods: int, today: date) -> str:
    return f"analytics:performance:{user_id}:{granularity}:{periods}:{today.isoformat()}"


def percentile_key(user_id: uuid.UUID) -> str:
    return f"analytics:percentile:{user_id}"


def global_leaderboard_key(period: str, first_day: date | None, page: int, per_page: int) -> str:
    start = first_day.isoformat() if first_day else "all"
    return f"leaderboard:global:{period}:{start}:{page}:{per_page}"


def quiz_leaderboard_tag(quiz_id: uuid.UUID) -> str:
    return f"leaderboard:quiz:{quiz_id}"


def quiz_leaderboard_key(
    quiz_id: uuid.UUID, period: str, first_day: date | None, page: int, per_page: int
) -> str:
    start = first_day.isoformat() if first_day else "all"
    return f"leaderboard:quiz:{quiz_id}:{period}:{start}:{page}:{per_page}"


def item_analysis_key(question_id: uuid.UUID) -> str:
    return f"analytics:item:{question_id}"


async def invalidate_after_submission(
    db: AsyncSession,
    user_id: uuid.UUID,
    quiz_id: uuid.UUID | None,
    question_ids: Iterable[uuid.UUID],
) -> None:
    """Drop what a submission changes: this user's performance and percentile, the global
    boards, the quiz's boards and the item analysis of every question it contained.

    Dropped now, and once more after the commit: a reader that missed in between could have
    cached the rows it still saw before the commit. Other users' cached percentiles move
    too, but are left to expire (15 min): recomputing everyone's on every submission would
    defeat the cache.
    """
    keys = (percentile_key(user_id), *(item_analysis_key(q) for q in dict.fromkeys(question_ids)))
    tags: tuple[str, ...] = (user_tag(user_id), GLOBAL_LEADERBOARD_TAG)
    if quiz_id is not None:
        tags += (quiz_leaderboard_tag(quiz_id),)
    await cache.invalidate_now_and_after_commit(db, keys, tags)
