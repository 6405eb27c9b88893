"""Models of the analytics module, including what attempts report when one is submitted."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import computed_field

from studyhall.core.events import DomainEvent
from studyhall.core.pagination import Page
from studyhall.core.schemas import Schema


class ItemRecord(Schema):
    """One item of a submitted attempt, as analytics reads it."""

    question_id: uuid.UUID
    question_version_id: uuid.UUID
    subject: str
    system: str
    answered: bool
    is_correct: bool
    time_spent_seconds: int
    response: dict[str, Any] | None


class SubmissionRecord(DomainEvent):
    """A submitted attempt as analytics reads it: the `attempt.submitted` event. The attempts
    module emits it as `attempts.events.AttemptSubmitted`, a subclass with more fields, which
    analytics (a lower layer) does not import; it reads the payload with this class."""

    name = "attempt.submitted"
    aggregate = "user_id"

    attempt_id: uuid.UUID
    user_id: uuid.UUID
    quiz_id: uuid.UUID | None
    submitted_at: datetime
    percent: float
    time_spent_seconds: int
    items: Sequence[ItemRecord]


# ---------------------------------------------------------------- my performance


class TrendGranularity(enum.StrEnum):
    DAY = "day"
    WEEK = "week"


class Counts(Schema):
    """Answered questions, correct ones and time spent on them; rates are None before any
    answer. Unanswered questions of an attempt count nowhere."""

    answered: int = 0
    correct: int = 0
    time_seconds: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answered if self.answered else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_time_seconds(self) -> float | None:
        return self.time_seconds / self.answered if self.answered else None


class GroupPerformance(Counts):
    """Performance in one subject, one system, or one subject + system pair."""

    subject: str | None = None
    system: str | None = None


class TrendPoint(Counts):
    """One day, or one week starting on its Monday (UTC)."""

    start: date


class Performance(Schema):
    user_id: uuid.UUID
    overall: Counts
    by_subject: list[GroupPerformance]
    by_system: list[GroupPerformance]
    by_subject_system: list[GroupPerformance]
    granularity: TrendGranularity
    trend: list[TrendPoint]


# ---------------------------------------------------------------- percentile ranking


class PercentileRanking(Schema):
    """Where a user stands among everyone with at least one answer (see
    `analytics.service.percentile_ranking` for the definition and ties).

    Percentiles are 0-100; all are None while the user has not answered anything.
    """

    user_id: uuid.UUID
    ranked: bool
    total_users: int
    answered: int
    accuracy: float | None
    avg_time_seconds: float | None
    accuracy_percentile: float | None
    speed_percentile: float | None
    volume_percentile: float | None
    overall_percentile: float | None


# ---------------------------------------------------------------- leaderboards


class LeaderboardPeriod(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class LeaderboardEntry(Schema):
    rank: int
    user_id: uuid.UUID
    name: str
    correct: int
    answered: int
    accuracy: float


class QuizLeaderboardEntry(Schema):
    rank: int
    user_id: uuid.UUID
    name: str
    percent: float
    time_spent_seconds: int
    submitted_at: datetime


class PeriodWindow(Schema):
    """The UTC days a leaderboard covers, both ends included; None for all time."""

    period: LeaderboardPeriod
    first_day: date | None
    last_day: date | None


class GlobalLeaderboard(Page[LeaderboardEntry]):
    window: PeriodWindow


class QuizLeaderboard(Page[QuizLeaderboardEntry]):
    quiz_id: uuid.UUID
    quiz_title: str = ""
    window: PeriodWindow


# ---------------------------------------------------------------- item analysis


class ResponseRow(Schema):
    """One sitting of a question in a submitted attempt, as item analysis reads it."""

    attempt_id: uuid.UUID
    question_version_id: uuid.UUID
    response: dict[str, Any] | None
    is_correct: bool | None
    attempt_percent: float | None


class OptionStat(Schema):
    option_id: str
    label: str
    correct: bool
    picks: int
    # Share of the answered responses that picked this option (multiple response: the
    # shares add up to more than 100).
    percent: float


class ItemStats(Schema):
    """Classical item statistics over a set of responses (see `analytics.items`)."""

    responses: int
    answered: int
    correct: int
    p_value: float | None
    discrimination: float | None
    group_size: int
    options: list[OptionStat]


class VersionAnalysis(ItemStats):
    version_id: uuid.UUID
    number: int


class ItemAnalysis(ItemStats):
    question_id: uuid.UUID
    type: str
    versions: list[VersionAnalysis]
