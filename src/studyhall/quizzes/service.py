"""Quizzes: categories, authoring, publishing, and the spec attempts start from."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.errors import NotFound
from studyhall.quizzes.models import FeedbackMode, Quiz, QuizQuestion, QuizStatus
from studyhall.quizzes.schemas import QuizAttemptSpec


async def quiz_for_attempt(
    db: AsyncSession, quiz_id: uuid.UUID, user_id: uuid.UUID, is_admin: bool = False
) -> QuizAttemptSpec:
    """The settings and ordered questions of a quiz `user_id` may sit: published, or their own
    draft (authors try their quizzes out)."""
    quiz = await db.get(Quiz, quiz_id)
    visible = quiz is not None and (
        quiz.status == QuizStatus.PUBLISHED.value or is_admin or quiz.author_id == user_id
    )
    if quiz is None or not visible:
        raise NotFound("No such quiz.", code="quiz_not_found")
    question_ids = list(
        await db.scalars(
            select(QuizQuestion.question_id)
            .where(QuizQuestion.quiz_id == quiz.id)
            .order_by(QuizQuestion.position)
        )
    )
    return QuizAttemptSpec(
        id=quiz.id,
        title=quiz.title,
        question_ids=question_ids,
        time_limit_seconds=quiz.time_limit_seconds,
        shuffle_questions=quiz.shuffle_questions,
        shuffle_options=quiz.shuffle_options,
        attempts_allowed=quiz.attempts_allowed,
        pass_mark_percent=quiz.pass_mark_percent,
        feedback_mode=FeedbackMode(quiz.feedback_mode),
    )
