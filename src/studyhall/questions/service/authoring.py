"""Writing questions: create, edit (new versions once published), publish, archive."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.errors import Conflict
from studyhall.core.events import emit
from studyhall.questions.events import QuestionPublished
from studyhall.questions.models import (
    Question,
    QuestionStatus,
    QuestionVersion,
)
from studyhall.questions.schemas import (
    QuestionCreate,
    QuestionRead,
    QuestionUpdate,
)
from studyhall.questions.service.common import (
    Author,
    _apply_meta,
    _require_author,
    _set_tags,
    fill_version,
    forget_question,
    load_for_edit,
    render_content_off_loop,
    search_text_of,
)
from studyhall.questions.service.reading import get_question


async def create_question(db: AsyncSession, actor: Author, data: QuestionCreate) -> QuestionRead:
    """A new draft with its first version."""
    _require_author(actor)
    question = Question(author_id=actor.id, status=QuestionStatus.DRAFT.value, version_count=1)
    _apply_meta(question, data)
    db.add(question)
    await db.flush()
    version = QuestionVersion(question_id=question.id, number=1, created_by=actor.id)
    fill_version(version, data, await render_content_off_loop(data))
    db.add(version)
    await db.flush()
    question.current_version_id = version.id
    question.search_text = search_text_of(data, data.tags, question)
    await _set_tags(db, question, data.tags)
    await db.flush()
    return await get_question(db, question.id, actor)


async def update_question(
    db: AsyncSession, actor: Author, question_id: uuid.UUID, data: QuestionUpdate
) -> QuestionRead:
    """Replace content and metadata. Drafts change in place; a published question gets a new
    version, so attempts that showed the old one keep it."""
    question = await load_for_edit(db, actor, question_id)
    current = (
        await db.get(QuestionVersion, question.current_version_id)
        if question.current_version_id
        else None
    )
    rendered = await render_content_off_loop(data)
    if question.status == QuestionStatus.DRAFT.value and current is not None:
        fill_version(current, data, rendered)
    else:
        question.version_count += 1
        current = QuestionVersion(
            question_id=question.id, number=question.version_count, created_by=actor.id
        )
        fill_version(current, data, rendered)
        db.add(current)
        await db.flush()
        question.current_version_id = current.id
        if question.status == QuestionStatus.PUBLISHED.value:
            _announce_published(db, question, current)
    _apply_meta(question, data)
    question.search_text = search_text_of(data, data.tags, question)
    await _set_tags(db, question, data.tags)
    await db.flush()
    await forget_question(db, question.id)
    return await get_question(db, question.id, actor)


async def publish_question(db: AsyncSession, actor: Author, question_id: uuid.UUID) -> QuestionRead:
    question = await load_for_edit(db, actor, question_id)
    if question.status != QuestionStatus.PUBLISHED.value and question.current_version_id:
        current = await db.get(QuestionVersion, question.current_version_id)
        if current is not None:
            _announce_published(db, question, current)
    question.status = QuestionStatus.PUBLISHED.value
    await db.flush()
    await forget_question(db, question.id)
    return await get_question(db, question.id, actor)


def _announce_published(db: AsyncSession, question: Question, version: QuestionVersion) -> None:
    emit(
        db,
        QuestionPublished(
            question_id=question.id,
            version_id=version.id,
            version_number=version.number,
            author_id=question.author_id,
        ),
    )


async def archive_question(db: AsyncSession, actor: Author, question_id: uuid.UUID) -> QuestionRead:
    """Withdraw from students and new tests; existing attempts keep their versions."""
    question = await load_for_edit(db, actor, question_id)
    if question.status == QuestionStatus.DRAFT.value:
        raise Conflict("Drafts are not published; delete or publish them.", code="not_published")
    question.status = QuestionStatus.ARCHIVED.value
    await db.flush()
    await forget_question(db, question.id)
    return await get_question(db, question.id, actor)
