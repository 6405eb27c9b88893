"""JSON API of the questions module, under /api/v1."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status

from studyhall.accounts.dependencies import CurrentUser
from studyhall.core.deps import AppStorage, DbSession
from studyhall.core.errors import NotFound
from studyhall.core.file_responses import stored_file_response
from studyhall.core.middleware import accepts_uploads
from studyhall.core.openapi import problem_responses
from studyhall.core.pagination import Page, Pagination
from studyhall.core.storage import chunks_of
from studyhall.questions import actions, images
from studyhall.questions.dependencies import QuestionActor
from studyhall.questions.models import QuestionStatus, QuestionType
from studyhall.questions.schemas import (
    ImageRead,
    QuestionCreate,
    QuestionFilter,
    QuestionRead,
    QuestionSummary,
    QuestionUpdate,
    SubjectCount,
    VersionHistoryEntry,
)

router = APIRouter(prefix="/questions", tags=["questions"])

Label = Annotated[str | None, Query(max_length=100)]
# Browsers may keep an image for a while; "private" keeps it out of shared caches, because
# a draft's image is for its author only.
IMAGE_CACHE_CONTROL = "private, max-age=3600"


@router.get("", response_model=Page[QuestionSummary])
async def list_questions(
    db: DbSession,
    user: CurrentUser,
    pagination: Pagination,
    text: Annotated[str, Query(max_length=200)] = "",
    subject: Label = None,
    system: Label = None,
    topic: Label = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    type: QuestionType | None = None,
    status: QuestionStatus | None = None,
) -> Page[QuestionSummary]:
    """Search and filter the bank. Students see published questions; teachers also their own
    drafts and archived questions; admins everything."""
    query = QuestionFilter(
        text=text,
        subject=subject,
        system=system,
        topic=topic,
        tag=tag,
        type=type,
        status=status,
    )
    return await actions.list_questions(db, user, query, pagination)


@router.get("/subjects", response_model=Page[SubjectCount])
async def list_subjects(
    db: DbSession, user: CurrentUser, pagination: Pagination
) -> Page[SubjectCount]:
    """Subjects and systems with their published question counts (for building tests)."""
    return await actions.subject_summary(db, user, pagination)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=QuestionRead)
async def create_question(body: QuestionCreate, db: DbSession, user: CurrentUser) -> QuestionRead:
    return await actions.create_question(db, user, body)


@router.get("/{question_id}", response_model=QuestionRead)
async def get_question(question_id: uuid.UUID, db: DbSession, user: CurrentUser) -> QuestionRead:
    """Answers, explanations and the source text are included only for authors."""
    return await actions.get_question(db, user, question_id)


@router.put("/{question_id}", response_model=QuestionRead)
async def update_question(
    question_id: uuid.UUID, body: QuestionUpdate, db: DbSession, user: CurrentUser
) -> QuestionRead:
    """Replace content and metadata. A published question gets a new version."""
    return await actions.update_question(db, user, question_id, body)


@router.post("/{question_id}/publish", response_model=QuestionRead)
async def publish_question(
    question_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> QuestionRead:
    return await actions.publish_question(db, user, question_id)


@router.post(
    "/{question_id}/archive", response_model=QuestionRead, responses=problem_responses(409)
)
async def archive_question(
    question_id: uuid.UUID, db: DbSession, user: CurrentUser
) -> QuestionRead:
    return await actions.archive_question(db, user, question_id)


@router.get("/{question_id}/versions", response_model=Page[VersionHistoryEntry])
async def list_versions(
    question_id: uuid.UUID, db: DbSession, user: CurrentUser, pagination: Pagination
) -> Page[VersionHistoryEntry]:
    return await actions.list_versions(db, user, question_id, pagination)


# ---------------------------------------------------------------- images


@router.post(
    "/{question_id}/images",
    status_code=status.HTTP_201_CREATED,
    response_model=ImageRead,
    dependencies=[accepts_uploads(cap=images.MAX_IMAGE_REQUEST_BYTES)],
    responses=problem_responses(409, 415),
)
async def upload_image(
    question_id: uuid.UUID,
    db: DbSession,
    actor: QuestionActor,
    storage: AppStorage,
    file: Annotated[UploadFile, File(description="PNG, JPEG, GIF or WebP, at most 5 MB")],
) -> ImageRead:
    """Attach an image; its `url` (or `markdown`) can be used in the question's Markdown."""
    return await images.add_image(
        db, actor, question_id, storage, file.filename or "", chunks_of(file)
    )


@router.get("/{question_id}/images", response_model=Page[ImageRead])
async def list_images(
    question_id: uuid.UUID, db: DbSession, actor: QuestionActor, pagination: Pagination
) -> Page[ImageRead]:
    return await images.list_images(db, actor, question_id, pagination)


@router.get(
    "/{question_id}/images/{image_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}}},
        206: {"description": "The requested byte range", "content": {"image/*": {}}},
        304: {"description": "Not modified"},
        416: {"description": "The requested byte range is outside the file"},
    },
)
async def get_image(
    question_id: uuid.UUID,
    image_id: uuid.UUID,
    request: Request,
    db: DbSession,
    actor: QuestionActor,
    storage: AppStorage,
) -> Response:
    """The image's bytes; a `Range: bytes=…` header gets just that part (206)."""
    image = await images.image_for_serving(db, actor, question_id, image_id)
    headers = {
        "Cache-Control": IMAGE_CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(image.filename)}",
        # Opened on its own, the response may run nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    try:
        return await stored_file_response(
            request,
            storage,
            image.storage_key,
            media_type=image.content_type,
            # The bytes behind an image id never change, so its id is a strong validator.
            etag=f'"{image.id.hex}"',
            headers=headers,
        )
    except NotFound as exc:
        raise NotFound("The image file is missing.", code="image_not_found") from exc


@router.delete("/{question_id}/images/{image_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_image(
    question_id: uuid.UUID,
    image_id: uuid.UUID,
    db: DbSession,
    actor: QuestionActor,
    storage: AppStorage,
) -> Response:
    await images.delete_image(db, actor, question_id, image_id, storage)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
