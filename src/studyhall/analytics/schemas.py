"""Models of the analytics module, including what attempts report when one is submitted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from studyhall.core.schemas import Schema


class ItemRecord(Schema):
    question_id: uuid.UUID
    question_version_id: uuid.UUID
    subject: str
    system: str
    answered: bool
    is_correct: bool
    time_spent_seconds: int
    response: dict[str, Any] | None


class SubmissionRecord(Schema):
    """A submitted attempt, as analytics needs it (sent by attempts.service on submit)."""

    attempt_id: uuid.UUID
    user_id: uuid.UUID
    quiz_id: uuid.UUID | None
    submitted_at: datetime
    percent: float
    time_spent_seconds: int
    items: list[ItemRecord]
