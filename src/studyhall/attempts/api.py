"""JSON API of the attempts module, under /api/v1: starting quizzes and custom tests, the
player's reads and writes, auto-save, pause/resume, submit, results and review."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, status
from fastapi.responses import JSONResponse

from studyhall.accounts.dependencies import CurrentUser
from studyhall.accounts.schemas import Role
from studyhall.attempts import service
from studyhall.attempts.models import AttemptStatus
from studyhall.attempts.ratelimits import AUTOSAVE_NAME, hit_submit_limit
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
from studyhall.core.deps import AppSettings, DbSession
from studyhall.core.errors import problem_response
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination
from studyhall.core.ratelimit import enforce, remember_headers

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
    attempt, created = await service.start_quiz_attempt(
        db, quiz_id, user.id, is_admin=Role.ADMIN in user.roles
    )
    if created:
        return attempt
    return JSONResponse(attempt.model_dump(mode="json"), status_code=status.HTTP_200_OK)


@router.post("/custom-tests", response_model=AttemptRead, status_code=status.HTTP_201_CREATED)
async def create_custom_test(
    data: CustomTestCreate, db: DbSession, user: CurrentUser
) -> AttemptRead:
    """Build a test from the bank and start it (422 `no_questions_available` for an empty
    pool)."""
    return await service.create_custom_test(db, user.id, data)


# ---------------------------------------------------------------- reading


@router.get("/attempts", response_model=Page[AttemptSummary])
async def list_my_attempts(
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
    status_filter: Annotated[AttemptStatus | None, Query(alias="status")] = None,
    quiz_id: uuid.UUID | None = None,
) -> Page[AttemptSummary]:
    return await service.list_attempts(db, user.id, pagination, status_filter, quiz_id)


@router.get("/attempts/{attempt_id}", response_model=AttemptRead)
async def get_attempt(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptRead:
    return await service.get_attempt(db, attempt_id, user.id)


@router.get("/attempts/{attempt_id}/progress", response_model=ProgressState)
async def get_progress(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> ProgressState:
    return await service.get_progress(db, attempt_id, user.id)


@router.get("/attempts/{attempt_id}/items/{position}", response_model=ItemView)
async def get_item(
    attempt_id: AttemptId, position: Position, db: DbSession, user: CurrentUser
) -> ItemView:
    return await service.get_item(db, attempt_id, user.id, position)


@router.get("/attempts/{attempt_id}/result", response_model=AttemptResult)
async def get_result(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptResult:
    return await service.get_result(db, attempt_id, user.id)


@router.get(
    "/attempts/{attempt_id}/review", response_model=ReviewRead, responses=problem_responses(409)
)
async def get_review(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> ReviewRead:
    return await service.get_review(db, attempt_id, user.id)


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
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> ProgressState:
    """Auto-save with an optimistic lock on `version` (see the service for the rules)."""
    await enforce(request, AUTOSAVE_NAME, settings.rate_limit_attempt_autosave, str(user.id))
    return await service.save_progress(db, attempt_id, user.id, data)


@router.put(
    "/attempts/{attempt_id}/items/{position}/answer",
    response_model=AnswerOut,
    responses=problem_responses(409),
)
async def answer_item(
    attempt_id: AttemptId, position: Position, data: AnswerIn, db: DbSession, user: CurrentUser
) -> AnswerOut:
    return await service.answer_item(db, attempt_id, user.id, position, data)


@router.patch(
    "/attempts/{attempt_id}/items/{position}",
    response_model=ItemView,
    responses=problem_responses(409),
)
async def update_item(
    attempt_id: AttemptId, position: Position, data: ItemUpdate, db: DbSession, user: CurrentUser
) -> ItemView:
    return await service.update_item(db, attempt_id, user.id, position, data)


@router.post(
    "/attempts/{attempt_id}/pause", response_model=AttemptRead, responses=problem_responses(409)
)
async def pause_attempt(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptRead:
    return await service.pause_attempt(db, attempt_id, user.id)


@router.post(
    "/attempts/{attempt_id}/resume", response_model=AttemptRead, responses=problem_responses(409)
)
async def resume_attempt(attempt_id: AttemptId, db: DbSession, user: CurrentUser) -> AttemptRead:
    return await service.resume_attempt(db, attempt_id, user.id)


@router.post(
    "/attempts/{attempt_id}/submit", response_model=AttemptResult, responses=problem_responses(409)
)
async def submit_attempt(
    attempt_id: AttemptId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    data: Annotated[SubmitIn | None, Body()] = None,
) -> Any:
    """Save the final state (optional `progress`, auto-save rules) and submit. Submitting a
    submitted attempt returns its result. The rate limit (one submission per attempt per five
    minutes) counts only real submissions, and a 429 still keeps the final save."""
    progress = data.progress if data is not None else None
    if await service.prepare_submit(db, attempt_id, user.id, progress):
        return await service.get_result(db, attempt_id, user.id)
    limit = await hit_submit_limit(
        request.app.state.settings.rate_limit_attempt_submit, user.id, attempt_id
    )
    remember_headers(request, limit)
    if not limit.allowed:
        # Returned, not raised: the final save above commits with this answer.
        return problem_response(
            request,
            429,
            "rate_limited",
            "Too many requests",
            f"This attempt is being submitted; check again in {limit.retry_after} seconds.",
            limit.headers(),
            retry_after=limit.retry_after,
        )
    return await service.submit_attempt(db, attempt_id, user.id)
