"""Request and response models of quizzes and categories."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import Field, field_validator

from studyhall.core.schemas import Schema

# Enums other modules use come from here, never from models.
from studyhall.quizzes.models import FeedbackMode as FeedbackMode
from studyhall.quizzes.models import QuizStatus as QuizStatus

# The one limit on a quiz's questions, shared with attempts (attempts.schemas.MAX_QUESTIONS):
# an attempt addresses its items by position below it, so a longer quiz could not be sat to
# its end. Quizzes sit below attempts in the module layers, so the constant lives here.
MAX_QUIZ_QUESTIONS = 200
MIN_TIME_LIMIT_SECONDS = 30
MAX_TIME_LIMIT_SECONDS = 24 * 3600
MAX_ATTEMPTS_ALLOWED = 1000


# ---------------------------------------------------------------- categories


class CategoryCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return value.strip()


class CategoryUpdate(Schema):
    """Only the fields sent change; a new name gives a new slug."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)

    @field_validator("name", "description")
    @classmethod
    def _strip_optional(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("name must not be blank")
        return value


class CategoryRead(Schema):
    id: uuid.UUID
    name: str
    slug: str
    description: str


class CategoryBrief(Schema):
    id: uuid.UUID
    name: str
    slug: str


# ---------------------------------------------------------------- quizzes


class QuizSettings(Schema):
    """How a quiz is sat. `None` means no limit (time or attempts)."""

    time_limit_seconds: int | None = Field(
        default=None, ge=MIN_TIME_LIMIT_SECONDS, le=MAX_TIME_LIMIT_SECONDS
    )
    shuffle_questions: bool = False
    shuffle_options: bool = False
    attempts_allowed: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS_ALLOWED)
    pass_mark_percent: int = Field(default=50, ge=0, le=100)
    feedback_mode: FeedbackMode = FeedbackMode.AFTER_SUBMIT


class QuizCreate(QuizSettings):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)
    category_id: uuid.UUID | None = None
    question_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_QUIZ_QUESTIONS)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title must not be blank")
        return value


class QuizUpdate(Schema):
    """Only the fields sent change; send `null` to clear the category, time or attempts limit."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    category_id: uuid.UUID | None = None
    time_limit_seconds: int | None = Field(
        default=None, ge=MIN_TIME_LIMIT_SECONDS, le=MAX_TIME_LIMIT_SECONDS
    )
    shuffle_questions: bool | None = None
    shuffle_options: bool | None = None
    attempts_allowed: int | None = Field(default=None, ge=1, le=MAX_ATTEMPTS_ALLOWED)
    pass_mark_percent: int | None = Field(default=None, ge=0, le=100)
    feedback_mode: FeedbackMode | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ValueError("title must not be blank")
        return value


class QuizQuestionsSet(Schema):
    """The quiz's questions in their new order (adds, removes and reorders at once)."""

    question_ids: list[uuid.UUID] = Field(max_length=MAX_QUIZ_QUESTIONS)


class QuizQuestionAdd(Schema):
    question_id: uuid.UUID
    position: int | None = Field(default=None, ge=0, description="0-based; default: the end")


class QuizQuestionMove(Schema):
    position: int = Field(ge=0, description="0-based; past the end means last")


class QuizSummary(Schema):
    id: uuid.UUID
    title: str
    status: QuizStatus
    category: CategoryBrief | None
    question_count: int
    time_limit_seconds: int | None
    attempts_allowed: int | None
    pass_mark_percent: int
    author_id: uuid.UUID | None
    updated_at: datetime


class QuizRead(QuizSettings):
    """A quiz as anyone allowed to see it sees it: never its questions or answers."""

    id: uuid.UUID
    title: str
    description_html: str
    # The Markdown source: only for those who may edit the quiz.
    description: str | None = None
    status: QuizStatus
    category: CategoryBrief | None
    question_count: int
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    can_edit: bool = False


class QuizQuestionItem(Schema):
    """A question of a quiz as its editors see it in the question list."""

    question_id: uuid.UUID
    position: int
    type: str
    stem_preview: str
    subject: str
    system: str
    published: bool


class QuizListScope(enum.StrEnum):
    """Which quizzes a list shows, decided by the viewer's role (never by the client)."""

    PUBLISHED = "published"  # students: everyone sees the same list
    AUTHOR = "author"  # teachers: published plus their own drafts
    ALL = "all"  # admins


class QuizFilter(Schema):
    category: str | None = Field(default=None, max_length=100, description="category slug")
    text: str = Field(default="", max_length=200)
    status: QuizStatus | None = None
    mine: bool = False


class QuizAttemptSpec(Schema):
    """What the attempts module needs to start a sitting of a quiz."""

    id: uuid.UUID
    title: str
    question_ids: list[uuid.UUID]
    time_limit_seconds: int | None
    shuffle_questions: bool
    shuffle_options: bool
    attempts_allowed: int | None
    pass_mark_percent: int
    feedback_mode: FeedbackMode
