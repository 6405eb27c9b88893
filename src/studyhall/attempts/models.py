"""Tables of attempts: the sitting, its fixed list of items, and each user's question history."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import Base, UUIDPrimaryKey, utcnow


class AttemptKind(enum.StrEnum):
    QUIZ = "quiz"
    CUSTOM = "custom"


class AttemptMode(enum.StrEnum):
    STANDARD = "standard"  # a quiz, feedback as the quiz settings say
    TUTOR = "tutor"  # feedback and explanation after each answer
    TIMED = "timed"  # a per-question budget enforced over the whole test


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    SUBMITTED = "submitted"


class QuestionPool(enum.StrEnum):
    UNUSED = "unused"
    INCORRECT = "incorrect"
    MARKED = "marked"
    ALL = "all"


class Attempt(UUIDPrimaryKey, Base):
    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_user_status", "user_id", "status"),
        Index("ix_attempts_quiz_submitted", "quiz_id", "submitted_at"),
        Index("ix_attempts_status_deadline", "status", "deadline_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quiz_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("quizzes.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(15), default=AttemptStatus.IN_PROGRESS.value)
    title: Mapped[str] = mapped_column(String(200))
    feedback_mode: Mapped[str] = mapped_column(String(20))
    pass_mark_percent: Mapped[int | None] = mapped_column(default=None)
    time_limit_seconds: Mapped[int | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moves later by the paused time on resume; None when untimed.
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    # Optimistic lock for auto-save: every accepted save bumps it.
    version: Mapped[int] = mapped_column(default=1)
    position: Mapped[int] = mapped_column(default=0)
    question_count: Mapped[int] = mapped_column(default=0)
    answered_count: Mapped[int] = mapped_column(default=0)
    correct_count: Mapped[int] = mapped_column(default=0)
    score: Mapped[float] = mapped_column(default=0.0)
    max_score: Mapped[float] = mapped_column(default=0.0)
    percent: Mapped[float | None] = mapped_column(default=None)
    passed: Mapped[bool | None] = mapped_column(default=None)
    time_spent_seconds: Mapped[int] = mapped_column(default=0)
    # The builder's choices for a custom test (subjects, systems, pool, count).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AttemptItem(UUIDPrimaryKey, Base):
    __tablename__ = "attempt_items"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        Index("ix_attempt_items_question_version", "question_version_id"),
        # Item analysis reads every response to one question.
        Index("ix_attempt_items_question_id", "question_id"),
    )

    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    question_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    question_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("question_versions.id", ondelete="CASCADE")
    )
    # Option ids in the order this attempt shows them (fixed at start).
    option_order: Mapped[list[str]] = mapped_column(JSON, default=list)
    # single/true-false: {"choice": id}; multiple: {"choices": [ids]}; short/numerical: {"text"}
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    is_correct: Mapped[bool | None] = mapped_column(default=None)
    score: Mapped[float] = mapped_column(default=0.0)
    time_spent_seconds: Mapped[int] = mapped_column(default=0)
    marked: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    # Tutor mode: once the explanation was shown the answer cannot change.
    locked: Mapped[bool] = mapped_column(default=False)


class UserQuestionState(Base):
    """What a user has done with a question; feeds the custom-test pools."""

    __tablename__ = "user_question_states"
    __table_args__ = (
        Index("ix_user_question_states_user_correct", "user_id", "last_correct"),
        Index("ix_user_question_states_user_marked", "user_id", "marked"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    times_seen: Mapped[int] = mapped_column(default=0)
    times_correct: Mapped[int] = mapped_column(default=0)
    last_correct: Mapped[bool | None] = mapped_column(default=None)
    marked: Mapped[bool] = mapped_column(default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
