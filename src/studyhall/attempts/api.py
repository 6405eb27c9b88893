"""JSON API of the attempts module, under /api/v1: starting quizzes and custom tests, the
player's reads and writes, auto-save, pause/resume, submit, results and review."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status
from fastapi.responses import JSONResponse

from studyhall.accounts.dependencies import CurrentUser
from studyhall.attempts import actions
from studyhall.attempts.models import AttemptStatus
from studyhall.attempts.schemas import (
    MAX_QUESTIONS,
    AnswerIn,
    AnswerOut,
    AttemptRead,
    AttemptResult,
    AttemptSummary,
    CustomTestCreate,
    ItemUpdate,
    ItemView,
    ProgressSave,
    ProgressState,
    ReviewRead,
    SubmitIn,
)
from studyhall.core.deps import Context, DbSession
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination

router = APIRouter(tags=["attempts"])

__all__ = ["router"]

AttemptId = Annotated[uuid.UUID, Path(description="the attempt's id")]
Position = Annotated[int, Path(ge=0, lt=MAX_QUESTIONS, description="0-based item position")]


# ---------------------------------------------------------------- starting


@router.post(
    "/quizzes/{quiz_id}/attempts",
    response_model=AttemptRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "An open attempt at this quiz already existed"},
        **problem_responses(409),
    },
)
async def start_quiz_attempt(quiz_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Any:
    """Start a sitting of a quiz (409 `attempts_exhausted` when none are left). An open
    attempt at the same quiz is returned instead (200)."""
    attempt, created = await actions.start_quiz_attempt(db, user, quiz_id)
    if created:
        return attempt
    return JSONResponse(attempt.model_dump(mode="json"), status_code=status.HTTP_200_OK)


@router.post("/custom-tests", response_model=AttemptRead, status_code=status.HTTP_201_CREATED)
async def create_custom_test(
    data: CustomTestCreate, db: DbSession, user: CurrentUser
) -> AttemptRead:
    """Build a test from the bank and start it (422 `no_questions_available` for an empty
    pool)."""
    return await actions.create_custom_test(db, user, data)


# ---------------------------------------------------------------- reading


@router.get("/attempts", response_model=Page[AttemptSummary])
async def list_my_attempts(
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
    status_filter: Annotated[AttemptStatus | None, Query(alias="status")] = None,
    quiz_id: uuid.UUID | None = None,
) -> Page[AttemptSummary]:
    return await actions.list_attempts(db, user, pagination, status_filter, quiz_id)


@router.get("/attempts/{attempt_id}", response_model=AttemptRead)
async def get_attempt(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptRead:
    return await actions.get_attempt(db, user, attempt_id)


@router.get("/attempts/{attempt_id}/progress", response_model=ProgressState)
async def get_progress(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> ProgressState:
    return await actions.get_progress(db, user, attempt_id)


@router.get("/attempts/{attempt_id}/items/{position}", response_model=ItemView)
async def get_item(
    attempt_id: AttemptId, position: Position, db: DbSession, user: CurrentUser
) -> ItemView:
    return await actions.get_item(db, user, attempt_id, position)


@router.get("/attempts/{attempt_id}/result", response_model=AttemptResult)
async def get_result(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptResult:
    return await actions.get_result(db, user, attempt_id)


@router.get(
    "/attempts/{attempt_id}/review", response_model=ReviewRead, responses=problem_responses(409)
)
async def get_review(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> ReviewRead:
    return await actions.get_review(db, user, attempt_id)


# ---------------------------------------------------------------- writing
# Refusals past the deadline (409 attempt_expired) keep the automatic submission they made:
# AttemptExpired commits anyway.


@router.patch(
    "/attempts/{attempt_id}/progress",
    response_model=ProgressState,
    responses={409: {"description": "stale version (body.current holds the saved state)"}},
)
async def save_progress(
    attempt_id: AttemptId,
    data: ProgressSave,
    db: DbSession,
    user: CurrentUser,
    ctx: Context,
) -> ProgressState:
    """Auto-save with an optimistic lock on `version` (see the service for the rules)."""
    return await actions.save_progress(db, ctx, user, attempt_id, data)


@router.put(
    "/attempts/{attempt_id}/items/{position}/answer",
    response_model=AnswerOut,
    responses=problem_responses(409),
)
async def answer_item(
    attempt_id: AttemptId, position: Position, data: AnswerIn, db: DbSession, user: CurrentUser
) -> AnswerOut:
    return await actions.answer_item(db, user, attempt_id, position, data)


@router.patch(
    "/attempts/{attempt_id}/items/{position}",
    response_model=ItemView,
    responses=problem_responses(409),
)
async def update_item(
    attempt_id: AttemptId, position: Position, data: ItemUpdate, db: DbSession, user: CurrentUser
) -> ItemView:
    return await actions.update_item(db, user, attempt_id, position, data)


@router.post(
    "/attempts/{attempt_id}/pause", response_model=AttemptRead, responses=problem_responses(409)
)
async def pause_attempt(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptRead:
    return await actions.pause_attempt(db, user, attempt_id)


@router.post(
    "/attempts/{attempt_id}/resume", response_model=AttemptRead, responses=problem_responses(409)
)
async def resume_attempt(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptRead:
    return await actions.resume_attempt(db, user, attempt_id)


@router.post(
    "/attempts/{attempt_id}/submit", response_model=AttemptResult, responses=problem_responses(409)
)
async def submit_attempt(
    attempt_id: AttemptId,
    db: DbSession,
    user: CurrentUser,
    ctx: Context,
    data: Annotated[SubmitIn | None, Body()] = None,
) -> AttemptResult:
    """Save the final state (optional `progress`, auto-save rules) and submit. Submitting a
    submitted attempt returns its result. The rate limit (one submission per attempt per five
    minutes) counts only real submissions, and a 429 still keeps the final save."""
    progress = data.progress if data is not None else None
    return await actions.submit_attempt(db, ctx, user, attempt_id, progress)
