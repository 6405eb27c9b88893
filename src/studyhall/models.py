"""Imports every module's models so the metadata (and Alembic) sees all tables."""

from __future__ import annotations

from studyhall.accounts import models as accounts_models
from studyhall.analytics import models as analytics_models
from studyhall.attempts import models as attempts_models
from studyhall.core import events as core_events
from studyhall.core.db import Base
from studyhall.questions import models as questions_models
from studyhall.quizzes import models as quizzes_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "analytics_models",
    "attempts_models",
    "core_events",
    "metadata",
    "questions_models",
    "quizzes_models",
]
