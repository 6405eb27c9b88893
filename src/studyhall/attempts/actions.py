"""What each attempts request does, for the JSON API and the pages alike: the rate limits of
the QuizMaster seed, then the service. Both doors call these; see core/requests.py."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.schemas import Role
from studyhall.accounts.service import Principal
from studyhall.attempts import service
from studyhall.attempts.schemas import (
    AnswerIn,
    AnswerOut,
    AttemptRead,
    AttemptResult,
    AttemptStatus,
    AttemptSummary,
    CustomTestCreate,
    ItemUpdate,
    ItemView,
    ProgressSave,
    ProgressState,
    ReviewRead,
)
from studyhall.core.errors import TooManyRequests
from studyhall.core.pagination import Page, PageParams
from studyhall.core.requests import LimitRule, RequestContext

# Auto-saves per user: the player's script and the form without JavaScript alike.
AUTOSAVE = LimitRule("attempt_autosave", "rate_limit_attempt_autosave")
# Real submissions per user and attempt; submitting a submitted attempt answers its result,
# so a repeat never spends it.
SUBMIT = LimitRule("attempt_submit", "rate_limit_attempt_submit")


class SubmissionThrottled(TooManyRequests):
    """The attempt is being submitted already. The final save made before the check
    commits all the same, so nothing sent with the submission is lost."""

    commit_anyway = True


# ---------------------------------------------------------------- starting


async def start_quiz_attempt(
    db: AsyncSession, principal: Principal, quiz_id: uuid.UUID
) -> tuple[AttemptRead, bool]:
    """The new attempt and True, or the open attempt at this quiz and False."""
    is_admin = Role.ADMIN in principal.roles
    return await service.start_quiz_attempt(db, quiz_id, principal.id, is_admin=is_admin)


async def create_custom_test(
    db: AsyncSession, principal: Principal, data: CustomTestCreate
) -> AttemptRead:
    return await service.create_custom_test(db, principal.id, data)


# ---------------------------------------------------------------- reading (own attempts only)


async def list_attempts(
    db: AsyncSession,
    principal: Principal,
    params: PageParams,
    status: AttemptStatus | None = None,
    quiz_id: uuid.UUID | None = None,
) -> Page[AttemptSummary]:
    return await service.list_attempts(db, principal.id, params, status, quiz_id)


async def get_attempt(db: AsyncSession, principal: Principal, attempt_id: uuid.UUID) -> AttemptRead:
    return await service.get_attempt(db, attempt_id, principal.id)


async def get_progress(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID
) -> ProgressState:
    return await service.get_progress(db, attempt_id, principal.id)


async def get_item(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID, position: int
) -> ItemView:
    return await service.get_item(db, attempt_id, principal.id, position)


async def get_result(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID
) -> AttemptResult:
    return await service.get_result(db, attempt_id, principal.id)


async def get_review(db: AsyncSession, principal: Principal, attempt_id: uuid.UUID) -> ReviewRead:
    return await service.get_review(db, attempt_id, principal.id)


# ---------------------------------------------------------------- writing


async def save_progress(
    db: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    attempt_id: uuid.UUID,
    data: ProgressSave,
) -> ProgressState:
    """Auto-save with an optimistic lock on `version` (see the service for the rules)."""
    await ctx.spend(AUTOSAVE, str(principal.id))
    return await service.save_progress(db, attempt_id, principal.id, data)


async def answer_item(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID, position: int, data: AnswerIn
) -> AnswerOut:
    return await service.answer_item(db, attempt_id, principal.id, position, data)


async def update_item(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID, position: int, data: ItemUpdate
) -> ItemView:
    return await service.update_item(db, attempt_id, principal.id, position, data)


async def pause_attempt(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID
) -> AttemptRead:
    return await service.pause_attempt(db, attempt_id, principal.id)


async def resume_attempt(
    db: AsyncSession, principal: Principal, attempt_id: uuid.UUID
) -> AttemptRead:
    return await service.resume_attempt(db, attempt_id, principal.id)


async def submit_attempt(
    db: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    attempt_id: uuid.UUID,
    progress: ProgressSave | None = None,
) -> AttemptResult:
    """Save the final state (optional, auto-save rules) and submit; a submitted attempt
    answers its result. The rate limit counts only real submissions, and its 429 keeps the
    final save (SubmissionThrottled commits)."""
    if await service.prepare_submit(db, attempt_id, principal.id, progress):
        return await service.get_result(db, attempt_id, principal.id)
    await ctx.spend(
        SUBMIT,
        f"{principal.id}:{attempt_id}",
        "This attempt is being submitted already; check its result in a moment "
        "(or submit again in {retry_after} seconds).",
        SubmissionThrottled,
    )
    return await service.submit_attempt(db, attempt_id, principal.id)
