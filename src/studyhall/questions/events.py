"""Events the question bank announces (see `core.events`)."""

from __future__ import annotations

import uuid

from studyhall.core.events import DomainEvent


class QuestionPublished(DomainEvent):
    """A question version became the one students see: the question was published, or a
    published question was edited (which adds a version)."""

    name = "question.published"
    aggregate = "question_id"

    question_id: uuid.UUID
    version_id: uuid.UUID
    version_number: int
    author_id: uuid.UUID | None
