"""Submitting an attempt: grading, the result, the user's question history, the
`attempt.submitted` event; and the automatic submission of attempts whose time ran out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.events import AttemptSubmitted, SubmittedItem
from studyhall.attempts.models import Attempt, AttemptItem, AttemptStatus, UserQuestionState
from studyhall.attempts.schemas import AttemptResult
from studyhall.attempts.service.common import (
    DEADLINE_GRACE,
    active_seconds,
    is_overdue,
    load_attempt,
    load_items,
    locked_attempt,
    now_or,
    result_of,
    versions_of,
)
from studyhall.core.events import emit
from studyhall.questions import service as questions
from studyhall.questions.schemas import QuestionVersionRead

OVERDUE_BATCH = 100


async def finalize_submission(
    db: AsyncSession, attempt: Attempt, now: datetime, *, auto: bool
) -> None:
    """Grade and close an open attempt (the caller holds its row lock). An automatic
    submission ends at the deadline, however late it is noticed."""
    items = await load_items(db, attempt.id)
    versions = await versions_of(db, items)
    ended = now
    if auto and attempt.deadline_at is not None and attempt.deadline_at < now:
        ended = attempt.deadline_at
    if attempt.paused_at is not None:
        attempt.paused_seconds += max(0, int((ended - attempt.paused_at).total_seconds()))
        attempt.paused_at = None
    spent = active_seconds(attempt, ended)
    if attempt.time_limit_seconds is not None:
        spent = min(spent, attempt.time_limit_seconds)

    answered = correct = 0
    score = 0.0
    for item in items:
        graded = questions.grade(versions[item.question_version_id], item.response)
        item.is_correct = graded.is_correct
        item.score = graded.score
        answered += graded.answered
        correct += graded.is_correct
        score += graded.score
    attempt.question_count = len(items)
    attempt.answered_count = answered
    attempt.correct_count = correct
    attempt.score = score
    attempt.max_score = float(len(items))
    attempt.percent = round(100.0 * score / len(items), 2) if items else 0.0
    attempt.passed = (
        attempt.percent >= attempt.pass_mark_percent
        if attempt.pass_mark_percent is not None
        else None
    )
    attempt.time_spent_seconds = spent
    attempt.status = AttemptStatus.SUBMITTED.value
    attempt.submitted_at = ended
    attempt.auto_submitted = auto
    attempt.version += 1
    await db.flush()
    await _update_question_states(db, attempt, items, ended)
    emit(db, _submitted_event(attempt, items, versions))


def _submitted_event(
    attempt: Attempt,
    items: Sequence[AttemptItem],
    versions: dict[uuid.UUID, QuestionVersionRead],
) -> AttemptSubmitted:
    assert attempt.submitted_at is not None and attempt.percent is not None
    return AttemptSubmitted(
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        quiz_id=attempt.quiz_id,
        submitted_at=attempt.submitted_at,
        auto_submitted=attempt.auto_submitted,
        percent=attempt.percent,
        passed=attempt.passed,
        time_spent_seconds=attempt.time_spent_seconds,
        items=[
            SubmittedItem(
                position=item.position,
                question_id=item.question_id,
                question_version_id=item.question_version_id,
                subject=versions[item.question_version_id].subject,
                system=versions[item.question_version_id].system,
                answered=questions.is_answered(item.response),
                is_correct=bool(item.is_correct),
                time_spent_seconds=item.time_spent_seconds,
                response=item.response,
            )
            for item in items
        ],
    )


async def _update_question_states(
    db: AsyncSession, attempt: Attempt, items: Sequence[AttemptItem], seen_at: datetime
) -> None:
    """Seen, last result and mark per question, for the custom-test pools: one upsert of all
    the questions, so two attempts submitted at once with the same question both count."""
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for item in items:
        answered = questions.is_answered(item.response)
        rows[item.question_id] = {
            "user_id": attempt.user_id,
            "question_id": item.question_id,
            "times_seen": 1,
            "times_correct": 1 if item.is_correct else 0,
            # An unanswered question keeps its earlier result: it was neither right nor wrong.
            "last_correct": bool(item.is_correct) if answered else None,
            "marked": item.marked,
            "last_seen_at": seen_at,
        }
    if not rows:
        return
    # In question order, so two attempts of one user lock the shared rows in the same order.
    upsert = _question_state_upsert(db.get_bind().dialect.name)
    await db.execute(upsert, [rows[key] for key in sorted(rows)])


@cache
def _question_state_upsert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """Built once and run with the rows as parameters: compiled once, whatever the count."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(UserQuestionState)
    table = UserQuestionState.__table__.c
    return statement.on_conflict_do_update(
        index_elements=[table.user_id, table.question_id],
        set_={
            "times_seen": table.times_seen + statement.excluded.times_seen,
            "times_correct": table.times_correct + statement.excluded.times_correct,
            "last_correct": func.coalesce(statement.excluded.last_correct, table.last_correct),
            "marked": statement.excluded.marked,
            "last_seen_at": statement.excluded.last_seen_at,
        },
    )


async def submit_attempt(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> AttemptResult:
    """Grade and close the attempt and return its result. Submitting again returns the same
    result; an attempt past its deadline is submitted as of the deadline."""
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id, lock=True)
    if attempt.status != AttemptStatus.SUBMITTED.value:
        await finalize_submission(db, attempt, moment, auto=is_overdue(attempt, moment))
    return result_of(attempt)


async def settle_if_overdue(db: AsyncSession, attempt: Attempt, now: datetime) -> bool:
    """Submit `attempt` if its time ran out (lazily, on any access). True when it did."""
    if not is_overdue(attempt, now):
        return False
    fresh = await locked_attempt(db, attempt.id)
    if fresh is None or not is_overdue(fresh, now):
        return False
    await finalize_submission(db, attempt, now, auto=True)
    return True


async def submit_overdue_attempts(
    db: AsyncSession, now: datetime | None = None, limit: int = OVERDUE_BATCH
) -> int:
    """Submit up to `limit` attempts whose deadline passed; returns how many."""
    moment = now_or(now)
    due = list(
        await db.scalars(
            select(Attempt.id)
            .where(
                Attempt.status == AttemptStatus.IN_PROGRESS.value,
                Attempt.deadline_at < moment - DEADLINE_GRACE,
            )
            .order_by(Attempt.deadline_at)
            .limit(limit)
        )
    )
    submitted = 0
    for attempt_id in due:
        attempt = await locked_attempt(db, attempt_id)
        if attempt is not None and is_overdue(attempt, moment):
            await finalize_submission(db, attempt, moment, auto=True)
            submitted += 1
    return submitted
