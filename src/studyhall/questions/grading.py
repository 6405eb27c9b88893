"""Grading of one response against one question version, per question type.

Responses: single choice / true-false {"choice": option_id}; multiple response
{"choices": [option_ids]}; short answer and numerical {"text": "..."}.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from studyhall.questions.models import QuestionType
from studyhall.questions.schemas import GradeResult, QuestionVersionRead

_SPACES = re.compile(r"\s+")
UNANSWERED = GradeResult(answered=False, is_correct=False, score=0.0)


def normalize_text(text: str) -> str:
    """Case-, accent-form- and whitespace-insensitive comparison form of a short answer."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", text).strip()


def parse_number(text: str) -> float | None:
    cleaned = text.strip().replace(" ", "").replace("\u2212", "-")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def is_answered(response: dict[str, Any] | None) -> bool:
    if not response:
        return False
    if response.get("choice"):
        return True
    if response.get("choices"):
        return True
    return bool(str(response.get("text", "")).strip())


def grade(version: QuestionVersionRead, response: dict[str, Any] | None) -> GradeResult:
    if not is_answered(response):
        return UNANSWERED
    assert response is not None
    correct = _is_correct(version, response)
    return GradeResult(answered=True, is_correct=correct, score=1.0 if correct else 0.0)


def _is_correct(version: QuestionVersionRead, response: dict[str, Any]) -> bool:
    correct_ids = {option.id for option in version.options if option.correct}
    kind = version.type
    if kind in (QuestionType.SINGLE_CHOICE, QuestionType.TRUE_FALSE):
        choice = response.get("choice")
        return isinstance(choice, str) and choice in correct_ids and len(correct_ids) == 1
    if kind is QuestionType.MULTIPLE_RESPONSE:
        chosen = response.get("choices") or []
        return isinstance(chosen, list) and set(map(str, chosen)) == correct_ids
    text = str(response.get("text", ""))
    if kind is QuestionType.SHORT_ANSWER:
        accepted = {normalize_text(a) for a in version.answer.get("accepted", [])}
        return normalize_text(text) in accepted
    if kind is QuestionType.NUMERICAL:
        value = parse_number(text)
        if value is None:
            return False
        target = float(version.answer["value"])
        tolerance = float(version.answer.get("tolerance", 0.0))
        return abs(value - target) <= tolerance + 1e-9 * max(1.0, abs(target))
    return False


def valid_response_shape(version: QuestionVersionRead, response: dict[str, Any]) -> bool:
    """Whether a response names only options of this question, in the shape its type takes."""
    option_ids = {option.id for option in version.options}
    if version.type in (QuestionType.SINGLE_CHOICE, QuestionType.TRUE_FALSE):
        choice = response.get("choice")
        return set(response) <= {"choice"} and (
            choice is None or (isinstance(choice, str) and choice in option_ids | {""})
        )
    if version.type is QuestionType.MULTIPLE_RESPONSE:
        choices = response.get("choices", [])
        return (
            set(response) <= {"choices"}
            and isinstance(choices, list)
            and all(isinstance(c, str) and c in option_ids for c in choices)
        )
    text = response.get("text", "")
    return set(response) <= {"text"} and isinstance(text, str) and len(text) <= 1000
