"""Tables of quizzes: categories, quizzes and their ordered questions."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import CONFLICT_CODE, CONFLICT_DETAIL, Base, Timestamps, UUIDPrimaryKey


class FeedbackMode(enum.StrEnum):
    """When answers and explanations are shown to the student."""

    AFTER_EACH = "after_each"
    AFTER_SUBMIT = "after_submit"
    NEVER = "never"


class QuizStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


# The 409 of a category created at the same moment as another: the two share a name (and
# so a slug; either index may be the one that refuses) or just a slug (a retry gets `-2`).
_NAME_TAKEN = {
    CONFLICT_CODE: "category_name_taken",
    CONFLICT_DETAIL: "A category with this name was just created; reload and try again.",
}


class Category(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "quiz_categories"

    name: Mapped[str] = mapped_column(String(100), unique=True, info=_NAME_TAKEN)
    slug: Mapped[str] = mapped_column(String(100), unique=True, info=_NAME_TAKEN)
    description: Mapped[str] = mapped_column(Text, default="")


class Quiz(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "quizzes"
    __table_args__ = (Index("ix_quizzes_status_category", "status", "category_id"),)

    title: Mapped[str] = mapped_column(String(200))
    description_md: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("quiz_categories.id", ondelete="SET NULL"), default=None
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=QuizStatus.DRAFT.value)
    time_limit_seconds: Mapped[int | None] = mapped_column(default=None)
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=False)
    attempts_allowed: Mapped[int | None] = mapped_column(default=None)
    pass_mark_percent: Mapped[int] = mapped_column(default=50)
    feedback_mode: Mapped[str] = mapped_column(String(20), default=FeedbackMode.AFTER_SUBMIT.value)
    question_count: Mapped[int] = mapped_column(default=0)


class QuizQuestion(Base):
    __tablename__ = "quiz_questions"
    __table_args__ = (Index("ix_quiz_questions_quiz_position", "quiz_id", "position"),)

    quiz_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("quizzes.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]
