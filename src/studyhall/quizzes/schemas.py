"""Request and response models of quizzes and categories."""

from __future__ import annotations

import uuid

from studyhall.core.schemas import Schema
from studyhall.quizzes.models import FeedbackMode


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
