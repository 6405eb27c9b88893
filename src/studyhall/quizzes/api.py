"""JSON API of the quizzes module, under /api/v1: /categories and /quizzes.

Every route needs a signed-in user; quizzes.actions decides what their roles allow.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from studyhall.accounts.dependencies import CurrentUser
from studyhall.core.deps import DbSession
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination, slice_page
from studyhall.quizzes import actions
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
    db: DbSession, user: CurrentUser, pagination: Pagination
) -> Page[CategoryRead]:
    """Every category by name."""
    return await actions.list_categories(db, user, pagination)


@categories_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryRead,
    responses=problem_responses(409),
)
async def create_category(body: CategoryCreate, db: DbSession, user: CurrentUser) -> CategoryRead:
    """Teachers and admins. The slug is made from the name."""
    return await actions.create_category(db, user, body)


@categories_router.get("/{category_id}", response_model=CategoryRead)
async def read_category(category_id: uuid.UUID, db: DbSession, user: CurrentUser) -> CategoryRead:
    return await actions.get_category(db, user, category_id)


@categories_router.patch(
    "/{category_id}", response_model=CategoryRead, responses=problem_responses(409)
)
async def update_category(
    category_id: uuid.UUID, body: CategoryUpdate, db: DbSession, user: CurrentUser
) -> CategoryRead:
    """Teachers and admins."""
    return await actions.update_category(db, user, category_id, body)


@categories_router.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Response:
    """Admins only; the category's quizzes stay, without a category."""
    await actions.delete_category(db, user, category_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- quizzes


@quizzes_router.get("", response_model=Page[QuizSummary])
async def list_quizzes(
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
    category: Annotated[str | None, Query(max_length=100, description="category slug")] = None,
    text: Annotated[str, Query(max_length=200)] = "",
    status: QuizStatus | None = None,
    mine: bool = False,
) -> Page[QuizSummary]:
    """Published quizzes by title; teachers also see their drafts, admins every draft."""
    query = QuizFilter(category=category or None, text=text, status=status, mine=mine)
    return await actions.list_quizzes(db, user, query, pagination)


@quizzes_router.post("", status_code=201, response_model=QuizRead)
async def create_quiz(body: QuizCreate, db: DbSession, user: CurrentUser) -> QuizRead:
    """A new draft (teachers and admins), optionally with its published questions in order."""
    return await actions.create_quiz(db, user, body)


@quizzes_router.get("/{quiz_id}", response_model=QuizRead)
async def read_quiz(quiz_id: uuid.UUID, db: DbSession, user: CurrentUser) -> QuizRead:
    """Title, description, settings and question count; never the questions or answers."""
    return await actions.get_quiz(db, user, quiz_id)


@quizzes_router.patch("/{quiz_id}", response_model=QuizRead)
async def update_quiz(
    quiz_id: uuid.UUID, body: QuizUpdate, db: DbSession, user: CurrentUser
) -> QuizRead:
    """The author or an admin. Only the fields sent change."""
    return await actions.update_quiz(db, user, quiz_id, body)


@quizzes_router.delete("/{quiz_id}", status_code=204)
async def delete_quiz(quiz_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Response:
    await actions.delete_quiz(db, user, quiz_id)
    return Response(status_code=204)


@quizzes_router.post(
    "/{quiz_id}/publish", response_model=QuizRead, responses=problem_responses(409)
)
async def publish_quiz(quiz_id: uuid.UUID, db: DbSession, user: CurrentUser) -> QuizRead:
    """409 `quiz_has_no_questions` or `quiz_has_unpublished_questions` when it cannot be."""
    return await actions.publish_quiz(db, user, quiz_id)


@quizzes_router.post("/{quiz_id}/unpublish", response_model=QuizRead)
async def unpublish_quiz(quiz_id: uuid.UUID, db: DbSession, user: CurrentUser) -> QuizRead:
    return await actions.unpublish_quiz(db, user, quiz_id)


# ---------------------------------------------------------------- a quiz's questions


@quizzes_router.get("/{quiz_id}/questions", response_model=Page[QuizQuestionItem])
async def list_quiz_questions(
    quiz_id: uuid.UUID, db: DbSession, user: CurrentUser, pagination: Pagination
) -> Page[QuizQuestionItem]:
    """The quiz's questions in order, for its editors."""
    return slice_page(await actions.quiz_questions(db, user, quiz_id), pagination)


@quizzes_router.put(
    "/{quiz_id}/questions",
    response_model=Page[QuizQuestionItem],
    responses=problem_responses(409),
)
async def set_quiz_questions(
    quiz_id: uuid.UUID,
    body: QuizQuestionsSet,
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
) -> Page[QuizQuestionItem]:
    """Replace the list in its new order: adds, removes and reorders at once."""
    items = await actions.set_quiz_questions(db, user, quiz_id, body.question_ids)
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
    user: CurrentUser,
    pagination: Pagination,
) -> Page[QuizQuestionItem]:
    """Add a published question at `position` (default: the end)."""
    items = await actions.add_quiz_question(db, user, quiz_id, body.question_id, body.position)
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
    user: CurrentUser,
    pagination: Pagination,
) -> Page[QuizQuestionItem]:
    """Move a question to another position (0-based)."""
    items = await actions.move_quiz_question(db, user, quiz_id, question_id, body.position)
    return slice_page(items, pagination)


@quizzes_router.delete(
    "/{quiz_id}/questions/{question_id}", status_code=204, responses=problem_responses(409)
)
async def remove_quiz_question(
    quiz_id: uuid.UUID, question_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> Response:
    await actions.remove_quiz_question(db, user, quiz_id, question_id)
    return Response(status_code=204)


routers = (quizzes_router, categories_router)
