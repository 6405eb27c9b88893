"""What the quiz pages share: paths, messages, who is acting, and reading forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from studyhall.quizzes.schemas import FeedbackMode
from studyhall.web.forms import FormState

SchemaT = TypeVar("SchemaT", bound=BaseModel)

QUIZZES = "/quizzes"
CATEGORIES = "/categories"
PER_PAGE = 12
PICKER_PER_PAGE = 10
FEEDBACK_LABELS = {
    FeedbackMode.AFTER_EACH: "After each question",
    FeedbackMode.AFTER_SUBMIT: "After submitting",
    FeedbackMode.NEVER: "Never",
}
FEEDBACK_HINTS = {
    FeedbackMode.AFTER_EACH: "Students see whether they were right, with the explanation, "
    "as soon as they answer each question.",
    FeedbackMode.AFTER_SUBMIT: "Answers and explanations are shown once the quiz is submitted.",
    FeedbackMode.NEVER: "Students see their score only, never the answers.",
}
# What a redirect may ask a page to confirm (`?done=key`); never free text.
DONE_MESSAGES = {
    "created": "Quiz saved as a draft. Add questions, then publish it.",
    "saved": "Settings saved.",
    "published": "Published: students can now find and take this quiz.",
    "unpublished": "Back to draft: students no longer see this quiz.",
    "questions": "Questions updated.",
    "deleted": "The quiz was deleted.",
    "category-created": "Category added.",
    "category-saved": "Category saved.",
    "category-deleted": "Category deleted. Its quizzes are now without a category.",
}
SETTINGS_MESSAGES = {
    "title": "Enter a title of up to 200 characters.",
    "description": "Keep the description under 20,000 characters.",
    "category_id": "Choose a category from the list.",
    "time_limit_minutes": "Enter a whole number of minutes from 1 to 1440, or leave it empty.",
    "attempts_allowed": "Enter a whole number from 1 to 1000, or leave it empty.",
    "pass_mark_percent": "Enter a pass mark from 0 to 100.",
    "feedback_mode": "Choose when answers are shown.",
}
# Schema fields whose errors are shown on a differently named form field.
FORM_FIELD_OF = {"time_limit_seconds": "time_limit_minutes"}
CATEGORY_MESSAGES = {
    "name": "Enter a name of up to 100 characters.",
    "description": "Keep the description under 2,000 characters.",
}


def done_message(request: Request) -> str | None:
    return DONE_MESSAGES.get(request.query_params.get("done", ""))


def parse_form_data(
    schema: type[SchemaT], data: Mapping[str, Any], state: FormState, messages: Mapping[str, str]
) -> SchemaT | None:
    """The validated data, or None with the errors on the form, in the order of its fields."""
    parsed: SchemaT | None = None
    try:
        parsed = schema.model_validate(dict(data))
    except ValidationError as exc:
        for problem in exc.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            name = FORM_FIELD_OF.get(name, name)
            state.errors.setdefault(name, messages.get(name, "Check this field."))
    if state.errors:
        order = list(messages)
        ordered = sorted(
            state.errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99
        )
        state.invalid(dict(ordered))
        return None
    return parsed
