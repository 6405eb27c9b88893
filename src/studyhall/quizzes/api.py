"""JSON API of the quizzes module, under /api/v1: /categories and /quizzes.

Every route needs a signed-in user; the service decides what their roles allow.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from studyhall.core.deps import DbSession
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination, slice_page
from studyhall.quizzes import service
from studyhall.quizzes.dependencies import QuizActor
from studyhall.quizzes.models import QuizStatus
from studyhall.quizzes.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    QuizCreate,
    QuizFilter,
    QuizQuestionAdd,
    QuizQuestionItem,
    QuizQuestionMove,
    QuizQuestionsSet,
    QuizRead,
    QuizSummary,
    QuizUpdate,
)

categories_router = APIRouter(prefix="/categories", tags=["quizzes"])
quizzes_router = APIRouter(prefix="/quizzes", tags=["quizzes"])


# ---------------------------------------------------------------- categories


@categories_router.get("", response_model=Page[CategoryRead])
async def list_categories(
    db: DbSession, actor: QuizActor, pagination: Pagination
) -> Page[CategoryRead]:
    """Every category by name."""
    return await service.list_categories(db, pagination)


@categories_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryRead,
    responses=problem_responses(409),
)
async def create_category(body: CategoryCreate, db: DbSession, actor: QuizActor) -> CategoryRead:
    """Teachers and admins. The slug is made from the name."""
    return await service.create_category(db, actor, body)


@categories_router.get("/{category_id}", response_model=CategoryRead)
async def read_category(category_id: uuid.UUID, db: DbSession, actor: QuizActor) -> CategoryRead:
    return await service.get_category(db, category_id)


@categories_router.patch(
    "/{category_id}", response_model=CategoryRead, responses=problem_responses(409)
)
async def update_category(
    category_id: uuid.UUID, body: CategoryUpdate, db: DbSession, actor: QuizActor
) -> CategoryRead:
    """Teachers and admins."""
    return await service.update_category(db, actor, category_id, body)


@categories_router.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: uuid.UUID, db: DbSession, actor: QuizActor) -> Response:
    """Admins only; the category's quizzes stay, without a category."""
    await service.delete_category(db, actor, category_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- quizzes


@quizzes_router.get("", response_model=Page[QuizSummary])
async def list_quizzes(
    db: DbSession,
    actor: QuizActor,
    pagination: Pagination,
    category: Annotated[str | None, Query(max_length=100, description="category slug")] = None,
    text: Annotated[str, Query(max_length=200)] = "",
    status: QuizStatus | None = None,
    mine: bool = False,
) -> Page[QuizSummary]:
    """Published quizzes by title; teachers also see their drafts, admins every draft."""
    query = QuizFilter(category=category or None, text=text, status=status, mine=mine)
    return await service.list_quizzes(db, actor, query, pagination)


@quizzes_router.post("", status_code=201, response_model=QuizRead)
async def create_quiz(body: QuizCreate, db: DbSession, actor: QuizActor) -> QuizRead:
    """A new draft (teachers and admins), optionally with its published questions in order."""
    return await service.create_quiz(db, actor, body)


@quizzes_router.get("/{quiz_id}", response_model=QuizRead)
async def read_quiz(quiz_id: uuid.UUID, db: DbSession, actor: QuizActor) -> QuizRead:
    """Title, description, settings and question count; never the questions or answers."""
    return await service.get_quiz(db, actor, quiz_id)


@quizzes_router.patch("/{quiz_id}", response_model=QuizRead)
async def update_quiz(
    quiz_id: uuid.UUID, body: QuizUpdate, db: DbSession, actor: QuizActor
) -> QuizRead:
    """The author or an admin. Only the fields sent change."""
    return await service.update_quiz(db, actor, quiz_id, body)


@quizzes_router.delete("/{quiz_id}", status_code=204)
async def delete_quiz(quiz_id: uuid.UUID, db: DbSession, actor: QuizActor) -> Response:
    await service.delete_quiz(db, actor, quiz_id)
    return Response(status_code=204)


@quizzes_router.post(
    "/{quiz_id}/publish", response_model=QuizRead, responses=problem_responses(409)
)
async def publish_quiz(quiz_id: uuid.UUID, db: DbSession, actor: QuizActor) -> QuizRead:
    """409 `quiz_has_no_questions` or `quiz_has_unpublished_questions` when it cannot be."""
    return await service.publish_quiz(db, actor, quiz_id)


@quizzes_router.post("/{quiz_id}/unpublish", response_model=QuizRead)
async def unpublish_quiz(quiz_id: uuid.UUID, db: DbSession, actor: QuizActor) -> QuizRead:
    return await service.unpublish_quiz(db, actor, quiz_id)


# ---------------------------------------------------------------- a quiz's questions


@quizzes_router.get("/{quiz_id}/questions", response_model=Page[QuizQuestionItem])
async def list_quiz_questions(
    quiz_id: uuid.UUID, db: DbSession, actor: QuizActor, pagination: Pagination
) -> Page[QuizQuestionItem]:
    """The quiz's questions in order, for its editors."""
    return slice_page(await service.quiz_questions(db, actor, quiz_id), pagination)


@quizzes_router.put(
    "/{quiz_id}/questions",
    response_model=Page[QuizQuestionItem],
    responses=problem_responses(409),
)
async def set_quiz_questions(
    quiz_id: uuid.UUID,
    body: QuizQuestionsSet,
    db: DbSession,
    actor: QuizActor,
    pagination: Pagination,
) -> Page[QuizQuestionItem]:
    """Replace the list in its new order: adds, removes and reorders at once."""
    items = await service.set_quiz_questions(db, actor, quiz_id, body.question_ids)
    return slice_page(items, pagination)


@quizzes_router.post(
    "/{quiz_id}/questions",
    status_code=201,
    response_model=Page[QuizQuestionItem],
    responses=problem_responses(409),
)
async def add_quiz_question(
    quiz_id: uuid.UUID,
    body: QuizQuestionAdd,
    db: DbSession,
    actor: QuizActor,
    pagination: Pagination,
) -> Page[QuizQuestionItem]:
    """Add a published question at `position` (default: the end)."""
    items = await service.add_quiz_question(db, actor, quiz_id, body.question_id, body.position)
    return slice_page(items, pagination)


@quizzes_router.patch(
    "/{quiz_id}/questions/{question_id}",
    response_model=Page[QuizQuestionItem],
    responses=problem_responses(409),
)
async def move_quiz_question(
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuizQuestionMove,
    db: DbSession,
    actor: QuizActor,
    pagination: Pagination,
) -> Page[QuizQuestionItem]:
    """Move a question to another position (0-based)."""
    items = await service.move_quiz_question(db, actor, quiz_id, question_id, body.position)
    return slice_page(items, pagination)


@quizzes_router.delete(
    "/{quiz_id}/questions/{question_id}", status_code=204, responses=problem_responses(409)
)
async def remove_quiz_question(
    quiz_id: uuid.UUID, question_id: uuid.UUID, db: DbSession, actor: QuizActor
) -> Response:
    await service.remove_quiz_question(db, actor, quiz_id, question_id)
    return Response(status_code=204)


routers = (quizzes_router, categories_router)
