"""Reading attempts: the player's view, saved progress, results, review and lists. Every read
of an open attempt first submits it if its time ran out."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.models import Attempt, AttemptItem, AttemptStatus
from studyhall.attempts.schemas import (
    AttemptRead,
    AttemptResult,
    AttemptSummary,
    ItemView,
    ProgressState,
    ReviewRead,
)
from studyhall.attempts.service.common import (
    feedback_mode,
    item_fields,
    item_view,
    load_attempt,
    load_item,
    load_items,
    now_or,
    progress_state,
    remaining_seconds,
    result_of,
    reveals_in_review,
    reveals_while_answering,
    versions_of,
)
from studyhall.attempts.service.submission import settle_if_overdue
from studyhall.core.errors import Conflict
from studyhall.core.pagination import Page, PageParams, paginate
from studyhall.questions.schemas import QuestionVersionRead


async def attempt_view(
    db: AsyncSession,
    attempt: Attempt,
    now: datetime,
    items: Sequence[AttemptItem] | None = None,
    versions: Mapping[uuid.UUID, QuestionVersionRead] | None = None,
) -> AttemptRead:
    """The attempt as its student sees it while sitting it. Callers that hold its items (in
    position order) or their versions (by version id) pass them to save the lookups."""
    if items is None:
        items = await load_items(db, attempt.id)
    if versions is None:
        versions = await versions_of(db, items)
    submitted = attempt.status == AttemptStatus.SUBMITTED.value
    return AttemptRead.model_validate(
        {
            "id": attempt.id,
            "kind": attempt.kind,
            "mode": attempt.mode,
            "status": attempt.status,
            "title": attempt.title,
            "quiz_id": attempt.quiz_id,
            "feedback_mode": feedback_mode(attempt),
            "pass_mark_percent": attempt.pass_mark_percent,
            "time_limit_seconds": attempt.time_limit_seconds,
            "started_at": attempt.started_at,
            "deadline_at": attempt.deadline_at,
            "paused_at": attempt.paused_at,
            "submitted_at": attempt.submitted_at,
            "auto_submitted": attempt.auto_submitted,
            "remaining_seconds": remaining_seconds(attempt, now),
            "version": attempt.version,
            "position": attempt.position,
            "question_count": attempt.question_count,
            "answered_count": attempt.answered_count,
            "items": [
                item_fields(
                    item,
                    versions[item.question_version_id],
                    reveal=reveals_while_answering(attempt, item),
                )
                for item in items
            ],
            "result": result_of(attempt) if submitted else None,
        }
    )


async def get_attempt(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> AttemptRead:
    """The attempt as its student sees it while sitting it: answers hidden except for items
    whose feedback was shown (tutor mode, `after_each` quizzes)."""
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id)
    await settle_if_overdue(db, attempt, moment)
    return await attempt_view(db, attempt, moment)


async def get_progress(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> ProgressState:
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id)
    await settle_if_overdue(db, attempt, moment)
    return progress_state(attempt, await load_items(db, attempt.id), moment)


async def get_item(
    db: AsyncSession,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    position: int,
    now: datetime | None = None,
) -> ItemView:
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id)
    await settle_if_overdue(db, attempt, moment)
    item = await load_item(db, attempt.id, position)
    version = (await versions_of(db, [item]))[item.question_version_id]
    reveal = reveals_while_answering(attempt, item) or reveals_in_review(attempt)
    return item_view(item, version, reveal=reveal)


async def get_result(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> AttemptResult:
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id)
    await settle_if_overdue(db, attempt, moment)
    return result_of(attempt)


async def get_review(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> ReviewRead:
    """A submitted attempt with, per item, the student's answer and, unless the feedback mode
    is `never`, correctness, the correct answer and the explanations. 409
    `attempt_not_submitted` while it is open."""
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id)
    await settle_if_overdue(db, attempt, moment)
    if attempt.status != AttemptStatus.SUBMITTED.value:
        raise Conflict(
            "The review opens once the attempt is submitted.", code="attempt_not_submitted"
        )
    items = await load_items(db, attempt.id)
    versions = await versions_of(db, items)
    visible = reveals_in_review(attempt)
    return ReviewRead.model_validate(
        {
            "result": result_of(attempt),
            "feedback_mode": feedback_mode(attempt),
            "answers_visible": visible,
            "items": [
                item_fields(item, versions[item.question_version_id], visible) for item in items
            ],
        }
    )


async def list_attempts(
    db: AsyncSession,
    user_id: uuid.UUID,
    params: PageParams,
    status: AttemptStatus | None = None,
    quiz_id: uuid.UUID | None = None,
) -> Page[AttemptSummary]:
    """The user's attempts, newest first. Overdue ones show as open until next opened (or
    until the minute job submits them)."""
    conditions = [Attempt.user_id == user_id]
    if status is not None:
        conditions.append(Attempt.status == status.value)
    if quiz_id is not None:
        conditions.append(Attempt.quiz_id == quiz_id)
    statement = select(Attempt).where(*conditions).order_by(Attempt.started_at.desc(), Attempt.id)
    return await paginate(db, statement, params, _summaries)


def _summaries(attempts: Sequence[Attempt]) -> list[AttemptSummary]:
    return [
        AttemptSummary(
            id=attempt.id,
            kind=attempt.kind,
            mode=attempt.mode,
            status=attempt.status,
            title=attempt.title,
            quiz_id=attempt.quiz_id,
            question_count=attempt.question_count,
            answered_count=attempt.answered_count,
            started_at=attempt.started_at,
            deadline_at=attempt.deadline_at,
            submitted_at=attempt.submitted_at,
            percent=attempt.percent,
            passed=attempt.passed,
        )
        for attempt in attempts
    ]


async def count_quiz_attempts(db: AsyncSession, quiz_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """How many attempts `user_id` started at the quiz (for "n of m attempts used")."""
    count = await db.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.user_id == user_id, Attempt.quiz_id == quiz_id)
    )
    return int(count or 0)
