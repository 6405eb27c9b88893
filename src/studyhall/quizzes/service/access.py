"""Who may see and change a quiz, and the one place a quiz change drops its cached views."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import utcnow
from studyhall.core.errors import Forbidden, NotFound
from studyhall.quizzes.models import Quiz, QuizStatus
from studyhall.quizzes.schemas import QuizRead
from studyhall.quizzes.service.common import (
    QUIZ_LISTS_TAG,
    Actor,
    invalidate,
    quiz_detail_key,
    require_author,
)


def is_visible(actor: Actor, quiz: Quiz | QuizRead) -> bool:
    """Published quizzes are for everyone; drafts for their author and admins."""
    return quiz.status == QuizStatus.PUBLISHED or actor.is_admin or quiz.author_id == actor.id


def can_edit(actor: Actor, quiz: Quiz | QuizRead) -> bool:
    return actor.is_admin or (actor.can_author and quiz.author_id == actor.id)


async def load_quiz(db: AsyncSession, quiz_id: uuid.UUID) -> Quiz:
    quiz = await db.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFound("No such quiz.", code="quiz_not_found")
    return quiz


async def load_for_editing(db: AsyncSession, actor: Actor, quiz_id: uuid.UUID) -> Quiz:
    """The quiz `actor` may change: 403 for students and for another teacher's quiz, 404 for
    what they may not even see."""
    require_author(actor)
    quiz = await load_quiz(db, quiz_id)
    if not is_visible(actor, quiz):
        raise NotFound("No such quiz.", code="quiz_not_found")
    if not can_edit(actor, quiz):
        raise Forbidden("You can only change your own quizzes.", code="not_quiz_author")
    return quiz


async def quiz_changed(db: AsyncSession, quiz: Quiz) -> None:
    """Drop every cached view the change shows in: its detail and all quiz lists."""
    quiz.updated_at = utcnow()
    await db.flush()
    await invalidate(db, keys=(quiz_detail_key(quiz.id),), tags=(QUIZ_LISTS_TAG,))
