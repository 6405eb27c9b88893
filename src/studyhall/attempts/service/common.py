"""What every attempt operation shares: loading with ownership, the clock, the feedback rules
and the views of items."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.models import Attempt, AttemptItem, AttemptStatus
from studyhall.attempts.schemas import AttemptResult, ItemView, ProgressState
from studyhall.core.db import utcnow
from studyhall.core.errors import Conflict, NotFound
from studyhall.questions import service as questions
from studyhall.questions.schemas import QuestionType, QuestionVersionRead
from studyhall.quizzes.schemas import FeedbackMode

# A save sent just before the deadline may arrive just after it.
DEADLINE_GRACE = timedelta(seconds=2)
OPEN_STATUSES = (AttemptStatus.IN_PROGRESS.value, AttemptStatus.PAUSED.value)


class AttemptExpired(Conflict):
    """The time limit passed; the attempt was submitted automatically.

    Often raised right after that automatic submission was flushed: `commit_anyway` keeps it
    although the request is refused.
    """

    code, title = "attempt_expired", "Time is up"
    commit_anyway = True


class AttemptClock(Protocol):
    """What the clock and feedback rules read of an attempt: an `Attempt`, or a plain copy
    of the row's fields (the answer path reads no more)."""

    @property
    def status(self) -> str: ...
    @property
    def feedback_mode(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def deadline_at(self) -> datetime | None: ...
    @property
    def paused_at(self) -> datetime | None: ...
    @property
    def paused_seconds(self) -> int: ...


class ItemState(Protocol):
    """What an item's view reads: an `AttemptItem`, or a plain copy of the row's fields."""

    @property
    def position(self) -> int: ...
    @property
    def question_id(self) -> uuid.UUID: ...
    @property
    def question_version_id(self) -> uuid.UUID: ...
    @property
    def option_order(self) -> Sequence[str]: ...
    @property
    def response(self) -> dict[str, Any] | None: ...
    @property
    def marked(self) -> bool: ...
    @property
    def note(self) -> str: ...
    @property
    def time_spent_seconds(self) -> int: ...
    @property
    def locked(self) -> bool: ...


def now_or(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def is_postgresql(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


async def take_sqlite_write_lock(db: AsyncSession, attempt_id: uuid.UUID) -> None:
    """SQLite has no row locks and reads outside a write transaction, so a no-op UPDATE
    takes the database's write lock: whatever is read after it cannot change before this
    transaction ends."""
    await db.execute(
        update(Attempt).where(Attempt.id == attempt_id).values(version=Attempt.version)
    )


async def locked_attempt(db: AsyncSession, attempt_id: uuid.UUID) -> Attempt | None:
    """Load the attempt holding the lock that makes its writers take turns, fresh from the
    database. PostgreSQL: a row lock; SQLite: see `take_sqlite_write_lock`."""
    query = select(Attempt).where(Attempt.id == attempt_id)
    if is_postgresql(db):
        query = query.with_for_update()
    else:
        await take_sqlite_write_lock(db, attempt_id)
    return await db.scalar(query.execution_options(populate_existing=True))


async def load_attempt(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> Attempt:
    """The attempt, if it belongs to `user_id` (anyone else gets the same 404 as a missing
    one). `lock` (every writer) makes writers of one attempt take turns: see
    `locked_attempt`."""
    if lock:
        attempt = await locked_attempt(db, attempt_id)
    else:
        attempt = await db.scalar(select(Attempt).where(Attempt.id == attempt_id))
    if attempt is None or attempt.user_id != user_id:
        raise NotFound("No such attempt.", code="attempt_not_found")
    return attempt


async def load_items(db: AsyncSession, attempt_id: uuid.UUID) -> list[AttemptItem]:
    return list(
        await db.scalars(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt_id)
            .order_by(AttemptItem.position)
        )
    )


async def load_item(db: AsyncSession, attempt_id: uuid.UUID, position: int) -> AttemptItem:
    item = await db.scalar(
        select(AttemptItem).where(
            AttemptItem.attempt_id == attempt_id, AttemptItem.position == position
        )
    )
    if item is None:
        raise no_such_item()
    return item


def no_such_item() -> NotFound:
    return NotFound("The attempt has no question at this position.", code="item_not_found")


async def versions_of(
    db: AsyncSession, items: Sequence[ItemState]
) -> dict[uuid.UUID, QuestionVersionRead]:
    return await questions.get_versions(db, [item.question_version_id for item in items])


def is_overdue(attempt: AttemptClock, now: datetime) -> bool:
    """Running past its deadline (a paused attempt's clock is stopped)."""
    return (
        attempt.status == AttemptStatus.IN_PROGRESS.value
        and attempt.deadline_at is not None
        and now > attempt.deadline_at + DEADLINE_GRACE
    )


def remaining_seconds(attempt: AttemptClock, now: datetime) -> int | None:
    if attempt.deadline_at is None:
        return None
    if attempt.status == AttemptStatus.SUBMITTED.value:
        return 0
    reference = attempt.paused_at if attempt.paused_at is not None else now
    return max(0, math.ceil((attempt.deadline_at - reference).total_seconds()))


def feedback_mode(attempt: AttemptClock) -> FeedbackMode:
    return FeedbackMode(attempt.feedback_mode)


def reveals_while_answering(attempt: AttemptClock, item: ItemState) -> bool:
    """Tutor mode and `after_each` quizzes show an item's feedback once it is answered."""
    return feedback_mode(attempt) is FeedbackMode.AFTER_EACH and item.locked


def reveals_in_review(attempt: AttemptClock) -> bool:
    return (
        attempt.status == AttemptStatus.SUBMITTED.value
        and feedback_mode(attempt) is not FeedbackMode.NEVER
    )


def _feedback_fields(
    version: QuestionVersionRead, response: dict[str, object] | None
) -> dict[str, Any]:
    """An `ItemFeedback`, unvalidated (see `item_fields`)."""
    graded = questions.grade(version, response)
    numeric = version.answer if version.type is QuestionType.NUMERICAL else {}
    return {
        "answered": graded.answered,
        "is_correct": graded.is_correct,
        "correct_option_ids": [option.id for option in version.options if option.correct],
        "accepted_answers": [str(a) for a in version.answer.get("accepted", [])],
        "numeric_value": float(numeric["value"]) if "value" in numeric else None,
        "numeric_tolerance": (float(numeric.get("tolerance", 0.0)) if "value" in numeric else None),
        "explanation_html": version.explanation_html,
    }


def ordered_options(version: QuestionVersionRead, order: Sequence[str]) -> list[str]:
    """Option ids in the attempt's order; any the stored order lacks go last."""
    known = {option.id for option in version.options}
    ids = [option_id for option_id in order if option_id in known]
    listed = set(ids)
    return ids + [option.id for option in version.options if option.id not in listed]


def item_fields(item: ItemState, version: QuestionVersionRead, reveal: bool) -> dict[str, Any]:
    """An `ItemView` as plain data: views of many items validate them all in one go (much
    cheaper than a model per item and option). What `item_view` shows."""
    by_id = {option.id: option for option in version.options}
    options = [
        {
            "id": option_id,
            "text_html": by_id[option_id].text_html,
            "correct": by_id[option_id].correct if reveal else None,
            "explanation_html": by_id[option_id].explanation_html if reveal else "",
        }
        for option_id in ordered_options(version, item.option_order)
    ]
    return {
        "position": item.position,
        "question_id": item.question_id,
        "question_version_id": item.question_version_id,
        "type": version.type,
        "stem_html": version.stem_html,
        "options": options,
        "response": item.response,
        "answered": questions.is_answered(item.response),
        "marked": item.marked,
        "note": item.note,
        "time_spent_seconds": item.time_spent_seconds,
        "locked": item.locked,
        "feedback": _feedback_fields(version, item.response) if reveal else None,
    }


def item_view(item: ItemState, version: QuestionVersionRead, reveal: bool) -> ItemView:
    """An item as the student may see it: options in the attempt's order; correctness,
    correct answers and explanations only when `reveal`."""
    return ItemView.model_validate(item_fields(item, version, reveal))


def result_of(attempt: Attempt) -> AttemptResult:
    submitted = attempt.status == AttemptStatus.SUBMITTED.value
    return AttemptResult(
        attempt_id=attempt.id,
        status=AttemptStatus(attempt.status),
        title=attempt.title,
        quiz_id=attempt.quiz_id,
        question_count=attempt.question_count,
        answered_count=attempt.answered_count,
        correct_count=attempt.correct_count if submitted else 0,
        score=attempt.score if submitted else 0.0,
        max_score=attempt.max_score,
        percent=attempt.percent if submitted else None,
        passed=attempt.passed if submitted else None,
        pass_mark_percent=attempt.pass_mark_percent,
        submitted_at=attempt.submitted_at,
        auto_submitted=attempt.auto_submitted,
        time_spent_seconds=attempt.time_spent_seconds,
    )


def progress_state(attempt: Attempt, items: Sequence[AttemptItem], now: datetime) -> ProgressState:
    return ProgressState(
        attempt_id=attempt.id,
        status=AttemptStatus(attempt.status),
        version=attempt.version,
        position=attempt.position,
        answers={item.position: item.response for item in items},
        marks={item.position: item.marked for item in items},
        notes={item.position: item.note for item in items},
        time_spent={item.position: item.time_spent_seconds for item in items},
        locked=[item.position for item in items if item.locked],
        answered_count=attempt.answered_count,
        deadline_at=attempt.deadline_at,
        remaining_seconds=remaining_seconds(attempt, now),
    )


def active_seconds(attempt: AttemptClock, until: datetime) -> int:
    """Seconds the attempt ran until `until`, paused time excluded."""
    paused = attempt.paused_seconds
    if attempt.paused_at is not None and until > attempt.paused_at:
        paused += int((until - attempt.paused_at).total_seconds())
    elapsed = int((until - attempt.started_at).total_seconds()) - paused
    return max(0, elapsed)
