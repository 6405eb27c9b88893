"""Request and response models of attempts: starting, answering, auto-save, results, review."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

# Enums other modules use come from here, never from models.
from studyhall.attempts.models import AttemptKind as AttemptKind
from studyhall.attempts.models import AttemptMode as AttemptMode
from studyhall.attempts.models import AttemptStatus as AttemptStatus
from studyhall.attempts.models import QuestionPool as QuestionPool
from studyhall.core.schemas import Schema
from studyhall.questions.schemas import QuestionType
from studyhall.quizzes.schemas import MAX_QUIZ_QUESTIONS, FeedbackMode

# An attempt's items: at most a quiz's questions (one limit, defined by quizzes).
MAX_QUESTIONS = MAX_QUIZ_QUESTIONS
MAX_NOTE_CHARS = 5000
MAX_ITEM_SECONDS = 24 * 3600
DEFAULT_SECONDS_PER_QUESTION = 90

# A response as the player sends it: {"choice": id} | {"choices": [ids]} | {"text": "..."}.
Response = dict[str, Any]


# ---------------------------------------------------------------- requests


class CustomTestCreate(Schema):
    """A test built from the bank: how many questions, from where, and how it is sat."""

    count: int = Field(ge=1, le=MAX_QUESTIONS)
    subjects: list[str] = Field(default_factory=list, max_length=100)
    systems: list[str] = Field(default_factory=list, max_length=100)
    pool: QuestionPool = QuestionPool.ALL
    mode: AttemptMode = AttemptMode.TIMED
    seconds_per_question: int = Field(default=DEFAULT_SECONDS_PER_QUESTION, ge=10, le=3600)
    shuffle_options: bool = False

    @field_validator("subjects", "systems")
    @classmethod
    def _clean_names(cls, names: list[str]) -> list[str]:
        cleaned = [name.strip() for name in names if name.strip()]
        if any(len(name) > 100 for name in cleaned):
            raise ValueError("a subject or system name is at most 100 characters")
        return sorted(set(cleaned))

    @field_validator("mode")
    @classmethod
    def _custom_mode(cls, mode: AttemptMode) -> AttemptMode:
        if mode is AttemptMode.STANDARD:
            raise ValueError("a custom test is sat in tutor or timed mode")
        return mode


class ProgressSave(Schema):
    """An auto-save: what the player holds, stamped with the version it was based on.

    Only the positions present are changed; `answers[p] = null` clears an answer. `time_spent`
    carries each item's running total (never an increment), so a repeated save is harmless.
    """

    version: int = Field(ge=1)
    position: int | None = Field(default=None, ge=0, lt=MAX_QUESTIONS)
    answers: dict[int, Response | None] = Field(default_factory=dict, max_length=MAX_QUESTIONS)
    marks: dict[int, bool] = Field(default_factory=dict, max_length=MAX_QUESTIONS)
    notes: dict[int, str] = Field(default_factory=dict, max_length=MAX_QUESTIONS)
    time_spent: dict[int, int] = Field(default_factory=dict, max_length=MAX_QUESTIONS)

    @field_validator("notes")
    @classmethod
    def _note_length(cls, notes: dict[int, str]) -> dict[int, str]:
        if any(len(note) > MAX_NOTE_CHARS for note in notes.values()):
            raise ValueError(f"a note is at most {MAX_NOTE_CHARS} characters")
        return notes

    @field_validator("time_spent")
    @classmethod
    def _seconds_range(cls, seconds: dict[int, int]) -> dict[int, int]:
        if any(value < 0 or value > MAX_ITEM_SECONDS for value in seconds.values()):
            raise ValueError("time spent is between 0 and 86400 seconds")
        return seconds


class AnswerIn(Schema):
    """One item's answer; null clears it. `time_spent_seconds` is the item's running total."""

    response: Response | None
    time_spent_seconds: int | None = Field(default=None, ge=0, le=MAX_ITEM_SECONDS)


class ItemUpdate(Schema):
    marked: bool | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)


class SubmitIn(Schema):
    """Submit, optionally saving the player's final state first (nothing given is lost)."""

    progress: ProgressSave | None = None


# ---------------------------------------------------------------- responses


class OptionView(Schema):
    id: str
    text_html: str
    # Filled only once the feedback rules allow.
    correct: bool | None = None
    explanation_html: str = ""


class ItemFeedback(Schema):
    """Correctness and the right answer of one item, shown as the feedback mode allows."""

    answered: bool
    is_correct: bool
    correct_option_ids: list[str] = Field(default_factory=list)
    accepted_answers: list[str] = Field(default_factory=list)
    numeric_value: float | None = None
    numeric_tolerance: float | None = None
    explanation_html: str = ""


class ItemView(Schema):
    position: int
    question_id: uuid.UUID
    question_version_id: uuid.UUID
    type: QuestionType
    stem_html: str
    # In the order this attempt shows them (fixed at start).
    options: list[OptionView]
    response: Response | None
    answered: bool
    marked: bool
    note: str
    time_spent_seconds: int
    locked: bool
    feedback: ItemFeedback | None = None


class AttemptResult(Schema):
    attempt_id: uuid.UUID
    status: AttemptStatus
    title: str
    quiz_id: uuid.UUID | None
    question_count: int
    answered_count: int
    correct_count: int
    score: float
    max_score: float
    percent: float | None
    passed: bool | None
    pass_mark_percent: int | None
    submitted_at: datetime | None
    auto_submitted: bool
    time_spent_seconds: int


class AttemptRead(Schema):
    """An attempt as its student sees it while sitting it."""

    id: uuid.UUID
    kind: AttemptKind
    mode: AttemptMode
    status: AttemptStatus
    title: str
    quiz_id: uuid.UUID | None
    feedback_mode: FeedbackMode
    pass_mark_percent: int | None
    time_limit_seconds: int | None
    started_at: datetime
    deadline_at: datetime | None
    paused_at: datetime | None
    submitted_at: datetime | None
    auto_submitted: bool
    # Seconds left on the server's clock (frozen while paused); None when untimed.
    remaining_seconds: int | None
    version: int
    position: int
    question_count: int
    answered_count: int
    items: list[ItemView]
    result: AttemptResult | None = None


class AttemptSummary(Schema):
    id: uuid.UUID
    kind: AttemptKind
    mode: AttemptMode
    status: AttemptStatus
    title: str
    quiz_id: uuid.UUID | None
    question_count: int
    answered_count: int
    started_at: datetime
    deadline_at: datetime | None
    submitted_at: datetime | None
    percent: float | None
    passed: bool | None


class ProgressState(Schema):
    """The saved state of an attempt, as auto-save returns it (and a 409 carries it)."""

    attempt_id: uuid.UUID
    status: AttemptStatus
    version: int
    position: int
    answers: dict[int, Response | None]
    marks: dict[int, bool]
    notes: dict[int, str]
    time_spent: dict[int, int]
    # Items whose answer can no longer change (feedback was shown).
    locked: list[int]
    answered_count: int
    deadline_at: datetime | None
    remaining_seconds: int | None


class AnswerOut(Schema):
    item: ItemView
    version: int
    answered_count: int


class ReviewRead(Schema):
    """A submitted attempt. With feedback mode `never`, items carry no correctness, correct
    answers or explanations: only the student's own answers and the score."""

    result: AttemptResult
    feedback_mode: FeedbackMode
    answers_visible: bool
    items: list[ItemView]
