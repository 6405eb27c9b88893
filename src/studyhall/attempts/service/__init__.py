"""Sittings of quizzes and custom tests: start, answer, auto-save, pause/resume, time limits,
grading, review. Other modules call these functions (and read `attempts.schemas`)."""

from __future__ import annotations

from studyhall.attempts.service.common import DEADLINE_GRACE, AttemptExpired
from studyhall.attempts.service.progress import (
    answer_item,
    pause_attempt,
    prepare_submit,
    resume_attempt,
    save_progress,
    update_item,
)
from studyhall.attempts.service.reading import (
    count_quiz_attempts,
    get_attempt,
    get_item,
    get_progress,
    get_result,
    get_review,
    list_attempts,
)
from studyhall.attempts.service.starting import create_custom_test, start_quiz_attempt
from studyhall.attempts.service.submission import submit_attempt, submit_overdue_attempts

__all__ = [
    "DEADLINE_GRACE",
    "AttemptExpired",
    "answer_item",
    "count_quiz_attempts",
    "create_custom_test",
    "get_attempt",
    "get_item",
    "get_progress",
    "get_result",
    "get_review",
    "list_attempts",
    "pause_attempt",
    "prepare_submit",
    "resume_attempt",
    "save_progress",
    "start_quiz_attempt",
    "submit_attempt",
    "submit_overdue_attempts",
    "update_item",
]
