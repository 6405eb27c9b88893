"""Changing an open attempt: answers, marks, notes, auto-save with its optimistic lock, pause
and resume.

Every write takes the attempt's row lock first, so writers of one attempt queue up instead of
racing; every accepted change bumps `attempt.version`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BindParameter, ColumnElement, FromClause, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.models import Attempt, AttemptItem, AttemptStatus
from studyhall.attempts.schemas import (
    AnswerIn,
    AnswerOut,
    AttemptRead,
    ItemUpdate,
    ItemView,
    ProgressSave,
    ProgressState,
)
from studyhall.attempts.service.common import (
    AttemptClock,
    AttemptExpired,
    ItemState,
    active_seconds,
    feedback_mode,
    is_overdue,
    is_postgresql,
    item_view,
    load_attempt,
    load_items,
    no_such_item,
    now_or,
    ordered_options,
    progress_state,
    reveals_while_answering,
    take_sqlite_write_lock,
    versions_of,
)
from studyhall.attempts.service.reading import attempt_view
from studyhall.attempts.service.submission import finalize_submission
from studyhall.core.errors import Conflict, ValidationFailed
from studyhall.questions import service as questions
from studyhall.questions.schemas import QuestionVersionRead
from studyhall.quizzes.schemas import FeedbackMode

Response = dict[str, Any]


def _state_extra(attempt: Attempt, items: Sequence[AttemptItem], now: datetime) -> dict[str, Any]:
    return {"current": progress_state(attempt, items, now).model_dump(mode="json")}


async def _refuse_if_closed(
    db: AsyncSession, attempt: Attempt, now: datetime, items: Sequence[AttemptItem] | None = None
) -> None:
    """Raise unless the attempt takes changes now. An attempt past its deadline is submitted
    here (kept: see AttemptExpired) before it refuses."""
    if attempt.status == AttemptStatus.SUBMITTED.value:
        extra = _state_extra(attempt, items, now) if items is not None else {}
        if attempt.auto_submitted:
            raise AttemptExpired(
                "Time ran out and the attempt was submitted automatically.", extra=extra
            )
        raise Conflict("This attempt was already submitted.", code="attempt_submitted", extra=extra)
    if is_overdue(attempt, now):
        await finalize_submission(db, attempt, now, auto=True)
        extra = _state_extra(attempt, items, now) if items is not None else {}
        raise AttemptExpired(
            "Time ran out: the answer was not saved and the attempt was submitted.", extra=extra
        )


def _refuse_if_paused(attempt: Attempt, now: datetime, items: Sequence[AttemptItem] | None) -> None:
    if attempt.status == AttemptStatus.PAUSED.value:
        extra = _state_extra(attempt, items, now) if items is not None else {}
        raise Conflict(
            "The attempt is paused; resume it to continue.", code="attempt_paused", extra=extra
        )


def _cleaned(
    version: QuestionVersionRead, item: ItemState, response: Response | None
) -> Response | None:
    """The response in one canonical form (so equal answers compare equal): None when
    empty, chosen options once each in the attempt's order. 422 `invalid_response` when it
    does not fit the question."""
    if not questions.is_answered(response):
        return None
    assert response is not None
    if not questions.valid_response_shape(version, response):
        raise ValidationFailed(
            f"The answer to question {item.position + 1} does not fit the question.",
            code="invalid_response",
            extra={"position": item.position},
        )
    if "choices" in response:
        chosen = set(response["choices"])
        return {"choices": [o for o in ordered_options(version, item.option_order) if o in chosen]}
    return response


def _capped_seconds(attempt: AttemptClock, item: ItemState, sent: int, now: datetime) -> int:
    """Running totals only grow, and no item took longer than the attempt has run."""
    return max(item.time_spent_seconds, min(sent, active_seconds(attempt, now)))


class _Answerable(Protocol):
    """An item whose answer changes: an `AttemptItem` or an `_ItemRow`."""

    response: Response | None
    answered_at: datetime | None
    locked: bool


def _lock_if_feedback_shows(attempt: AttemptClock, item: _Answerable) -> None:
    if feedback_mode(attempt) is FeedbackMode.AFTER_EACH and item.response is not None:
        item.locked = True


def _set_response(item: _Answerable, response: Response | None, now: datetime) -> None:
    item.response = response
    item.answered_at = now if response is not None else None


def _count_answered(items: Sequence[AttemptItem]) -> int:
    return sum(1 for item in items if item.response is not None)


# ---------------------------------------------------------------- one item
#
# The hottest writes: one query reads and locks the attempt and the item, a plain UPDATE per
# row writes them back; no ORM objects. Refusals go the way every other writer goes.

_attempts = Attempt.metadata.tables[Attempt.__tablename__]
_items = AttemptItem.metadata.tables[AttemptItem.__tablename__]


@dataclass
class _AttemptRow:
    """The fields of a locked attempt that changing one item reads or writes."""

    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    feedback_mode: str
    started_at: datetime
    deadline_at: datetime | None
    paused_at: datetime | None
    paused_seconds: int
    answered_count: int
    position: int
    version: int


@dataclass
class _ItemRow:
    """The fields of an item that changing it reads or writes."""

    id: uuid.UUID
    position: int
    question_id: uuid.UUID
    question_version_id: uuid.UUID
    option_order: list[str]
    response: Response | None
    answered_at: datetime | None
    marked: bool
    note: str
    time_spent_seconds: int
    locked: bool


def _columns_of(table: FromClause, row_type: type[Any]) -> list[ColumnElement[Any]]:
    return [table.c[column.name] for column in fields(row_type)]


_ATTEMPT_FIELDS = len(fields(_AttemptRow))

# Built once. FOR UPDATE OF both rows, the attempt's first (the lock every writer takes), then
# the item's: after waiting for a lock PostgreSQL re-reads only the rows it locks, so the item
# too reads as the writer that held the lock left it.
_LOCKED_ATTEMPT_AND_ITEM = (
    select(*_columns_of(_attempts, _AttemptRow), *_columns_of(_items, _ItemRow))
    .join_from(_attempts, _items, _items.c.attempt_id == _attempts.c.id)
    .where(_attempts.c.id == bindparam("attempt_id"), _items.c.position == bindparam("position"))
    .with_for_update(of=(_attempts, _items))
)


def _typed_param(name: str, column: ColumnElement[Any]) -> BindParameter[Any]:
    return bindparam(name, type_=column.type)


_WRITE_ITEM = (
    update(_items)
    .where(_items.c.id == bindparam("item_id"))
    .values(
        {
            name: _typed_param(f"new_{name}", _items.c[name])
            for name in (
                "response",
                "answered_at",
                "locked",
                "marked",
                "note",
                "time_spent_seconds",
            )
        }
    )
)
# `updated_at` follows by its column's onupdate.
_WRITE_ATTEMPT = (
    update(_attempts)
    .where(_attempts.c.id == bindparam("attempt_id"))
    .values(
        {
            name: _typed_param(f"new_{name}", _attempts.c[name])
            for name in ("answered_count", "position", "version")
        }
    )
)


async def _locked_attempt_and_item(
    db: AsyncSession, attempt_id: uuid.UUID, position: int
) -> tuple[_AttemptRow, _ItemRow] | None:
    """The attempt, locked as `locked_attempt` locks it, and its item at `position`; None when
    either is missing (then PostgreSQL locked nothing)."""
    if not is_postgresql(db):
        await take_sqlite_write_lock(db, attempt_id)
    result = await db.execute(
        _LOCKED_ATTEMPT_AND_ITEM, {"attempt_id": attempt_id, "position": position}
    )
    row = result.first()
    if row is None:
        return None
    return _AttemptRow(*row[:_ATTEMPT_FIELDS]), _ItemRow(*row[_ATTEMPT_FIELDS:])


def _takes_changes(attempt: _AttemptRow, user_id: uuid.UUID, now: datetime) -> bool:
    """The user's attempt, in progress and within its time."""
    return (
        attempt.user_id == user_id
        and attempt.status == AttemptStatus.IN_PROGRESS.value
        and not is_overdue(attempt, now)
    )


async def _open_attempt_and_item(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, position: int, now: datetime
) -> tuple[_AttemptRow, _ItemRow]:
    """The locked attempt and its item at `position`, if the attempt takes changes now;
    otherwise the refusal its state calls for (see `_refuse_if_closed`)."""
    found = await _locked_attempt_and_item(db, attempt_id, position)
    if found is not None and _takes_changes(found[0], user_id, now):
        return found
    # Checked as every writer checks: these raise unless only the item is missing.
    attempt = await load_attempt(db, attempt_id, user_id, lock=True)
    await _refuse_if_closed(db, attempt, now)
    _refuse_if_paused(attempt, now, None)
    raise no_such_item()


async def _write_back(
    db: AsyncSession, attempt: _AttemptRow, item: _ItemRow, item_changed: bool
) -> None:
    if item_changed:
        await db.execute(
            _WRITE_ITEM,
            {
                "item_id": item.id,
                "new_response": item.response,
                "new_answered_at": item.answered_at,
                "new_locked": item.locked,
                "new_marked": item.marked,
                "new_note": item.note,
                "new_time_spent_seconds": item.time_spent_seconds,
            },
        )
    await db.execute(
        _WRITE_ATTEMPT,
        {
            "attempt_id": attempt.id,
            "new_answered_count": attempt.answered_count,
            "new_position": attempt.position,
            "new_version": attempt.version,
        },
    )
    await _refresh_held_copies(db, attempt.id, item.id)


async def _refresh_held_copies(db: AsyncSession, attempt_id: uuid.UUID, item_id: uuid.UUID) -> None:
    """Plain UPDATEs leave ORM objects of these rows stale: refresh those this session already
    holds (only if the caller loaded them before; requests do not)."""
    for model, row_id in ((Attempt, attempt_id), (AttemptItem, item_id)):
        held = db.identity_map.get(db.identity_key(model, row_id))
        if held is not None:
            await db.refresh(held)


async def answer_item(
    db: AsyncSession,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    position: int,
    data: AnswerIn,
    now: datetime | None = None,
) -> AnswerOut:
    """Answer, change or clear (None) the answer at `position`. In tutor mode and
    `after_each` quizzes an answer locks the item and the result carries its feedback.

    409: `attempt_paused`, `attempt_submitted`, `attempt_expired` (past the deadline: refused,
    and the attempt is submitted), `item_locked`. 422 `invalid_response`."""
    moment = now_or(now)
    attempt, item = await _open_attempt_and_item(db, attempt_id, user_id, position, moment)
    version = (await versions_of(db, [item]))[item.question_version_id]
    response = _cleaned(version, item, data.response)
    before = replace(item)
    if item.locked:
        if response != item.response:
            raise Conflict(
                "This answer was already checked and can no longer change.", code="item_locked"
            )
    else:
        was_answered = item.response is not None
        _set_response(item, response, moment)
        attempt.answered_count += int(response is not None) - int(was_answered)
        _lock_if_feedback_shows(attempt, item)
    if data.time_spent_seconds is not None:
        item.time_spent_seconds = _capped_seconds(attempt, item, data.time_spent_seconds, moment)
    attempt.position = position
    attempt.version += 1
    await _write_back(db, attempt, item, item_changed=item != before)
    return AnswerOut(
        item=item_view(item, version, reveal=reveals_while_answering(attempt, item)),
        version=attempt.version,
        answered_count=attempt.answered_count,
    )


async def update_item(
    db: AsyncSession,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    position: int,
    data: ItemUpdate,
    now: datetime | None = None,
) -> ItemView:
    """Mark/unmark the item or change its note (allowed on locked items too)."""
    moment = now_or(now)
    attempt, item = await _open_attempt_and_item(db, attempt_id, user_id, position, moment)
    if data.marked is not None:
        item.marked = data.marked
    if data.note is not None:
        item.note = data.note
    attempt.version += 1
    await _write_back(db, attempt, item, item_changed=True)
    version = (await versions_of(db, [item]))[item.question_version_id]
    return item_view(item, version, reveal=reveals_while_answering(attempt, item))


# ---------------------------------------------------------------- auto-save


@dataclass
class _Changes:
    """What a save would change. `content` (answers, marks, notes) decides conflicts;
    position and time only follow along."""

    answers: dict[int, Response | None] = field(default_factory=dict)
    marks: dict[int, bool] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)
    time_spent: dict[int, int] = field(default_factory=dict)
    position: int | None = None

    @property
    def content(self) -> bool:
        return bool(self.answers or self.marks or self.notes)

    @property
    def anything(self) -> bool:
        return self.content or bool(self.time_spent) or self.position is not None


async def _changes_of(
    db: AsyncSession,
    attempt: Attempt,
    by_position: dict[int, AttemptItem],
    data: ProgressSave,
    now: datetime,
) -> _Changes:
    unknown = sorted(
        (set(data.answers) | set(data.marks) | set(data.notes) | set(data.time_spent))
        - set(by_position)
    )
    if unknown or (data.position is not None and data.position not in by_position):
        raise ValidationFailed(
            "The save names questions this attempt does not have.",
            code="unknown_position",
            extra={"positions": unknown or [data.position]},
        )
    answered_items = [by_position[p] for p in data.answers]
    versions = await versions_of(db, answered_items) if answered_items else {}
    changes = _Changes()
    for position, sent in data.answers.items():
        item = by_position[position]
        response = _cleaned(versions[item.question_version_id], item, sent)
        # A locked item keeps its checked answer; the returned state shows it.
        if not item.locked and response != item.response:
            changes.answers[position] = response
    for position, marked in data.marks.items():
        if by_position[position].marked != marked:
            changes.marks[position] = marked
    for position, note in data.notes.items():
        if by_position[position].note != note:
            changes.notes[position] = note
    for position, seconds in data.time_spent.items():
        item = by_position[position]
        capped = _capped_seconds(attempt, item, seconds, now)
        if capped != item.time_spent_seconds:
            changes.time_spent[position] = capped
    if data.position is not None and data.position != attempt.position:
        changes.position = data.position
    return changes


def _apply(
    attempt: Attempt,
    by_position: dict[int, AttemptItem],
    changes: _Changes,
    now: datetime,
) -> None:
    for position, response in changes.answers.items():
        item = by_position[position]
        _set_response(item, response, now)
        _lock_if_feedback_shows(attempt, item)
    for position, marked in changes.marks.items():
        by_position[position].marked = marked
    for position, note in changes.notes.items():
        by_position[position].note = note
    for position, seconds in changes.time_spent.items():
        by_position[position].time_spent_seconds = seconds
    if changes.position is not None:
        attempt.position = changes.position
    attempt.answered_count = _count_answered(list(by_position.values()))
    attempt.version += 1


async def _save(
    db: AsyncSession, attempt: Attempt, data: ProgressSave, now: datetime
) -> ProgressState:
    """Apply an auto-save to a locked, open attempt (see `save_progress`)."""
    items = await load_items(db, attempt.id)
    by_position = {item.position: item for item in items}
    changes = await _changes_of(db, attempt, by_position, data, now)
    if data.version != attempt.version:
        # A repeat of a save already applied (or one that adds nothing) loses nothing.
        if not changes.content:
            return progress_state(attempt, items, now)
        raise Conflict(
            "The attempt changed since this save's version; merge and save again.",
            code="stale_version",
            extra=_state_extra(attempt, items, now),
        )
    if attempt.status == AttemptStatus.PAUSED.value:
        if changes.content:
            _refuse_if_paused(attempt, now, items)
        return progress_state(attempt, items, now)
    if changes.anything:
        _apply(attempt, by_position, changes, now)
        await db.flush()
    return progress_state(attempt, items, now)


async def save_progress(
    db: AsyncSession,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    data: ProgressSave,
    now: datetime | None = None,
) -> ProgressState:
    """Auto-save. `data.version` must be the attempt's current version (optimistic lock):
    otherwise 409 `stale_version` carrying the current state in `current`, unless the save
    changes no answer, mark or note (e.g. a repeat of a save already applied): that answers
    the current state. Answers to locked items are ignored (the state shows the kept one).

    409 also for `attempt_paused` (only when the save changes something), `attempt_submitted`,
    `attempt_expired` (the attempt is submitted); 422 `unknown_position`, `invalid_response`.
    """
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id, lock=True)
    if attempt.status == AttemptStatus.SUBMITTED.value or is_overdue(attempt, moment):
        await _refuse_if_closed(db, attempt, moment, await load_items(db, attempt.id))
    return await _save(db, attempt, data, moment)


# ---------------------------------------------------------------- pause, resume, submit


async def pause_attempt(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> AttemptRead:
    """Stop the clock: the deadline moves later by the paused time on resume. Pausing a
    paused attempt changes nothing."""
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id, lock=True)
    await _refuse_if_closed(db, attempt, moment)
    if attempt.status == AttemptStatus.IN_PROGRESS.value:
        attempt.status = AttemptStatus.PAUSED.value
        attempt.paused_at = moment
        attempt.version += 1
        await db.flush()
    return await attempt_view(db, attempt, moment)


async def resume_attempt(
    db: AsyncSession, attempt_id: uuid.UUID, user_id: uuid.UUID, now: datetime | None = None
) -> AttemptRead:
    """Restart the clock, moving the deadline by the time spent paused."""
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id, lock=True)
    await _refuse_if_closed(db, attempt, moment)
    if attempt.status == AttemptStatus.PAUSED.value:
        await _unpause(db, attempt, moment)
        attempt.version += 1
        await db.flush()
    return await attempt_view(db, attempt, moment)


async def prepare_submit(
    db: AsyncSession,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    progress: ProgressSave | None,
    now: datetime | None = None,
) -> bool:
    """The first half of a submit: apply the player's final save (same rules as auto-save)
    and report whether the attempt is already submitted (True) — including just now, because
    its time ran out. Lets the API rate-limit only real submissions, after the answers are
    safe."""
    moment = now_or(now)
    attempt = await load_attempt(db, attempt_id, user_id, lock=True)
    if attempt.status == AttemptStatus.SUBMITTED.value:
        return True
    if is_overdue(attempt, moment):
        await finalize_submission(db, attempt, moment, auto=True)
        return True
    if progress is not None:
        if attempt.status == AttemptStatus.PAUSED.value:
            # Submitting ends the pause; the final answers count.
            await _unpause(db, attempt, moment)
        await _save(db, attempt, progress, moment)
    return False


async def _unpause(db: AsyncSession, attempt: Attempt, now: datetime) -> None:
    """Back to in progress, the deadline moved by the paused time."""
    if attempt.paused_at is not None:
        paused = max(now - attempt.paused_at, timedelta(0))
        if attempt.deadline_at is not None:
            attempt.deadline_at += paused
        attempt.paused_seconds += int(paused.total_seconds())
    attempt.paused_at = None
    attempt.status = AttemptStatus.IN_PROGRESS.value
    await db.flush()
