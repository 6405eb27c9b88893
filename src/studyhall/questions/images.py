"""Images attached to questions: upload, lookup for serving, listing and removal.

Files live in the one storage module (core/storage.py) under keys we generate; the type is
decided from the file's first bytes, never from the client's name or content type. Only
raster formats browsers show as images are accepted (no SVG: it can carry script).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import after_commit
from studyhall.core.errors import Conflict, NotFound, StudyhallError
from studyhall.core.pagination import Page, PageParams, paginate
from studyhall.core.storage import FileTooLarge, Storage, peek
from studyhall.questions.models import Question, QuestionImage, QuestionStatus, QuestionVersion
from studyhall.questions.schemas import ImageRead
from studyhall.questions.service import Author, load_for_edit

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# The body of an upload request: room for the multipart framing, and for an image somewhat
# over the limit to reach add_image, which explains the limit (image_too_large, shown next to
# the page's file field) instead of the request being cut off.
MAX_IMAGE_REQUEST_BYTES = 2 * MAX_IMAGE_BYTES
SNIFF_BYTES = 12
MAX_IMAGES_PER_QUESTION = 50
STORAGE_NAMESPACE = "question-images"
# Published and archived questions were shown to students (archived ones still are, in the
# reviews of past attempts), so their images are readable by any signed-in user.
_READABLE_BY_ALL = frozenset({QuestionStatus.PUBLISHED.value, QuestionStatus.ARCHIVED.value})
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


class ImageTooLarge(StudyhallError):
    status, code, title = 413, "image_too_large", "Image too large"


class UnsupportedImage(StudyhallError):
    status, code, title = 415, "unsupported_image_type", "Unsupported image type"


@dataclass(frozen=True)
class ImageFile:
    """What the API needs to serve one stored image."""

    id: uuid.UUID
    storage_key: str
    content_type: str
    filename: str
    size: int


def sniff_image_type(data: bytes) -> tuple[str, str] | None:
    """(content type, file extension) from the magic bytes, or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def clean_filename(name: str, extension: str) -> str:
    """A display name: no path, no control or odd characters, bounded, with the real extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._")[:100] or "image"
    return f"{stem}.{extension}"


def image_url(question_id: uuid.UUID, image_id: uuid.UUID) -> str:
    return f"/api/v1/questions/{question_id}/images/{image_id}"


def _image_read(image: QuestionImage) -> ImageRead:
    url = image_url(image.question_id, image.id)
    alt = image.filename.rsplit(".", 1)[0].replace("]", "").replace("[", "")
    return ImageRead(
        id=image.id,
        question_id=image.question_id,
        filename=image.filename,
        content_type=image.content_type,
        size=image.size,
        created_at=image.created_at,
        url=url,
        markdown=f"![{alt}]({url})",
    )


async def add_image(
    db: AsyncSession,
    actor: Author,
    question_id: uuid.UUID,
    storage: Storage,
    filename: str,
    chunks: AsyncIterable[bytes],
) -> ImageRead:
    """Store an uploaded image, streamed from `chunks`, for a question its author (or an
    admin) may edit.

    Raises ImageTooLarge (413) past MAX_IMAGE_BYTES and UnsupportedImage (415) unless the
    bytes are PNG, JPEG, GIF or WebP; either way nothing is stored.
    """
    question = await load_for_edit(db, actor, question_id)
    head, chunks = await peek(chunks, SNIFF_BYTES)
    if not head:
        raise UnsupportedImage("The file is empty.", code="empty_file")
    kind = sniff_image_type(head)
    if kind is None:
        raise UnsupportedImage("Upload a PNG, JPEG, GIF or WebP image.")
    content_type, extension = kind
    count = await db.scalar(
        select(func.count())
        .select_from(QuestionImage)
        .where(QuestionImage.question_id == question.id)
    )
    if (count or 0) >= MAX_IMAGES_PER_QUESTION:
        raise Conflict(
            f"A question can have at most {MAX_IMAGES_PER_QUESTION} images.",
            code="too_many_images",
        )
    try:
        stored = await storage.write(
            STORAGE_NAMESPACE, chunks, extension=extension, max_bytes=MAX_IMAGE_BYTES
        )
    except FileTooLarge:
        raise ImageTooLarge(
            f"Images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB."
        ) from None
    image = QuestionImage(
        question_id=question.id,
        storage_key=stored.key,
        filename=clean_filename(filename, extension),
        content_type=content_type,
        size=stored.size,
        uploaded_by=actor.id,
    )
    db.add(image)
    await db.flush()
    return _image_read(image)


async def _readable_question(db: AsyncSession, actor: Author, question_id: uuid.UUID) -> Question:
    question = await db.get(Question, question_id)
    readable = question is not None and (
        question.status in _READABLE_BY_ALL
        or actor.is_admin
        or (actor.can_author and question.author_id == actor.id)
    )
    if question is None or not readable:
        raise NotFound("No such question.", code="question_not_found")
    return question


async def _image_of(db: AsyncSession, question_id: uuid.UUID, image_id: uuid.UUID) -> QuestionImage:
    image = await db.get(QuestionImage, image_id)
    if image is None or image.question_id != question_id:
        raise NotFound("No such image.", code="image_not_found")
    return image


async def image_for_serving(
    db: AsyncSession, actor: Author, question_id: uuid.UUID, image_id: uuid.UUID
) -> ImageFile:
    """The stored image if `actor` may see it: any signed-in user for a question that was
    published, only its author or an admin for a draft (others get 404, as for the draft)."""
    question = await _readable_question(db, actor, question_id)
    image = await _image_of(db, question.id, image_id)
    return ImageFile(
        id=image.id,
        storage_key=image.storage_key,
        content_type=image.content_type,
        filename=image.filename,
        size=image.size,
    )


async def list_images(
    db: AsyncSession, actor: Author, question_id: uuid.UUID, params: PageParams
) -> Page[ImageRead]:
    question = await _readable_question(db, actor, question_id)
    statement = (
        select(QuestionImage)
        .where(QuestionImage.question_id == question.id)
        .order_by(QuestionImage.created_at, QuestionImage.id)
    )
    return await paginate(db, statement, params, _image_reads)


def _image_reads(images: Sequence[QuestionImage]) -> list[ImageRead]:
    return [_image_read(image) for image in images]


async def delete_image(
    db: AsyncSession,
    actor: Author,
    question_id: uuid.UUID,
    image_id: uuid.UUID,
    storage: Storage,
) -> None:
    """Remove an image no version of the question uses; the file goes once the row is gone
    for good (after the commit). Versions are kept for past attempts, so an image any of them
    shows stays (409 image_in_use)."""
    question = await load_for_edit(db, actor, question_id)
    image = await _image_of(db, question.id, image_id)
    versions = await db.scalars(
        select(QuestionVersion).where(QuestionVersion.question_id == question.id)
    )
    needle = str(image.id)
    for version in versions:
        texts = [version.stem_md, version.explanation_md]
        for option in version.options:
            texts += [str(option.get("text_md", "")), str(option.get("explanation_md", ""))]
        if any(needle in text for text in texts):
            raise Conflict(
                f"Version {version.number} of this question shows this image; "
                "remove it from the text first (published versions keep their images).",
                code="image_in_use",
            )
    key = image.storage_key
    await db.delete(image)
    await db.flush()
    after_commit(db, lambda: storage.delete(key))
