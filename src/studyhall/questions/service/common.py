"""Shared parts of the question bank service: actors, cache keys, rendering, loading."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache
from studyhall.core.errors import Forbidden, NotFound
from studyhall.core.markdown import render_inline, render_markdown
from studyhall.questions.grading import normalize_text
from studyhall.questions.models import (
    Question,
    QuestionStatus,
    QuestionTag,
    QuestionType,
    QuestionVersion,
)
from studyhall.questions.schemas import (
    NumericAnswer,
    OptionIn,
    OptionRead,
    QuestionContent,
    QuestionCreate,
    QuestionUpdate,
    QuestionVersionRead,
)

VERSION_CACHE_SECONDS = 2 * 3600  # versions never change, so this only bounds memory
# A reader's view of a published question; dropped by every write to it (tag question:{id}).
READER_CACHE_SECONDS = 300
SUBJECTS_CACHE_SECONDS = 300
SUBJECTS_KEY = "qsubjects:published"
OPTION_IDS = "abcdefghijkl"


@dataclass(frozen=True)
class Author:
    """Who is acting on the bank, as this module needs to know it."""

    id: uuid.UUID
    is_admin: bool = False
    can_author: bool = False


_SPACES = re.compile(r"\s+")
PREVIEW_CHARS = 200


def plain_preview(rendered_html: str, limit: int = PREVIEW_CHARS) -> str:
    """The text a reader sees in rendered HTML (no tags, no Markdown syntax), shortened.

    It is text, not HTML: whatever shows it must escape it (Jinja does).
    """
    text = html.unescape(nh3.clean(rendered_html, tags=set()))
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reader_key(question_id: uuid.UUID) -> str:
    return f"question:{question_id}:reader"


def question_tag(question_id: uuid.UUID) -> str:
    return f"question:{question_id}"


async def forget_question(db: AsyncSession, question_id: uuid.UUID) -> None:
    """Drop every cached read of the question (and the subject summary), now and again
    once the writing transaction has committed."""
    await cache.invalidate_now_and_after_commit(
        db, keys=(_reader_key(question_id), SUBJECTS_KEY), tags=(question_tag(question_id),)
    )


# ---------------------------------------------------------------- rendering


def _option_rows(options: Sequence[OptionIn]) -> list[dict[str, Any]]:
    return [
        {
            "id": OPTION_IDS[index],
            "text_md": option.text,
            "text_html": render_inline(option.text),
            "explanation_md": option.explanation,
            "explanation_html": render_markdown(option.explanation) if option.explanation else "",
            "correct": option.correct,
        }
        for index, option in enumerate(options)
    ]


def _answer_of(content: QuestionContent) -> dict[str, Any]:
    if content.type is QuestionType.SHORT_ANSWER:
        return {"accepted": [a.strip() for a in content.accepted_answers if a.strip()]}
    if content.type is QuestionType.NUMERICAL and content.numeric_answer is not None:
        return content.numeric_answer.model_dump()
    return {}


_CHOICE_TYPES = (
    QuestionType.SINGLE_CHOICE,
    QuestionType.MULTIPLE_RESPONSE,
    QuestionType.TRUE_FALSE,
)


@dataclass(frozen=True)
class RenderedContent:
    """A version's Markdown rendered to sanitized HTML."""

    stem_html: str
    explanation_html: str
    options: list[dict[str, Any]]


def render_content(content: QuestionContent) -> RenderedContent:
    """Pure CPU work (~5 ms per KB of Markdown): async code runs it on a worker thread."""
    return RenderedContent(
        stem_html=render_markdown(content.stem),
        explanation_html=render_markdown(content.explanation) if content.explanation else "",
        options=_option_rows(content.options) if content.type in _CHOICE_TYPES else [],
    )


async def render_content_off_loop(content: QuestionContent) -> RenderedContent:
    return await asyncio.to_thread(render_content, content)


def fill_version(
    version: QuestionVersion, content: QuestionContent, rendered: RenderedContent | None = None
) -> None:
    """Write `content` into `version`, rendering it here unless `rendered` is given."""
    rendered = rendered or render_content(content)
    version.type = content.type.value
    version.stem_md = content.stem
    version.stem_html = rendered.stem_html
    version.explanation_md = content.explanation
    version.explanation_html = rendered.explanation_html
    version.options = rendered.options
    version.answer = _answer_of(content)


def search_text_of(content: QuestionContent, tags: Iterable[str], question: Question) -> str:
    parts = [content.stem, content.explanation, question.subject, question.system, question.topic]
    parts += [option.text for option in content.options]
    parts += list(tags)
    return normalize_text(" ".join(parts))[:20000]


def version_read(version: QuestionVersion, question: Question | None = None) -> QuestionVersionRead:
    return QuestionVersionRead(
        id=version.id,
        question_id=version.question_id,
        number=version.number,
        type=QuestionType(version.type),
        stem_html=version.stem_html,
        explanation_html=version.explanation_html,
        options=[
            OptionRead(
                id=o["id"],
                text_html=o["text_html"],
                explanation_html=o.get("explanation_html", ""),
                correct=bool(o["correct"]),
            )
            for o in version.options
        ],
        answer=dict(version.answer),
        subject=question.subject if question else "",
        system=question.system if question else "",
        topic=question.topic if question else "",
    )


def _content_of(version: QuestionVersion) -> QuestionContent:
    numeric = version.answer if version.type == QuestionType.NUMERICAL.value else None
    return QuestionContent(
        type=QuestionType(version.type),
        stem=version.stem_md,
        explanation=version.explanation_md,
        options=[
            OptionIn(
                text=o["text_md"], correct=o["correct"], explanation=o.get("explanation_md", "")
            )
            for o in version.options
        ],
        accepted_answers=list(version.answer.get("accepted", [])),
        numeric_answer=NumericAnswer(**numeric) if numeric else None,
    )


# ---------------------------------------------------------------- authoring


def _require_author(actor: Author) -> None:
    if not (actor.can_author or actor.is_admin):
        raise Forbidden("Only teachers and admins write questions.", code="insufficient_role")


def _require_owner(actor: Author, question: Question) -> None:
    _require_author(actor)
    if not actor.is_admin and question.author_id != actor.id:
        raise Forbidden("You can only change your own questions.", code="not_question_author")


async def _load(db: AsyncSession, question_id: uuid.UUID) -> Question:
    question = await db.get(Question, question_id)
    if question is None:
        raise NotFound("No such question.", code="question_not_found")
    return question


def _visible_to(actor: Author, question: Question) -> bool:
    if question.status == QuestionStatus.PUBLISHED.value:
        return True
    return actor.is_admin or (actor.can_author and question.author_id == actor.id)


async def load_for_edit(db: AsyncSession, actor: Author, question_id: uuid.UUID) -> Question:
    """The question if `actor` may change it; 404 when they may not even see it (a draft of
    someone else stays invisible), 403 when they see it but may not change it."""
    question = await _load(db, question_id)
    if not _visible_to(actor, question):
        raise NotFound("No such question.", code="question_not_found")
    _require_owner(actor, question)
    return question


async def _tags_of(
    db: AsyncSession, question_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    tags: dict[uuid.UUID, list[str]] = {qid: [] for qid in question_ids}
    if not question_ids:
        return tags
    rows = await db.execute(
        select(QuestionTag.question_id, QuestionTag.tag)
        .where(QuestionTag.question_id.in_(question_ids))
        .order_by(QuestionTag.tag)
    )
    for question_id, tag in rows:
        tags[question_id].append(tag)
    return tags


async def _set_tags(db: AsyncSession, question: Question, tags: Sequence[str]) -> None:
    await db.execute(delete(QuestionTag).where(QuestionTag.question_id == question.id))
    db.add_all(QuestionTag(question_id=question.id, tag=tag) for tag in tags)


def _apply_meta(question: Question, data: QuestionCreate | QuestionUpdate) -> None:
    question.type = data.type.value
    question.subject = data.subject
    question.system = data.system
    question.topic = data.topic
    question.difficulty = data.difficulty
    question.source = data.source
