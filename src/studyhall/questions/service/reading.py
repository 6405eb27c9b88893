"""Reading the bank: one question as a viewer may see it, search, subjects, versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache
from studyhall.core.errors import NotFound
from studyhall.core.pagination import Page, PageParams, paginate, slice_page
from studyhall.questions.grading import normalize_text
from studyhall.questions.models import (
    Question,
    QuestionStatus,
    QuestionTag,
    QuestionType,
    QuestionVersion,
)
from studyhall.questions.schemas import (
    QuestionFilter,
    QuestionRead,
    QuestionSummary,
    QuestionVersionRead,
    SubjectCount,
    VersionHistoryEntry,
)
from studyhall.questions.service.common import (
    READER_CACHE_SECONDS,
    SUBJECTS_CACHE_SECONDS,
    SUBJECTS_KEY,
    Author,
    _content_of,
    _load,
    _reader_key,
    _tags_of,
    _visible_to,
    load_for_edit,
    plain_preview,
    question_tag,
    version_read,
)

# ---------------------------------------------------------------- reading


async def get_question(db: AsyncSession, question_id: uuid.UUID, actor: Author) -> QuestionRead:
    """A question as `actor` may see it. Answers are included only for its authors.

    Readers who can author nothing (students) all see the same published view, so that one is
    cached; every write to the question drops it.
    """
    if not (actor.is_admin or actor.can_author):
        return await cache.get_or_set(
            _reader_key(question_id),
            READER_CACHE_SECONDS,
            lambda: _read_question(db, question_id, actor),
            tags=[question_tag(question_id)],
        )
    return await _read_question(db, question_id, actor)


async def _read_question(db: AsyncSession, question_id: uuid.UUID, actor: Author) -> QuestionRead:
    question = await _load(db, question_id)
    if not _visible_to(actor, question):
        raise NotFound("No such question.", code="question_not_found")
    version = (
        await db.get(QuestionVersion, question.current_version_id)
        if question.current_version_id
        else None
    )
    is_editor = actor.is_admin or (actor.can_author and question.author_id == actor.id)
    current = version_read(version, question) if version else None
    if current is not None and not is_editor:
        current = hide_answers(current)
    tags = (await _tags_of(db, [question.id]))[question.id]
    return QuestionRead(
        id=question.id,
        status=QuestionStatus(question.status),
        type=QuestionType(question.type),
        subject=question.subject,
        system=question.system,
        topic=question.topic,
        tags=tags,
        difficulty=question.difficulty,
        source=question.source,
        author_id=question.author_id,
        version_count=question.version_count,
        created_at=question.created_at,
        updated_at=question.updated_at,
        current=current,
        content=_content_of(version) if version and is_editor else None,
    )


def hide_answers(version: QuestionVersionRead) -> QuestionVersionRead:
    """The version as a student sees it while answering: no correctness, no explanations."""
    return version.model_copy(
        update={
            "explanation_html": "",
            "answer": {},
            "options": [
                option.model_copy(update={"correct": False, "explanation_html": ""})
                for option in version.options
            ],
        }
    )


def _filters(query: QuestionFilter, actor: Author) -> list[Any]:
    conditions: list[Any] = []
    if actor.is_admin:
        pass
    elif actor.can_author:
        conditions.append(
            or_(Question.status == QuestionStatus.PUBLISHED.value, Question.author_id == actor.id)
        )
    else:
        conditions.append(Question.status == QuestionStatus.PUBLISHED.value)
    if query.status is not None:
        conditions.append(Question.status == query.status.value)
    if query.type is not None:
        conditions.append(Question.type == query.type.value)
    for column, value in (
        (Question.subject, query.subject),
        (Question.system, query.system),
        (Question.topic, query.topic),
    ):
        if value:
            conditions.append(column == value)
    if query.tag:
        conditions.append(
            Question.id.in_(
                select(QuestionTag.question_id).where(QuestionTag.tag == query.tag.lower())
            )
        )
    for word in normalize_text(query.text).split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Question.search_text.like(f"%{escaped}%", escape="\\"))
    return conditions


async def list_questions(
    db: AsyncSession, query: QuestionFilter, params: PageParams, actor: Author
) -> Page[QuestionSummary]:
    conditions = _filters(query, actor)
    statement = (
        select(Question, QuestionVersion.stem_html)
        .outerjoin(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(*conditions)
        .order_by(Question.updated_at.desc(), Question.id)
    )
    # Counted on the questions alone: the join adds one row (or none) to each.
    total = select(func.count()).select_from(Question).where(*conditions)

    async def summaries(rows: Sequence[Row[Question, str | None]]) -> list[QuestionSummary]:
        tags = await _tags_of(db, [question.id for question, _ in rows])
        return [
            QuestionSummary(
                id=question.id,
                status=QuestionStatus(question.status),
                type=QuestionType(question.type),
                subject=question.subject,
                system=question.system,
                topic=question.topic,
                tags=tags[question.id],
                difficulty=question.difficulty,
                stem_preview=plain_preview(stem or ""),
                updated_at=question.updated_at,
            )
            for question, stem in rows
        ]

    return await paginate(db, statement, params, summaries, total=total)


async def question_subjects(db: AsyncSession) -> list[tuple[str, str, int]]:
    """(subject, system, published question count) for building tests and filters."""
    rows = await db.execute(
        select(Question.subject, Question.system, func.count())
        .where(Question.status == QuestionStatus.PUBLISHED.value)
        .group_by(Question.subject, Question.system)
        .order_by(Question.subject, Question.system)
    )
    return [(subject, system, int(count)) for subject, system, count in rows]


async def subject_summary(db: AsyncSession, params: PageParams) -> Page[SubjectCount]:
    """`question_subjects` as a page, cached (the same for every user; writes drop it)."""

    async def load() -> list[SubjectCount]:
        return [
            SubjectCount(subject=subject, system=system, count=count)
            for subject, system, count in await question_subjects(db)
        ]

    return slice_page(await cache.get_or_set(SUBJECTS_KEY, SUBJECTS_CACHE_SECONDS, load), params)


async def list_question_versions(
    db: AsyncSession, actor: Author, question_id: uuid.UUID, params: PageParams
) -> Page[VersionHistoryEntry]:
    """A question's versions, newest first, with answers: for its authors and admins."""
    question = await load_for_edit(db, actor, question_id)
    statement = (
        select(QuestionVersion)
        .where(QuestionVersion.question_id == question.id)
        .order_by(QuestionVersion.number.desc())
    )

    def entries(versions: Sequence[QuestionVersion]) -> list[VersionHistoryEntry]:
        return [
            VersionHistoryEntry(
                **version_read(version, question).model_dump(),
                created_at=version.created_at,
                created_by=version.created_by,
            )
            for version in versions
        ]

    return await paginate(db, statement, params, entries)
