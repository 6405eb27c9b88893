"""Events the attempts module announces (see `core.events`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from studyhall.core.events import DomainEvent


class SubmittedItem(BaseModel):
    position: int
    question_id: uuid.UUID
    question_version_id: uuid.UUID
    subject: str
    system: str
    answered: bool
    is_correct: bool
    time_spent_seconds: int
    # single/true-false: {"choice": id}; multiple: {"choices": [ids]}; short/numerical: {"text"}
    response: dict[str, Any] | None


class AttemptSubmitted(DomainEvent):
    """An attempt was graded and closed (by its student, or automatically at its deadline).
    Ordered per user."""

    name = "attempt.submitted"
    aggregate = "user_id"

    attempt_id: uuid.UUID
    user_id: uuid.UUID
    quiz_id: uuid.UUID | None
    submitted_at: datetime
    auto_submitted: bool
    percent: float
    passed: bool | None
    time_spent_seconds: int
    items: list[SubmittedItem]
