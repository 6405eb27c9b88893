"""What each question-bank request does, for the JSON API and the pages alike: who is acting
(from the session's roles), then the service, which decides what they may see and change.
Both doors call these; see core/requests.py."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.schemas import Role
from studyhall.accounts.service import Principal
from studyhall.core.errors import Forbidden
from studyhall.core.pagination import Page, PageParams
from studyhall.questions import service
from studyhall.questions.schemas import (
    QuestionCreate,
    QuestionFilter,
    QuestionRead,
    QuestionSummary,
    QuestionUpdate,
    SubjectCount,
    VersionHistoryEntry,
)

AUTHOR_ROLES = frozenset({Role.TEACHER, Role.ADMIN})


def author_of(principal: Principal) -> service.Author:
    """Roles come from the server-side session, never from the request."""
    return service.Author(
        id=principal.id,
        is_admin=Role.ADMIN in principal.roles,
        can_author=bool(principal.roles & AUTHOR_ROLES),
    )


def require_author(principal: Principal) -> service.Author:
    """For the pages that only show a writing form (the service checks every write)."""
    actor = author_of(principal)
    if not actor.can_author:
        raise Forbidden("Only teachers and admins write questions.", code="insufficient_role")
    return actor


async def list_questions(
    db: AsyncSession, principal: Principal, query: QuestionFilter, params: PageParams
) -> Page[QuestionSummary]:
    """Students see published questions; teachers also their own drafts and archived
    questions; admins everything."""
    return await service.list_questions(db, query, params, author_of(principal))


async def subject_summary(
    db: AsyncSession, principal: Principal, params: PageParams
) -> Page[SubjectCount]:
    return await service.subject_summary(db, params)


async def get_question(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID
) -> QuestionRead:
    """Answers, explanations and the source are included only for its authors."""
    return await service.get_question(db, question_id, author_of(principal))


async def create_question(
    db: AsyncSession, principal: Principal, data: QuestionCreate
) -> QuestionRead:
    return await service.create_question(db, author_of(principal), data)


async def update_question(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID, data: QuestionUpdate
) -> QuestionRead:
    """A published question gets a new version."""
    return await service.update_question(db, author_of(principal), question_id, data)


async def publish_question(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID
) -> QuestionRead:
    return await service.publish_question(db, author_of(principal), question_id)


async def archive_question(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID
) -> QuestionRead:
    return await service.archive_question(db, author_of(principal), question_id)


async def list_versions(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID, params: PageParams
) -> Page[VersionHistoryEntry]:
    return await service.list_question_versions(db, author_of(principal), question_id, params)
