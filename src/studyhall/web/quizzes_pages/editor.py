"""The teacher's quiz editor: settings, the ordered questions, publishing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from studyhall.accounts.service import Principal
from studyhall.core.errors import Forbidden, StudyhallError
from studyhall.core.pagination import PageParams
from studyhall.questions import actions as questions
from studyhall.questions.schemas import QuestionFilter, QuestionStatus
from studyhall.quizzes import actions, service
from studyhall.quizzes.actions import author_of
from studyhall.quizzes.schemas import FeedbackMode, QuizCreate, QuizRead, QuizUpdate
from studyhall.web.deps import PageDb, SignedIn, abandon
from studyhall.web.forms import FormState
from studyhall.web.quizzes_pages.common import (
    FEEDBACK_HINTS,
    FEEDBACK_LABELS,
    PICKER_PER_PAGE,
    QUIZZES,
    SETTINGS_MESSAGES,
    done_message,
    parse_form_data,
)
from studyhall.web.rendering import is_htmx, render
from studyhall.web.routing import page_router, redirect

router = page_router()


# ---------------------------------------------------------------- the settings form


def _settings_values(quiz: QuizRead) -> dict[str, str]:
    return {
        "title": quiz.title,
        "description": quiz.description or "",
        "category_id": str(quiz.category.id) if quiz.category else "",
        "time_limit_minutes": str(quiz.time_limit_seconds // 60) if quiz.time_limit_seconds else "",
        "attempts_allowed": str(quiz.attempts_allowed or ""),
        "pass_mark_percent": str(quiz.pass_mark_percent),
        "feedback_mode": quiz.feedback_mode.value,
        "shuffle_questions": "1" if quiz.shuffle_questions else "",
        "shuffle_options": "1" if quiz.shuffle_options else "",
    }


def _default_values() -> dict[str, str]:
    return {"pass_mark_percent": "50", "feedback_mode": FeedbackMode.AFTER_SUBMIT.value}


def _read_settings_form(form: FormData) -> FormState:
    names = [*SETTINGS_MESSAGES, "shuffle_questions", "shuffle_options"]
    values = {name: str(form.get(name) or "") for name in names}
    return FormState.of(values)


def _whole_number(text: str) -> int | str | None:
    """A whole number, None for an empty field, or the text itself (the schema refuses it)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def _settings_data(state: FormState) -> dict[str, Any]:
    values = state.values
    minutes = _whole_number(values.get("time_limit_minutes", ""))
    if isinstance(minutes, int) and not 1 <= minutes <= 24 * 60:
        state.errors["time_limit_minutes"] = SETTINGS_MESSAGES["time_limit_minutes"]
    return {
        "title": values.get("title", ""),
        "description": values.get("description", ""),
        "category_id": values.get("category_id") or None,
        "time_limit_seconds": minutes * 60 if isinstance(minutes, int) else minutes,
        "attempts_allowed": _whole_number(values.get("attempts_allowed", "")),
        "pass_mark_percent": _whole_number(values.get("pass_mark_percent", "")),
        "feedback_mode": values.get("feedback_mode", ""),
        "shuffle_questions": values.get("shuffle_questions") == "1",
        "shuffle_options": values.get("shuffle_options") == "1",
    }


async def _settings_page(
    request: Request,
    db: AsyncSession,
    state: FormState,
    quiz: QuizRead | None = None,
    status_code: int = 200,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    context: dict[str, Any] = {
        "active": "quizzes",
        "form": state,
        "quiz": quiz,
        "categories": await service.all_categories(db),
        "feedback_labels": FEEDBACK_LABELS,
        "feedback_hints": FEEDBACK_HINTS,
        "page_has_errors": state.has_errors,
        "done": done_message(request),
        **(extra or {}),
    }
    template = "quizzes/edit.html" if quiz else "quizzes/new.html"
    return render(request, template, context, status_code=status_code)


CATEGORY_FIELD = {"category_not_found": "category_id"}


@router.get(QUIZZES + "/new")
async def new_quiz_page(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    author_of(viewer)
    return await _settings_page(request, db, FormState.of(_default_values()))


@router.post(QUIZZES + "/new")
async def create_quiz(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    state = _read_settings_form(await request.form())
    data = parse_form_data(QuizCreate, _settings_data(state), state, SETTINGS_MESSAGES)
    if data is None:
        return await _settings_page(request, db, state, status_code=state.status)
    try:
        created = await actions.create_quiz(db, viewer, data)
    except StudyhallError as exc:
        if exc.code not in CATEGORY_FIELD:
            raise
        await abandon(db)
        state.fail(exc, CATEGORY_FIELD)
        return await _settings_page(request, db, state, status_code=exc.status)
    return redirect(f"{QUIZZES}/{created.id}/edit?done=created")


# ---------------------------------------------------------------- the editor


@dataclass
class Picker:
    """A search of the bank's published questions, to add to the quiz."""

    text: str = ""
    page: int = 1

    @classmethod
    def from_request(cls, request: Request) -> Picker:
        params = request.query_params
        page = params.get("find_page", "1")
        return cls(
            text=params.get("find", "").strip()[:200],
            page=min(max(int(page), 1), 10_000) if page.isdigit() else 1,
        )

    def url(self, quiz_id: uuid.UUID, page: int) -> str:
        values = {"find": self.text, "find_page": str(page) if page > 1 else ""}
        kept = {name: value for name, value in values.items() if value}
        return f"{QUIZZES}/{quiz_id}/edit?{urlencode(kept)}#picker"


async def _editor_context(
    db: AsyncSession, viewer: Principal, quiz_id: uuid.UUID, picker: Picker
) -> dict[str, Any]:
    items = await actions.quiz_questions(db, viewer, quiz_id)
    found = await questions.list_questions(
        db,
        viewer,
        QuestionFilter(text=picker.text, status=QuestionStatus.PUBLISHED),
        PageParams(page=picker.page, per_page=PICKER_PER_PAGE),
    )
    return {
        "items": items,
        "in_quiz": {item.question_id for item in items},
        "picker": picker,
        "found": found,
    }


async def _editor_page(
    request: Request,
    db: AsyncSession,
    viewer: Principal,
    quiz_id: uuid.UUID,
    state: FormState | None = None,
    status_code: int = 200,
) -> Response:
    quiz = await actions.get_quiz(db, viewer, quiz_id)
    if not quiz.can_edit:
        raise Forbidden("You can only change your own quizzes.", code="not_quiz_author")
    context = await _editor_context(db, viewer, quiz_id, Picker.from_request(request))
    if is_htmx(request) and request.headers.get("hx-target") == "picker-results":
        return render(request, "quizzes/_picker.html", {"quiz": quiz, **context})
    form = state or FormState.of(_settings_values(quiz))
    return await _settings_page(request, db, form, quiz, status_code, extra=context)


@router.get(QUIZZES + "/{quiz_id}/edit")
async def edit_quiz_page(
    quiz_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    author_of(viewer)
    return await _editor_page(request, db, viewer, quiz_id)


@router.post(QUIZZES + "/{quiz_id}/edit")
async def update_quiz(
    quiz_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    state = _read_settings_form(await request.form())
    data = parse_form_data(QuizUpdate, _settings_data(state), state, SETTINGS_MESSAGES)
    if data is None:
        return await _editor_page(request, db, viewer, quiz_id, state, state.status)
    try:
        await actions.update_quiz(db, viewer, quiz_id, data)
    except StudyhallError as exc:
        if exc.code not in CATEGORY_FIELD:
            raise
        await abandon(db)
        state.fail(exc, CATEGORY_FIELD)
        return await _editor_page(request, db, viewer, quiz_id, state, exc.status)
    return redirect(f"{QUIZZES}/{quiz_id}/edit?done=saved")


@router.post(QUIZZES + "/{quiz_id}/publish")
async def publish_quiz(
    quiz_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    try:
        await actions.publish_quiz(db, viewer, quiz_id)
    except StudyhallError as exc:
        if exc.status != 409:
            raise
        await abandon(db)
        return await _publish_refused(request, db, viewer, quiz_id, exc)
    return redirect(f"{QUIZZES}/{quiz_id}?done=published")


async def _publish_refused(
    request: Request, db: AsyncSession, viewer: Principal, quiz_id: uuid.UUID, exc: StudyhallError
) -> Response:
    quiz = await actions.get_quiz(db, viewer, quiz_id)
    context = await _editor_context(db, viewer, quiz_id, Picker.from_request(request))
    context["publish_problem"] = exc.detail
    form = FormState.of(_settings_values(quiz))
    return await _settings_page(request, db, form, quiz, exc.status, extra=context)


@router.post(QUIZZES + "/{quiz_id}/unpublish")
async def unpublish_quiz(quiz_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    await actions.unpublish_quiz(db, viewer, quiz_id)
    return redirect(f"{QUIZZES}/{quiz_id}/edit?done=unpublished")


@router.post(QUIZZES + "/{quiz_id}/delete")
async def delete_quiz(quiz_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    await actions.delete_quiz(db, viewer, quiz_id)
    return redirect(f"{QUIZZES}?done=deleted")


# ---------------------------------------------------------------- the quiz's questions


async def _questions_changed(
    request: Request,
    db: AsyncSession,
    viewer: Principal,
    quiz_id: uuid.UUID,
    announcement: str,
    focus: str | None = None,
) -> Response:
    """HTMX gets the new list (with a message for screen readers); a plain form goes back to
    the editor."""
    if not is_htmx(request):
        return redirect(f"{QUIZZES}/{quiz_id}/edit?done=questions#questions")
    quiz = await actions.get_quiz(db, viewer, quiz_id)
    items = await actions.quiz_questions(db, viewer, quiz_id)
    context = {"quiz": quiz, "items": items, "announcement": announcement, "focus": focus}
    return render(request, "quizzes/_questions.html", context)


def _form_uuid(form: FormData, name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(form.get(name) or ""))
    except ValueError:
        return None


@router.post(QUIZZES + "/{quiz_id}/questions/add")
async def add_question(
    quiz_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    question_id = _form_uuid(await request.form(), "question_id")
    if question_id is None:
        return await _questions_changed(request, db, viewer, quiz_id, "Choose a question to add.")
    try:
        items = await actions.add_quiz_question(db, viewer, quiz_id, question_id)
    except StudyhallError as exc:
        if exc.code not in ("duplicate_question", "question_not_published", "unknown_question"):
            raise
        await abandon(db)
        return await _questions_changed(request, db, viewer, quiz_id, exc.detail)
    message = f"Question added as number {len(items)}."
    return await _questions_changed(request, db, viewer, quiz_id, message)


@router.post(QUIZZES + "/{quiz_id}/questions/{question_id}/move")
async def move_question(
    quiz_id: uuid.UUID, question_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    direction = str((await request.form()).get("direction") or "")
    current = [item.question_id for item in await actions.quiz_questions(db, viewer, quiz_id)]
    if question_id not in current or direction not in ("up", "down"):
        return await _questions_changed(request, db, viewer, quiz_id, "Nothing was moved.")
    position = current.index(question_id) + (-1 if direction == "up" else 1)
    position = max(0, min(position, len(current) - 1))
    await actions.move_quiz_question(db, viewer, quiz_id, question_id, position)
    # Keep focus on the button pressed, or on its twin once the item reaches an end.
    at_edge = position == 0 if direction == "up" else position == len(current) - 1
    other = "down" if direction == "up" else "up"
    focus = f"move-{other if at_edge else direction}-{question_id}"
    message = f"Moved to position {position + 1} of {len(current)}."
    return await _questions_changed(request, db, viewer, quiz_id, message, focus)


@router.post(QUIZZES + "/{quiz_id}/questions/{question_id}/remove")
async def remove_question(
    quiz_id: uuid.UUID, question_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    try:
        await actions.remove_quiz_question(db, viewer, quiz_id, question_id)
    except StudyhallError as exc:
        if exc.code not in ("quiz_has_no_questions", "question_not_in_quiz"):
            raise
        await abandon(db)
        return await _questions_changed(request, db, viewer, quiz_id, exc.detail)
    return await _questions_changed(request, db, viewer, quiz_id, "Question removed.")
