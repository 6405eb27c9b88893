"""Starting a sitting: of a quiz, or of a custom test built from the bank. The question order
and each item's option order are decided here, once, and stored."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.models import (
    Attempt,
    AttemptItem,
    AttemptKind,
    AttemptMode,
    AttemptStatus,
    QuestionPool,
    UserQuestionState,
)
from studyhall.attempts.schemas import AttemptRead, CustomTestCreate
from studyhall.attempts.service.common import OPEN_STATUSES, is_overdue, now_or
from studyhall.attempts.service.reading import attempt_view
from studyhall.attempts.service.submission import finalize_submission
from studyhall.core.errors import Conflict, ValidationFailed
from studyhall.questions import service as questions
from studyhall.questions.schemas import QuestionType, QuestionVersionRead
from studyhall.quizzes import service as quizzes
from studyhall.quizzes.schemas import FeedbackMode

# True/false keeps "True" first: shuffling two options only confuses.
_FIXED_ORDER_TYPES = frozenset({QuestionType.TRUE_FALSE})


def _option_order(version: QuestionVersionRead, shuffle: bool, rng: random.Random) -> list[str]:
    order = [option.id for option in version.options]
    if shuffle and version.type not in _FIXED_ORDER_TYPES:
        rng.shuffle(order)
    return order


def _add_items(
    db: AsyncSession,
    attempt: Attempt,
    question_ids: Sequence[uuid.UUID],
    versions: dict[uuid.UUID, QuestionVersionRead],
    shuffle_options: bool,
    rng: random.Random,
) -> list[AttemptItem]:
    """The attempt's items, in position order, added to the session."""
    items = [
        AttemptItem(
            attempt_id=attempt.id,
            position=position,
            question_id=question_id,
            question_version_id=versions[question_id].id,
            option_order=_option_order(versions[question_id], shuffle_options, rng),
        )
        for position, question_id in enumerate(question_ids)
    ]
    db.add_all(items)
    return items


def _by_version_id(
    versions: dict[uuid.UUID, QuestionVersionRead],
) -> dict[uuid.UUID, QuestionVersionRead]:
    return {version.id: version for version in versions.values()}


def _deadline(now: datetime, limit_seconds: int | None) -> datetime | None:
    return now + timedelta(seconds=limit_seconds) if limit_seconds else None


async def _one_start_at_a_time(db: AsyncSession, user_id: uuid.UUID, quiz_id: uuid.UUID) -> None:
    """Make concurrent starts of one quiz by one user take turns (a double click must find
    the first one's attempt, not create a second): a transaction-scoped advisory lock on
    PostgreSQL; on SQLite, a no-op UPDATE takes the database's write lock."""
    if db.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"attempt-start:{user_id}:{quiz_id}".encode(), digest_size=8)
        key = int.from_bytes(digest.digest(), "big", signed=True)
        await db.execute(select(func.pg_advisory_xact_lock(key)))
    else:
        await db.execute(
            update(Attempt)
            .where(Attempt.user_id == user_id, Attempt.quiz_id == quiz_id)
            .values(version=Attempt.version)
        )


async def start_quiz_attempt(
    db: AsyncSession,
    quiz_id: uuid.UUID,
    user_id: uuid.UUID,
    is_admin: bool = False,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> tuple[AttemptRead, bool]:
    """Start a sitting of a quiz, or return the one already open (so a double click does not
    use up an attempt). Returns (attempt, created).

    409 `attempts_exhausted` when the quiz's attempts allowed are used; 422
    `quiz_has_no_questions` when none of its questions is published.
    """
    moment = now_or(now)
    chooser = rng or random.SystemRandom()
    spec = await quizzes.quiz_for_attempt(db, quiz_id, user_id, is_admin)
    await _one_start_at_a_time(db, user_id, spec.id)
    open_attempt = await db.scalar(
        select(Attempt)
        .where(
            Attempt.user_id == user_id,
            Attempt.quiz_id == spec.id,
            Attempt.status.in_(OPEN_STATUSES),
        )
        .order_by(Attempt.started_at.desc())
        .limit(1)
    )
    if open_attempt is not None:
        if not is_overdue(open_attempt, moment):
            return await attempt_view(db, open_attempt, moment), False
        await finalize_submission(db, open_attempt, moment, auto=True)
    if spec.attempts_allowed is not None:
        used = await db.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.user_id == user_id, Attempt.quiz_id == spec.id)
        )
        if (used or 0) >= spec.attempts_allowed:
            raise Conflict(
                f"You have used all {spec.attempts_allowed} attempts at this quiz.",
                code="attempts_exhausted",
                extra={"attempts_allowed": spec.attempts_allowed, "attempts_used": used},
            )
    versions = await questions.get_current_versions(db, spec.question_ids)
    question_ids = [qid for qid in dict.fromkeys(spec.question_ids) if qid in versions]
    if not question_ids:
        raise ValidationFailed(
            "This quiz has no published questions yet.", code="quiz_has_no_questions"
        )
    if spec.shuffle_questions:
        chooser.shuffle(question_ids)
    attempt = Attempt(
        user_id=user_id,
        quiz_id=spec.id,
        kind=AttemptKind.QUIZ.value,
        mode=AttemptMode.STANDARD.value,
        status=AttemptStatus.IN_PROGRESS.value,
        title=spec.title,
        feedback_mode=spec.feedback_mode.value,
        pass_mark_percent=spec.pass_mark_percent,
        time_limit_seconds=spec.time_limit_seconds,
        started_at=moment,
        deadline_at=_deadline(moment, spec.time_limit_seconds),
        question_count=len(question_ids),
        max_score=float(len(question_ids)),
        settings={},
    )
    db.add(attempt)
    await db.flush()
    items = _add_items(db, attempt, question_ids, versions, spec.shuffle_options, chooser)
    await db.flush()
    return await attempt_view(db, attempt, moment, items, _by_version_id(versions)), True


IdQuery = Select[uuid.UUID]


def _pool_filters(user_id: uuid.UUID, pool: QuestionPool) -> tuple[IdQuery | None, IdQuery | None]:
    """(only_ids, exclude_ids) sub-queries of `pick_published` for a pool."""
    history = select(UserQuestionState.question_id).where(UserQuestionState.user_id == user_id)
    if pool is QuestionPool.UNUSED:
        return None, history
    if pool is QuestionPool.INCORRECT:
        return history.where(UserQuestionState.last_correct.is_(False)), None
    if pool is QuestionPool.MARKED:
        return history.where(UserQuestionState.marked.is_(True)), None
    return None, None


def _custom_title(count: int, data: CustomTestCreate) -> str:
    scope = ", ".join([*data.subjects, *data.systems])
    mode = "Tutor" if data.mode is AttemptMode.TUTOR else "Timed"
    title = f"{mode} test: {count} question{'s' if count != 1 else ''}"
    return f"{title} ({scope})"[:200] if scope else title


async def create_custom_test(
    db: AsyncSession,
    user_id: uuid.UUID,
    data: CustomTestCreate,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> AttemptRead:
    """Build and start a test of up to `data.count` published questions drawn at random from
    the pool. Fewer are used when the pool holds fewer; 422 `no_questions_available` when it
    holds none. Tutor mode shows feedback after each answer and has no time limit; timed mode
    gives `seconds_per_question` per question, enforced over the whole test."""
    moment = now_or(now)
    chooser = rng or random.SystemRandom()
    only_ids, exclude_ids = _pool_filters(user_id, data.pool)
    picked = await questions.pick_published(
        db,
        data.count,
        subjects=data.subjects,
        systems=data.systems,
        only_ids=only_ids,
        exclude_ids=exclude_ids,
    )
    versions = await questions.get_current_versions(db, picked)
    question_ids = [qid for qid in picked if qid in versions]
    if not question_ids:
        raise ValidationFailed(
            "No questions match these choices. Pick another pool, subject or system.",
            code="no_questions_available",
            extra={"pool": data.pool.value},
        )
    tutor = data.mode is AttemptMode.TUTOR
    limit = None if tutor else data.seconds_per_question * len(question_ids)
    attempt = Attempt(
        user_id=user_id,
        quiz_id=None,
        kind=AttemptKind.CUSTOM.value,
        mode=data.mode.value,
        status=AttemptStatus.IN_PROGRESS.value,
        title=_custom_title(len(question_ids), data),
        feedback_mode=(FeedbackMode.AFTER_EACH if tutor else FeedbackMode.AFTER_SUBMIT).value,
        pass_mark_percent=None,
        time_limit_seconds=limit,
        started_at=moment,
        deadline_at=_deadline(moment, limit),
        question_count=len(question_ids),
        max_score=float(len(question_ids)),
        settings={
            "requested": data.count,
            "subjects": data.subjects,
            "systems": data.systems,
            "pool": data.pool.value,
            "seconds_per_question": data.seconds_per_question,
            "shuffle_options": data.shuffle_options,
        },
    )
    db.add(attempt)
    await db.flush()
    items = _add_items(db, attempt, question_ids, versions, data.shuffle_options, chooser)
    await db.flush()
    return await attempt_view(db, attempt, moment, items, _by_version_id(versions))
