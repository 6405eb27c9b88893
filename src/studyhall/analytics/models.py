"""Aggregates kept up to date when attempts are submitted, so reads never scan answers.

Percentiles count users above/below through indexes on `user_stats`; dashboards read the
per-subject and per-day rows of one user; leaderboards sum `user_daily_stats` over a period.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from studyhall.core.db import Base, utcnow


class UserStats(Base):
    __tablename__ = "user_stats"
    __table_args__ = (
        Index("ix_user_stats_accuracy", "accuracy"),
        Index("ix_user_stats_avg_time", "avg_time_seconds"),
        Index("ix_user_stats_answered", "answered"),
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
