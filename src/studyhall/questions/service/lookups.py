"""Lookups for other modules: versions by id, current versions, random picks."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core import cache
from studyhall.questions.models import (
    Question,
    QuestionStatus,
    QuestionVersion,
)
from studyhall.questions.schemas import (
    QuestionVersionRead,
)
from studyhall.questions.service.common import (
    VERSION_CACHE_SECONDS,
    _version_key,
    version_read,
)

# ---------------------------------------------------------------- lookups for other modules


async def get_versions(
    db: AsyncSession, version_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, QuestionVersionRead]:
    """Versions by id, with answers (callers decide what a student may see). Cached: a
    version never changes."""
    wanted = list(dict.fromkeys(version_ids))
    found: dict[uuid.UUID, QuestionVersionRead] = {}
    missing: list[uuid.UUID] = []
    cached_values = await cache.get_many([_version_key(v) for v in wanted])
    for version_id, cached in zip(wanted, cached_values, strict=True):
        if isinstance(cached, QuestionVersionRead):
            found[version_id] = cached
        else:
            missing.append(version_id)
    cache.record_lookups("qversion", hits=len(found), misses=len(missing))
    if missing:
        rows = await db.execute(
            select(QuestionVersion, Question)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(QuestionVersion.id.in_(missing))
        )
        loaded = {version.id: version_read(version, question) for version, question in rows}
        found.update(loaded)
        await cache.set_many(
            {_version_key(vid): read for vid, read in loaded.items()}, VERSION_CACHE_SECONDS
        )
    return found


async def get_current_versions(
    db: AsyncSession, question_ids: Iterable[uuid.UUID], published_only: bool = True
) -> dict[uuid.UUID, QuestionVersionRead]:
    """The current version of each question (keyed by question id)."""
    ids = list(dict.fromkeys(question_ids))
    if not ids:
        return {}
    conditions: list[Any] = [Question.id.in_(ids)]
    if published_only:
        conditions.append(Question.status == QuestionStatus.PUBLISHED.value)
    rows = await db.execute(select(Question.id, Question.current_version_id).where(*conditions))
    version_of = {qid: vid for qid, vid in rows if vid is not None}
    versions = await get_versions(db, version_of.values())
    return {qid: versions[vid] for qid, vid in version_of.items() if vid in versions}


async def pick_published(
    db: AsyncSession,
    count: int,
    subjects: Sequence[str] = (),
    systems: Sequence[str] = (),
    only_ids: Select[uuid.UUID] | None = None,
    exclude_ids: Select[uuid.UUID] | None = None,
    rng: random.Random | None = None,
) -> list[uuid.UUID]:
    """Up to `count` published question ids at random, filtered by subject/system and by
    id sub-queries (for pools like "unused" or "incorrect")."""
    conditions: list[Any] = [Question.status == QuestionStatus.PUBLISHED.value]
    if subjects:
        conditions.append(Question.subject.in_(list(subjects)))
    if systems:
        conditions.append(Question.system.in_(list(systems)))
    if only_ids is not None:
        conditions.append(Question.id.in_(only_ids))
    if exclude_ids is not None:
        conditions.append(Question.id.not_in(exclude_ids))
    candidates = list(await db.scalars(select(Question.id).where(*conditions)))
    chooser = rng or random.SystemRandom()
    # sample, not shuffle: SystemRandom draws from urandom once per element it touches.
    return chooser.sample(candidates, min(count, len(candidates)))
