"""The ordered questions of a quiz: checks against the bank, and add / remove / reorder."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.errors import Conflict, NotFound, ValidationFailed
from studyhall.questions import service as questions
from studyhall.quizzes.models import Quiz, QuizQuestion, QuizStatus
from studyhall.quizzes.schemas import MAX_QUIZ_QUESTIONS, QuizQuestionItem
from studyhall.quizzes.service.access import load_for_editing, quiz_changed
from studyhall.quizzes.service.common import Actor

_TAG = re.compile(r"<[^>]+>")
PREVIEW_CHARS = 160


async def question_ids_of(db: AsyncSession, quiz_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        await db.scalars(
            select(QuizQuestion.question_id)
            .where(QuizQuestion.quiz_id == quiz_id)
            .order_by(QuizQuestion.position)
        )
    )


async def unpublished_among(db: AsyncSession, question_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Those of `question_ids` that are not (or no longer) published in the bank."""
    published = await questions.get_current_versions(db, question_ids, published_only=True)
    return [qid for qid in question_ids if qid not in published]


async def check_new_questions(
    db: AsyncSession, question_ids: Sequence[uuid.UUID], already: set[uuid.UUID]
) -> None:
    """Refuse a question list with repeats, more than the maximum, or new questions that are
    unknown or unpublished (questions already in the quiz may stay while archived)."""
    if len(set(question_ids)) != len(question_ids):
        raise ValidationFailed("A question can be in a quiz only once.", code="duplicate_question")
    if len(question_ids) > MAX_QUIZ_QUESTIONS:
        raise ValidationFailed(
            f"A quiz holds at most {MAX_QUIZ_QUESTIONS} questions (an attempt shows no more); "
            "split it into several quizzes.",
            code="too_many_questions",
        )
    new = [qid for qid in question_ids if qid not in already]
    if not new:
        return
    existing = await questions.get_current_versions(db, new, published_only=False)
    if unknown := [qid for qid in new if qid not in existing]:
        raise ValidationFailed(
            "Some questions do not exist.",
            code="unknown_question",
            extra={"question_ids": [str(qid) for qid in unknown]},
        )
    if unpublished := await unpublished_among(db, new):
        raise ValidationFailed(
            "Only published questions can be added to a quiz.",
            code="question_not_published",
            extra={"question_ids": [str(qid) for qid in unpublished]},
        )


async def write_order(db: AsyncSession, quiz: Quiz, question_ids: Sequence[uuid.UUID]) -> None:
    """Replace the quiz's question list with `question_ids`, positions 0..n-1."""
    await db.execute(delete(QuizQuestion).where(QuizQuestion.quiz_id == quiz.id))
    if question_ids:
        await db.execute(
            insert(QuizQuestion),
            [
                {"quiz_id": quiz.id, "question_id": qid, "position": position}
                for position, qid in enumerate(question_ids)
            ],
        )
    quiz.question_count = len(question_ids)


def _preview(stem_html: str) -> str:
    text = " ".join(html.unescape(_TAG.sub(" ", stem_html)).split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


async def _items(db: AsyncSession, question_ids: Sequence[uuid.UUID]) -> list[QuizQuestionItem]:
    versions = await questions.get_current_versions(db, question_ids, published_only=False)
    unpublished = set(await unpublished_among(db, question_ids))
    items: list[QuizQuestionItem] = []
    for position, qid in enumerate(question_ids):
        version = versions.get(qid)
        items.append(
            QuizQuestionItem(
                question_id=qid,
                position=position,
                type=version.type.value if version else "",
                stem_preview=_preview(version.stem_html) if version else "",
                subject=version.subject if version else "",
                system=version.system if version else "",
                published=qid not in unpublished,
            )
        )
    return items


async def _save(
    db: AsyncSession, quiz: Quiz, question_ids: list[uuid.UUID]
) -> list[QuizQuestionItem]:
    if not question_ids and quiz.status == QuizStatus.PUBLISHED.value:
        raise Conflict(
            "A published quiz needs at least one question; unpublish it first.",
            code="quiz_has_no_questions",
        )
    await write_order(db, quiz, question_ids)
    await quiz_changed(db, quiz)
    return await _items(db, question_ids)


async def quiz_questions(
    db: AsyncSession, actor: Actor, quiz_id: uuid.UUID
) -> list[QuizQuestionItem]:
    """The quiz's questions in order, for its editors only (never cached: authors want to see
    the bank's latest wording)."""
    quiz = await load_for_editing(db, actor, quiz_id)
    return await _items(db, await question_ids_of(db, quiz.id))


async def set_quiz_questions(
    db: AsyncSession, actor: Actor, quiz_id: uuid.UUID, question_ids: Sequence[uuid.UUID]
) -> list[QuizQuestionItem]:
    """Replace the list: adds, removes and reorders in one go."""
    quiz = await load_for_editing(db, actor, quiz_id)
    current = await question_ids_of(db, quiz.id)
    wanted = list(question_ids)
    await check_new_questions(db, wanted, already=set(current))
    return await _save(db, quiz, wanted)


async def add_quiz_question(
    db: AsyncSession,
    actor: Actor,
    quiz_id: uuid.UUID,
    question_id: uuid.UUID,
    position: int | None = None,
) -> list[QuizQuestionItem]:
    """Insert a published question at `position` (0-based; default and past the end: last)."""
    quiz = await load_for_editing(db, actor, quiz_id)
    current = await question_ids_of(db, quiz.id)
    if question_id in current:
        raise Conflict("That question is already in this quiz.", code="duplicate_question")
    at = len(current) if position is None else min(position, len(current))
    wanted = [*current[:at], question_id, *current[at:]]
    await check_new_questions(db, wanted, already=set(current))
    return await _save(db, quiz, wanted)


async def remove_quiz_question(
    db: AsyncSession, actor: Actor, quiz_id: uuid.UUID, question_id: uuid.UUID
) -> list[QuizQuestionItem]:
    quiz = await load_for_editing(db, actor, quiz_id)
    current = await question_ids_of(db, quiz.id)
    if question_id not in current:
        raise NotFound("That question is not in this quiz.", code="question_not_in_quiz")
    return await _save(db, quiz, [qid for qid in current if qid != question_id])


async def move_quiz_question(
    db: AsyncSession, actor: Actor, quiz_id: uuid.UUID, question_id: uuid.UUID, position: int
) -> list[QuizQuestionItem]:
    """Move a question to `position` (0-based; past the end: last)."""
    quiz = await load_for_editing(db, actor, quiz_id)
    current = await question_ids_of(db, quiz.id)
    if question_id not in current:
        raise NotFound("That question is not in this quiz.", code="question_not_in_quiz")
    rest = [qid for qid in current if qid != question_id]
    at = max(0, min(position, len(rest)))
    return await _save(db, quiz, [*rest[:at], question_id, *rest[at:]])
