"""What each quizzes request does, for the JSON API and the pages alike: who may do it, then
the service. Both doors call these; see core/requests.py.

Every write is for teachers and admins: anyone else gets 403 `insufficient_role` before the
quiz is even looked up, whichever door they use (the service then checks authorship).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.service import Principal
from studyhall.core.errors import Forbidden
from studyhall.core.pagination import Page, PageParams
from studyhall.quizzes import service
from studyhall.quizzes.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    QuizCreate,
    QuizFilter,
    QuizQuestionItem,
    QuizRead,
    QuizSummary,
    QuizUpdate,
)


def actor_of(principal: Principal) -> service.Actor:
    """Roles come from the server-side session, never from the request."""
    return service.Actor.of(principal.id, principal.roles)


def author_of(principal: Principal) -> service.Actor:
    """The actor of a write: a teacher or an admin, else 403 `insufficient_role`."""
    actor = actor_of(principal)
    if not (actor.can_author or actor.is_admin):
        raise Forbidden("Only teachers and admins write quizzes.", code="insufficient_role")
    return actor


# ---------------------------------------------------------------- categories


async def list_categories(
    db: AsyncSession, principal: Principal, params: PageParams
) -> Page[CategoryRead]:
    return await service.list_categories(db, params)


async def get_category(
    db: AsyncSession, principal: Principal, category_id: uuid.UUID
) -> CategoryRead:
    return await service.get_category(db, category_id)


async def create_category(
    db: AsyncSession, principal: Principal, data: CategoryCreate
) -> CategoryRead:
    return await service.create_category(db, author_of(principal), data)


async def update_category(
    db: AsyncSession, principal: Principal, category_id: uuid.UUID, data: CategoryUpdate
) -> CategoryRead:
    return await service.update_category(db, author_of(principal), category_id, data)


async def delete_category(db: AsyncSession, principal: Principal, category_id: uuid.UUID) -> None:
    """Admins only (the service refuses teachers)."""
    await service.delete_category(db, author_of(principal), category_id)


# ---------------------------------------------------------------- quizzes


async def list_quizzes(
    db: AsyncSession, principal: Principal, query: QuizFilter, params: PageParams
) -> Page[QuizSummary]:
    return await service.list_quizzes(db, actor_of(principal), query, params)


async def get_quiz(db: AsyncSession, principal: Principal, quiz_id: uuid.UUID) -> QuizRead:
    return await service.get_quiz(db, actor_of(principal), quiz_id)


async def create_quiz(db: AsyncSession, principal: Principal, data: QuizCreate) -> QuizRead:
    return await service.create_quiz(db, author_of(principal), data)


async def update_quiz(
    db: AsyncSession, principal: Principal, quiz_id: uuid.UUID, data: QuizUpdate
) -> QuizRead:
    return await service.update_quiz(db, author_of(principal), quiz_id, data)


async def delete_quiz(db: AsyncSession, principal: Principal, quiz_id: uuid.UUID) -> None:
    await service.delete_quiz(db, author_of(principal), quiz_id)


async def publish_quiz(db: AsyncSession, principal: Principal, quiz_id: uuid.UUID) -> QuizRead:
    return await service.publish_quiz(db, author_of(principal), quiz_id)


async def unpublish_quiz(db: AsyncSession, principal: Principal, quiz_id: uuid.UUID) -> QuizRead:
    return await service.unpublish_quiz(db, author_of(principal), quiz_id)


# ---------------------------------------------------------------- a quiz's questions


async def quiz_questions(
    db: AsyncSession, principal: Principal, quiz_id: uuid.UUID
) -> list[QuizQuestionItem]:
    """For the quiz's editors."""
    return await service.quiz_questions(db, author_of(principal), quiz_id)


async def set_quiz_questions(
    db: AsyncSession, principal: Principal, quiz_id: uuid.UUID, question_ids: Sequence[uuid.UUID]
) -> list[QuizQuestionItem]:
    return await service.set_quiz_questions(db, author_of(principal), quiz_id, question_ids)


async def add_quiz_question(
    db: AsyncSession,
    principal: Principal,
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    position: int | None = None,
) -> list[QuizQuestionItem]:
    actor = author_of(principal)
    return await service.add_quiz_question(db, actor, quiz_id, question_id, position)


async def move_quiz_question(
    db: AsyncSession,
    principal: Principal,
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    position: int,
) -> list[QuizQuestionItem]:
    actor = author_of(principal)
    return await service.move_quiz_question(db, actor, quiz_id, question_id, position)


async def remove_quiz_question(
    db: AsyncSession, principal: Principal, quiz_id: uuid.UUID, question_id: uuid.UUID
) -> list[QuizQuestionItem]:
    return await service.remove_quiz_question(db, author_of(principal), quiz_id, question_id)
