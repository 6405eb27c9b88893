"""Lookups for other modules: versions by id, current versions, random picks."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, select
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
    version_read,
)

# ---------------------------------------------------------------- cached versions

# Versions kept in each process, in front of the shared cache: attempts read the same few
# again on every answer.
LOCAL_VERSIONS_MAX = 4096
# A version's content never changes, but its subject, system and topic are its question's and
# follow later edits of the question; this bounds how long a process shows older ones.
LOCAL_VERSION_SECONDS = 600


class _LocalVersions:
    """A bounded LRU of final versions (see `_is_final`) with a time limit per entry."""

    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[uuid.UUID, tuple[float, QuestionVersionRead]] = OrderedDict()

    def get(self, version_id: uuid.UUID, now: float) -> QuestionVersionRead | None:
        entry = self._entries.get(version_id)
        if entry is None:
            return None
        expires_at, version = entry
        if expires_at <= now:
            del self._entries[version_id]
            return None
        self._entries.move_to_end(version_id)
        return version

    def put(self, version: QuestionVersionRead, now: float) -> None:
        self._entries[version.id] = (now + self.ttl_seconds, version)
        self._entries.move_to_end(version.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_local_versions = _LocalVersions(LOCAL_VERSIONS_MAX, LOCAL_VERSION_SECONDS)


def forget_local_versions() -> None:
    """Empty this process's copy of versions (tests; the shared cache keeps its own)."""
    _local_versions.clear()


def _final_version_key(version_id: uuid.UUID) -> str:
    return f"qversion:{version_id}"


def _is_final(version: QuestionVersion, question: Question) -> bool:
    """Whether the version's content can no longer change: a draft's current version is
    edited in place, every other version is replaced by a new one when edited (and a
    question never returns to draft)."""
    return not (
        question.status == QuestionStatus.DRAFT.value and question.current_version_id == version.id
    )


async def _load_versions(
    db: AsyncSession, version_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, QuestionVersionRead], dict[uuid.UUID, QuestionVersionRead]]:
    """(every version found, the final ones among them) from the database."""
    rows = await db.execute(
        select(QuestionVersion, Question)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id.in_(version_ids))
    )
    loaded: dict[uuid.UUID, QuestionVersionRead] = {}
    final: dict[uuid.UUID, QuestionVersionRead] = {}
    for version, question in rows:
        loaded[version.id] = read = version_read(version, question)
        if _is_final(version, question):
            final[version.id] = read
    return loaded, final


# ---------------------------------------------------------------- lookups for other modules


async def get_versions(
    db: AsyncSession, version_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, QuestionVersionRead]:
    """Versions by id, with answers (callers decide what a student may see); the returned
    objects are shared, never change them.

    Final versions (all but a draft's, which is edited in place) are cached, in this process
    and in the shared cache; a draft's version is read from the database every time.
    """
    wanted = list(dict.fromkeys(version_ids))
    now = time.monotonic()
    found: dict[uuid.UUID, QuestionVersionRead] = {}
    not_local: list[uuid.UUID] = []
    for version_id in wanted:
        version = _local_versions.get(version_id, now)
        if version is None:
            not_local.append(version_id)
        else:
            found[version_id] = version
    missing: list[uuid.UUID] = []
    if not_local:
        shared = await cache.get_many([_final_version_key(v) for v in not_local])
        for version_id, cached in zip(not_local, shared, strict=True):
            if isinstance(cached, QuestionVersionRead):
                found[version_id] = cached
                _local_versions.put(cached, now)
            else:
                missing.append(version_id)
    cache.record_lookups("qversion", hits=len(found), misses=len(missing))
    if missing:
        loaded, final = await _load_versions(db, missing)
        found.update(loaded)
        for version in final.values():
            _local_versions.put(version, now)
        await cache.set_many(
            {_final_version_key(vid): version for vid, version in final.items()},
            VERSION_CACHE_SECONDS,
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
    # The database draws them: sending every candidate id over to keep `count` of them cost
    # more than its sort (5,000 ids for a test from the whole bank).
    statement = select(Question.id).where(*conditions).order_by(func.random()).limit(count)
    return list(await db.scalars(statement))
