"""Aggregates kept up to date when attempts are submitted, so reads never scan answers.

Percentiles count users above/below through indexes on `user_stats`; dashboards read the
per-subject and per-day rows of one user; leaderboards sum `user_daily_stats` over a period,
and per-quiz leaderboards read `attempt_results`.

A row of `user_stats` / `user_subject_stats` / `user_daily_stats` exists only once its user has
answered at least one question there (`answered >= 1`): the percentile counts rely on it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import Base, utcnow


class UserStats(Base):
    __tablename__ = "user_stats"
    __table_args__ = (
        Index("ix_user_stats_accuracy", "accuracy"),
        Index("ix_user_stats_avg_time", "avg_time_seconds"),
        Index("ix_user_stats_answered", "answered"),
        # All-time leaderboard: top-N by correct answers, ties by accuracy, read off the index.
        Index("ix_user_stats_correct_accuracy", "correct", "accuracy"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    answered: Mapped[int] = mapped_column(default=0)
    correct: Mapped[int] = mapped_column(default=0)
    time_seconds: Mapped[int] = mapped_column(default=0)
    accuracy: Mapped[float] = mapped_column(default=0.0)
    avg_time_seconds: Mapped[float] = mapped_column(default=0.0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UserSubjectStats(Base):
    __tablename__ = "user_subject_stats"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    system: Mapped[str] = mapped_column(String(100), primary_key=True)
    answered: Mapped[int] = mapped_column(default=0)
    correct: Mapped[int] = mapped_column(default=0)
    time_seconds: Mapped[int] = mapped_column(default=0)


class UserDailyStats(Base):
    __tablename__ = "user_daily_stats"
    __table_args__ = (Index("ix_user_daily_stats_day_correct", "day", "correct"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    answered: Mapped[int] = mapped_column(default=0)
    correct: Mapped[int] = mapped_column(default=0)
    time_seconds: Mapped[int] = mapped_column(default=0)


class AttemptResult(Base):
    """One submitted attempt's result, written once by `record_submission`.

    Serves the per-quiz leaderboards (best percent per user in a period) and makes recording
    idempotent: a second call for the same attempt finds its row and changes nothing. No
    foreign key to `attempts`: a result is a historical fact for the boards. Results of a
    deleted quiz go with it.
    """

    __tablename__ = "attempt_results"
    __table_args__ = (Index("ix_attempt_results_quiz_submitted", "quiz_id", "submitted_at"),)

    attempt_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    quiz_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("quizzes.id", ondelete="CASCADE"), default=None
    )
    percent: Mapped[float]
    question_count: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    correct: Mapped[int] = mapped_column(default=0)
    time_spent_seconds: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime]


class RankBucket(Base):
    """How many ranked users have a percentile measure in each bucket (see analytics.ranking).

    Written with `user_stats` by the delivery of each `attempt.submitted`, so a percentile is
    a sum over a few hundred bucket rows plus one short index range inside the user's own
    bucket, instead of counting most of `user_stats`. `analytics.service.rebuild_rank_buckets`
    recomputes it from `user_stats` (after a bulk load, or after users were deleted).
    """

    __tablename__ = "rank_buckets"

    metric: Mapped[str] = mapped_column(String(20), primary_key=True)
    bucket: Mapped[int] = mapped_column(primary_key=True)
    users: Mapped[int] = mapped_column(default=0)


class ItemResponse(Base):
    """One item of a submitted attempt, as item analysis reads it: written when analytics
    records the submission (one row per question of the attempt), so item analysis reads
    analytics' own rows, not the attempts module's. No foreign keys to questions or attempts:
    a fact about a past sitting, like `attempt_results` (questions are archived, never
    deleted); the user's rows go with the user."""

    __tablename__ = "item_responses"
    __table_args__ = (Index("ix_item_responses_question_submitted", "question_id", "submitted_at"),)

    attempt_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    question_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    question_version_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # As the student gave it: {"choice": id}, {"choices": [ids]} or {"text": ...}; None when
    # left unanswered.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    is_correct: Mapped[bool]
    attempt_percent: Mapped[float]
    submitted_at: Mapped[datetime]
