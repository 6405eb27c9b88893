"""Item analysis for authors: per question and per version (see `analytics.items`)."""

from __future__ import annotations

import html
import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.items import OptionInfo, by_version, item_stats
from studyhall.analytics.models import ItemResponse
from studyhall.analytics.schemas import ItemAnalysis, ResponseRow, VersionAnalysis
from studyhall.analytics.service.keys import ITEM_ANALYSIS_TTL, item_analysis_key
from studyhall.core import cache
from studyhall.core.errors import Forbidden
from studyhall.questions import service as questions
from studyhall.questions.schemas import QuestionVersionRead

_TAGS = re.compile(r"<[^>]+>")
LABEL_LENGTH = 120


def plain_label(text_html: str) -> str:
    """An option's sanitized HTML as short plain text for tables and charts."""
    text = " ".join(html.unescape(_TAGS.sub(" ", text_html)).split())
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


def _options(version: QuestionVersionRead | None) -> list[OptionInfo]:
    if version is None:
        return []
    return [
        OptionInfo(option_id=option.id, label=plain_label(option.text_html), correct=option.correct)
        for option in version.options
    ]


async def responses_for_question(db: AsyncSession, question_id: uuid.UUID) -> list[ResponseRow]:
    """Every sitting of the question in a submitted attempt that analytics has recorded
    (unanswered ones have `response` None), oldest first."""
    rows = await db.execute(
        select(
            ItemResponse.attempt_id,
            ItemResponse.question_version_id,
            ItemResponse.response,
            ItemResponse.is_correct,
            ItemResponse.attempt_percent,
        )
        .where(ItemResponse.question_id == question_id)
        .order_by(ItemResponse.submitted_at, ItemResponse.attempt_id)
    )
    return [
        ResponseRow(
            attempt_id=attempt_id,
            question_version_id=version_id,
            response=response,
            is_correct=is_correct,
            attempt_percent=percent,
        )
        for attempt_id, version_id, response, is_correct, percent in rows
    ]


async def compute_item_analysis(db: AsyncSession, question_id: uuid.UUID) -> ItemAnalysis:
    """Uncached analysis over every recorded sitting of the question."""
    rows = await responses_for_question(db, question_id)
    grouped = by_version(rows)
    versions = await questions.get_versions(db, grouped.keys())
    current = await questions.get_current_versions(db, [question_id], published_only=False)
    kind = current[question_id].type.value if question_id in current else ""
    per_version = []
    for version_id, version_rows in grouped.items():
        version = versions.get(version_id)
        stats = item_stats(version_rows, _options(version))
        per_version.append(
            VersionAnalysis(
                **stats.model_dump(), version_id=version_id, number=version.number if version else 0
            )
        )
    per_version.sort(key=lambda analysis: analysis.number, reverse=True)
    overall = item_stats(rows)
    return ItemAnalysis(
        **overall.model_dump(), question_id=question_id, type=kind, versions=per_version
    )


async def item_analysis(
    db: AsyncSession,
    question_id: uuid.UUID,
    user_id: uuid.UUID,
    is_admin: bool = False,
    can_author: bool = False,
) -> ItemAnalysis:
    """Statistics of a question for its author (a teacher or admin) or any admin.

    Cached for 15 minutes (shared by everyone allowed); a submission containing the question
    drops it. Raises NotFound for a question the user cannot see, Forbidden for one they do
    not own.
    """
    actor = questions.Author(id=user_id, is_admin=is_admin, can_author=can_author)
    question = await questions.get_question(db, question_id, actor)
    if not is_admin and not (can_author and question.author_id == user_id):
        raise Forbidden(
            "Only the question's author or an admin sees its analysis.",
            code="not_question_author",
        )

    async def load() -> ItemAnalysis:
        return await compute_item_analysis(db, question_id)

    return await cache.get_or_set(item_analysis_key(question_id), ITEM_ANALYSIS_TTL, load)
