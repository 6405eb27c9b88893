"""Request and response models of the question bank."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator, model_validator

from studyhall.core.schemas import Schema

# Enums other modules use come from here, never from models.
from studyhall.questions.models import QuestionStatus as QuestionStatus
from studyhall.questions.models import QuestionType as QuestionType

MAX_OPTIONS = 12


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class OptionIn(Schema):
    text: str = Field(min_length=1, max_length=5000)
    correct: bool = False
    explanation: str = Field(default="", max_length=20000)

    _text_not_blank = field_validator("text")(_not_blank)


class NumericAnswer(Schema):
    value: float
    tolerance: float = Field(default=0.0, ge=0)


class QuestionContent(Schema):
    """The versioned part of a question: what a student sees and how it is graded."""

    type: QuestionType
    stem: str = Field(min_length=1, max_length=50000)
    explanation: str = Field(default="", max_length=50000)
    options: list[OptionIn] = Field(default_factory=list, max_length=MAX_OPTIONS)
    accepted_answers: list[str] = Field(default_factory=list, max_length=50)
    numeric_answer: NumericAnswer | None = None

    _stem_not_blank = field_validator("stem")(_not_blank)

    @model_validator(mode="after")
    def _fits_type(self) -> QuestionContent:
        correct = sum(option.correct for option in self.options)
        if self.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE):
            if len(self.options) < 2:
                raise ValueError("choice questions need at least two options")
            if self.type is QuestionType.SINGLE_CHOICE and correct != 1:
                raise ValueError("a single-choice question needs exactly one correct option")
            if self.type is QuestionType.MULTIPLE_RESPONSE and correct < 1:
                raise ValueError("a multiple-response question needs a correct option")
        elif self.type is QuestionType.TRUE_FALSE:
            if len(self.options) != 2 or correct != 1:
                raise ValueError("a true/false question has two options, one of them correct")
        elif self.type is QuestionType.SHORT_ANSWER:
            if not [a for a in self.accepted_answers if a.strip()]:
                raise ValueError("a short-answer question needs at least one accepted answer")
        elif self.type is QuestionType.NUMERICAL and self.numeric_answer is None:
            raise ValueError("a numerical question needs numeric_answer")
        return self


class QuestionMeta(Schema):
    subject: str = Field(default="", max_length=100)
    system: str = Field(default="", max_length=100)
    topic: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=30)
    difficulty: int | None = Field(default=None, ge=1, le=5)
    source: str = Field(default="", max_length=500)

    @field_validator("subject", "system", "topic", "source")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("tags")
    @classmethod
    def _normalize_tags(cls, tags: list[str]) -> list[str]:
        cleaned = {tag.strip().lower()[:60] for tag in tags if tag.strip()}
        return sorted(cleaned)


class QuestionCreate(QuestionMeta, QuestionContent):
    pass


class QuestionUpdate(QuestionMeta, QuestionContent):
    """A full replacement of content and metadata (a new version once published)."""


class OptionRead(Schema):
    id: str
    text_html: str
    explanation_html: str
    correct: bool


class QuestionVersionRead(Schema):
    """One immutable version; `correct`/`answer` must be hidden from students before review."""

    id: uuid.UUID
    question_id: uuid.UUID
    number: int
    type: QuestionType
    stem_html: str
    explanation_html: str
    options: list[OptionRead]
    answer: dict[str, Any]
    subject: str = ""
    system: str = ""
    topic: str = ""


class QuestionRead(Schema):
    id: uuid.UUID
    status: QuestionStatus
    type: QuestionType
    subject: str
    system: str
    topic: str
    tags: list[str]
    difficulty: int | None
    source: str
    author_id: uuid.UUID | None
    version_count: int
    created_at: datetime
    updated_at: datetime
    current: QuestionVersionRead | None
    # The author's source text, for editing (only filled for authors).
    content: QuestionContent | None = None


class QuestionSummary(Schema):
    id: uuid.UUID
    status: QuestionStatus
    type: QuestionType
    subject: str
    system: str
    topic: str
    tags: list[str]
    difficulty: int | None
    # Plain text of the rendered stem (not HTML: escape it when showing it).
    stem_preview: str
    updated_at: datetime


class QuestionFilter(Schema):
    text: str = ""
    subject: str | None = None
    system: str | None = None
    topic: str | None = None
    tag: str | None = None
    type: QuestionType | None = None
    status: QuestionStatus | None = None


class GradeResult(Schema):
    answered: bool
    is_correct: bool
    score: float


class VersionHistoryEntry(QuestionVersionRead):
    """One version in a question's history, for its authors (answers included)."""

    created_at: datetime
    created_by: uuid.UUID | None


class SubjectCount(Schema):
    subject: str
    system: str
    count: int


class ImageRead(Schema):
    id: uuid.UUID
    question_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    created_at: datetime
    # Where the image is served; usable as-is in the question's Markdown.
    url: str
    markdown: str
