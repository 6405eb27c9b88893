"""Quizzes: authoring, publishing, reading (cached), and the spec attempts start from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache
from studyhall.core.errors import Conflict, NotFound, ValidationFailed
from studyhall.core.markdown import render_markdown_off_loop
from studyhall.core.pagination import Page, PageParams, page_of, paginate
from studyhall.quizzes.models import Category, FeedbackMode, Quiz, QuizQuestion, QuizStatus
from studyhall.quizzes.schemas import (
    CategoryBrief,
    QuizAttemptSpec,
    QuizCreate,
    QuizFilter,
    QuizListScope,
    QuizRead,
    QuizSummary,
    QuizUpdate,
)
from studyhall.quizzes.service.access import (
    can_edit,
    is_visible,
    load_for_editing,
    quiz_changed,
)
from studyhall.quizzes.service.common import (
    QUIZ_DETAIL_TTL,
    QUIZ_DETAILS_TAG,
    QUIZ_LIST_TTL,
    QUIZ_LISTS_TAG,
    Actor,
    invalidate,
    quiz_detail_key,
    require_author,
    text_fingerprint,
)
from studyhall.quizzes.service.ordering import (
    check_new_questions,
    question_ids_of,
    unpublished_among,
    write_order,
)

SETTING_FIELDS = (
    "time_limit_seconds",
    "shuffle_questions",
    "shuffle_options",
    "attempts_allowed",
    "pass_mark_percent",
    "feedback_mode",
)
# Fields of QuizUpdate that may be sent as null to clear them.
CLEARABLE_FIELDS = frozenset({"category_id", "time_limit_seconds", "attempts_allowed"})


async def _check_category(db: AsyncSession, category_id: uuid.UUID | None) -> None:
    if category_id is not None and await db.get(Category, category_id) is None:
        raise ValidationFailed(
            "That category does not exist.",
            code="category_not_found",
            extra={"field": "category_id"},
        )


# ---------------------------------------------------------------- authoring


async def create_quiz(db: AsyncSession, actor: Actor, data: QuizCreate) -> QuizRead:
    """A new draft owned by `actor`, with the given (published) questions in order."""
    require_author(actor)
    await _check_category(db, data.category_id)
    await check_new_questions(db, data.question_ids, already=set())
    quiz = Quiz(
        title=data.title,
        description_md=data.description,
        description_html=await render_markdown_off_loop(data.description),
        category_id=data.category_id,
        author_id=actor.id,
        status=QuizStatus.DRAFT.value,
        **{name: _column_value(getattr(data, name)) for name in SETTING_FIELDS},
    )
    db.add(quiz)
    await db.flush()
    await write_order(db, quiz, data.question_ids)
    await quiz_changed(db, quiz)
    return await _fresh(db, actor, quiz.id)


def _column_value(value: Any) -> Any:
    return value.value if isinstance(value, FeedbackMode) else value


async def update_quiz(
    db: AsyncSession, actor: Actor, quiz_id: uuid.UUID, data: QuizUpdate
) -> QuizRead:
    """Change the fields that were sent (see QuizUpdate for clearing with null)."""
    quiz = await load_for_editing(db, actor, quiz_id)
    sent = data.model_fields_set
    for name in sent:
        value = getattr(data, name)
        if value is None and name not in CLEARABLE_FIELDS:
            raise ValidationFailed(
                f"{name} cannot be null.", code="field_not_nullable", extra={"field": name}
            )
    if "category_id" in sent:
        await _check_category(db, data.category_id)
        quiz.category_id = data.category_id
    if data.title is not None:
        quiz.title = data.title
    if data.description is not None:
        quiz.description_md = data.description
        quiz.description_html = await render_markdown_off_loop(data.description)
    for name in SETTING_FIELDS:
        if name in sent:
            setattr(quiz, name, _column_value(getattr(data, name)))
    await quiz_changed(db, quiz)
    return await _fresh(db, actor, quiz.id)


async def publish_quiz(db: AsyncSession, actor: Actor, quiz_id: uuid.UUID) -> QuizRead:
    """Show the quiz to students. It needs at least one question, all of them published."""
    quiz = await load_for_editing(db, actor, quiz_id)
    question_ids = await question_ids_of(db, quiz.id)
    if not question_ids:
        raise Conflict("Add at least one question before publishing.", code="quiz_has_no_questions")
    if unpublished := await unpublished_among(db, question_ids):
        raise Conflict(
            "Some questions of this quiz are no longer published; remove them first.",
            code="quiz_has_unpublished_questions",
            extra={"question_ids": [str(qid) for qid in unpublished]},
        )
    quiz.status = QuizStatus.PUBLISHED.value
    await quiz_changed(db, quiz)
    return await _fresh(db, actor, quiz.id)


async def unpublish_quiz(db: AsyncSession, actor: Actor, quiz_id: uuid.UUID) -> QuizRead:
    """Back to draft: hidden from students; attempts already started go on."""
    quiz = await load_for_editing(db, actor, quiz_id)
    quiz.status = QuizStatus.DRAFT.value
    await quiz_changed(db, quiz)
    return await _fresh(db, actor, quiz.id)


async def delete_quiz(db: AsyncSession, actor: Actor, quiz_id: uuid.UUID) -> None:
    """Delete the quiz and its question list; past attempts keep their answers."""
    quiz = await load_for_editing(db, actor, quiz_id)
    await db.delete(quiz)
    await db.flush()
    await invalidate(db, keys=(quiz_detail_key(quiz_id),), tags=(QUIZ_LISTS_TAG,))


# ---------------------------------------------------------------- reading


def _brief(category: Category | None) -> CategoryBrief | None:
    if category is None:
        return None
    return CategoryBrief(id=category.id, name=category.name, slug=category.slug)


async def _load_detail(db: AsyncSession, quiz_id: uuid.UUID) -> QuizRead:
    row = (
        await db.execute(
            select(Quiz, Category)
            .outerjoin(Category, Category.id == Quiz.category_id)
            .where(Quiz.id == quiz_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such quiz.", code="quiz_not_found")
    quiz, category = row
    return QuizRead(
        id=quiz.id,
        title=quiz.title,
        description_html=quiz.description_html,
        description=quiz.description_md,
        status=QuizStatus(quiz.status),
        category=_brief(category),
        question_count=quiz.question_count,
        author_id=quiz.author_id,
        created_at=quiz.created_at,
        updated_at=quiz.updated_at,
        time_limit_seconds=quiz.time_limit_seconds,
        shuffle_questions=quiz.shuffle_questions,
        shuffle_options=quiz.shuffle_options,
        attempts_allowed=quiz.attempts_allowed,
        pass_mark_percent=quiz.pass_mark_percent,
        feedback_mode=FeedbackMode(quiz.feedback_mode),
    )


async def get_quiz(db: AsyncSession, actor: Actor, quiz_id: uuid.UUID) -> QuizRead:
    """A quiz as `actor` may see it: never its questions; the Markdown source only for its
    editors. Cached for an hour (the same entry for every viewer; access is checked after)."""

    async def load() -> QuizRead:
        return await _load_detail(db, quiz_id)

    cached = await cache.get_or_set(
        quiz_detail_key(quiz_id), QUIZ_DETAIL_TTL, load, tags=(QUIZ_DETAILS_TAG,)
    )
    return _as_seen_by(actor, cached)


async def _fresh(db: AsyncSession, actor: Actor, quiz_id: uuid.UUID) -> QuizRead:
    """What a write returns: read past the cache, and never stored there, because the write
    is not committed yet (and may still be rolled back)."""
    return _as_seen_by(actor, await _load_detail(db, quiz_id))


def _as_seen_by(actor: Actor, quiz: QuizRead) -> QuizRead:
    if not is_visible(actor, quiz):
        raise NotFound("No such quiz.", code="quiz_not_found")
    editable = can_edit(actor, quiz)
    return quiz.model_copy(
        update={"can_edit": editable, "description": quiz.description if editable else None}
    )


def list_scope(actor: Actor) -> QuizListScope:
    if actor.is_admin:
        return QuizListScope.ALL
    if actor.can_author:
        return QuizListScope.AUTHOR
    return QuizListScope.PUBLISHED


def _conditions(actor: Actor, scope: QuizListScope, query: QuizFilter) -> list[Any]:
    conditions: list[Any] = []
    if scope is QuizListScope.PUBLISHED:
        conditions.append(Quiz.status == QuizStatus.PUBLISHED.value)
    elif scope is QuizListScope.AUTHOR:
        conditions.append(
            or_(Quiz.status == QuizStatus.PUBLISHED.value, Quiz.author_id == actor.id)
        )
    if query.status is not None:
        conditions.append(Quiz.status == query.status.value)
    if query.mine:
        conditions.append(Quiz.author_id == actor.id)
    if query.category:
        conditions.append(Category.slug == query.category)
    for word in normalize_words(query.text):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                func.lower(Quiz.title).like(pattern, escape="\\"),
                func.lower(Quiz.description_md).like(pattern, escape="\\"),
            )
        )
    return conditions


def normalize_words(text: str) -> list[str]:
    """The search words: lower-cased, at most eight."""
    return text.lower().split()[:8]


def list_cache_key(actor: Actor, query: QuizFilter, params: PageParams) -> str:
    """Every input of the list is in the key. Students share one list; anything that depends
    on who is asking (drafts, `mine`) carries the viewer's id."""
    scope = list_scope(actor)
    viewer = "pub" if scope is QuizListScope.PUBLISHED and not query.mine else f"{scope}-{actor.id}"
    words = " ".join(normalize_words(query.text))
    return ":".join(
        (
            "quizzes",
            viewer,
            query.category or "-",
            query.status.value if query.status else "-",
            "mine" if query.mine else "-",
            text_fingerprint(words),
            str(params.page),
            str(params.per_page),
        )
    )


async def list_quizzes(
    db: AsyncSession, actor: Actor, query: QuizFilter, params: PageParams
) -> Page[QuizSummary]:
    """Quizzes by title: published ones, plus a teacher's own drafts, plus every draft for
    admins. Filtered by category slug, words of the title or description, status and `mine`.
    Cached for an hour under a key holding every input."""
    scope = list_scope(actor)

    async def load() -> tuple[list[QuizSummary], int]:
        statement = (
            select(Quiz, Category)
            .outerjoin(Category, Category.id == Quiz.category_id)
            .where(*_conditions(actor, scope, query))
            .order_by(func.lower(Quiz.title), Quiz.id)
        )
        page = await paginate(db, statement, params, _summaries)
        return page.items, page.total

    # Cached as a plain tuple: a parametrized generic model does not unpickle everywhere.
    items, total = await cache.get_or_set(
        list_cache_key(actor, query, params), QUIZ_LIST_TTL, load, tags=(QUIZ_LISTS_TAG,)
    )
    return page_of(items, total, params)


def _summaries(rows: Sequence[Row[Quiz, Category | None]]) -> list[QuizSummary]:
    return [
        QuizSummary(
            id=quiz.id,
            title=quiz.title,
            status=QuizStatus(quiz.status),
            category=_brief(category),
            question_count=quiz.question_count,
            time_limit_seconds=quiz.time_limit_seconds,
            attempts_allowed=quiz.attempts_allowed,
            pass_mark_percent=quiz.pass_mark_percent,
            author_id=quiz.author_id,
            updated_at=quiz.updated_at,
        )
        for quiz, category in rows
    ]


# ---------------------------------------------------------------- for attempts


async def quiz_for_attempt(
    db: AsyncSession, quiz_id: uuid.UUID, user_id: uuid.UUID, is_admin: bool = False
) -> QuizAttemptSpec:
    """The settings and ordered questions of a quiz `user_id` may sit: published, or their own
    draft (authors try their quizzes out)."""
    quiz = await db.get(Quiz, quiz_id)
    visible = quiz is not None and (
        quiz.status == QuizStatus.PUBLISHED.value or is_admin or quiz.author_id == user_id
    )
    if quiz is None or not visible:
        raise NotFound("No such quiz.", code="quiz_not_found")
    question_ids = list(
        await db.scalars(
            select(QuizQuestion.question_id)
            .where(QuizQuestion.quiz_id == quiz.id)
            .order_by(QuizQuestion.position)
        )
    )
    return QuizAttemptSpec(
        id=quiz.id,
        title=quiz.title,
        question_ids=question_ids,
        time_limit_seconds=quiz.time_limit_seconds,
        shuffle_questions=quiz.shuffle_questions,
        shuffle_options=quiz.shuffle_options,
        attempts_allowed=quiz.attempts_allowed,
        pass_mark_percent=quiz.pass_mark_percent,
        feedback_mode=FeedbackMode(quiz.feedback_mode),
    )
