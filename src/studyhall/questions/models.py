"""Tables of the question bank.

A question's metadata (status, tags, difficulty) lives on `questions`; its content lives in
immutable `question_versions` once published. Attempts point at the version they showed.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class QuestionType(enum.StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    TRUE_FALSE = "true_false"
    SHORT_ANSWER = "short_answer"
    NUMERICAL = "numerical"


class QuestionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Question(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_status_subject_system", "status", "subject", "system"),
        Index("ix_questions_author_status", "author_id", "status"),
    )

    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.DRAFT.value)
    type: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(100), default="")
    system: Mapped[str] = mapped_column(String(100), default="")
    topic: Mapped[str] = mapped_column(String(100), default="")
    difficulty: Mapped[int | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(String(500), default="")
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("question_versions.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    version_count: Mapped[int] = mapped_column(default=0)
    # Lower-cased stem, explanation and tags, for portable text search.
    search_text: Mapped[str] = mapped_column(Text, default="")


class QuestionVersion(UUIDPrimaryKey, Base):
    __tablename__ = "question_versions"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    type: Mapped[str] = mapped_column(String(30))
    stem_md: Mapped[str] = mapped_column(Text)
    stem_html: Mapped[str] = mapped_column(Text)
    explanation_md: Mapped[str] = mapped_column(Text, default="")
    explanation_html: Mapped[str] = mapped_column(Text, default="")
    # [{"id": "a", "text_md", "text_html", "explanation_md", "explanation_html", "correct"}]
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # short answer: {"accepted": [...]}; numerical: {"value": x, "tolerance": t}
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class QuestionTag(Base):
    __tablename__ = "question_tags"

    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class QuestionImage(UUIDPrimaryKey, Base):
    __tablename__ = "question_images"

    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
