"""Pages of attempts: the custom-test builder, starting a quiz, the player, the confirmation
before submitting, the review, and the list of my attempts.

The player works without JavaScript (every question in one form, saved with a button);
static/js/attempt.js turns it into one question at a time with auto-save, a local copy and
recovery (it talks to the JSON API).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from studyhall.accounts.service import Principal
from studyhall.attempts import actions, service
from studyhall.attempts.schemas import (
    DEFAULT_SECONDS_PER_QUESTION,
    MAX_QUESTIONS,
    AttemptMode,
    AttemptRead,
    AttemptStatus,
    CustomTestCreate,
    ItemView,
    ProgressSave,
    QuestionPool,
)
from studyhall.core.deps import Context
from studyhall.core.errors import Conflict, StudyhallError
from studyhall.core.pagination import Page, PageParams
from studyhall.questions import actions as questions
from studyhall.questions.schemas import QuestionType
from studyhall.quizzes.schemas import FeedbackMode
from studyhall.web.deps import PageDb, SignedIn, abandon
from studyhall.web.forms import FormState
from studyhall.web.rendering import render
from studyhall.web.routing import page_router, redirect

router = page_router()

PER_PAGE = 20
POOL_LABELS = {
    QuestionPool.UNUSED: ("Unused", "Questions you have not seen in a submitted test yet."),
    QuestionPool.INCORRECT: ("Incorrect", "Questions you got wrong the last time."),
    QuestionPool.MARKED: ("Marked", "Questions you marked for review."),
    QuestionPool.ALL: ("All", "Every published question."),
}
MODE_LABELS = {
    AttemptMode.TIMED: (
        "Timed",
        "A time budget per question, counted over the whole test; answers and "
        "explanations at the end.",
    ),
    AttemptMode.TUTOR: (
        "Tutor",
        "No time limit; check each answer and read its explanation as you go.",
    ),
}
BUILDER_MESSAGES = {
    "count": f"Choose how many questions: a whole number from 1 to {MAX_QUESTIONS}.",
    "seconds_per_question": "Choose a time per question from 10 to 3600 seconds.",
    "pool": "Choose a pool.",
    "mode": "Choose a mode.",
    "subjects": "Choose subjects from the list.",
    "systems": "Choose systems from the list.",
}
CHOICE_TYPES = frozenset(
    {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE, QuestionType.TRUE_FALSE}
)
LETTERS = "ABCDEFGHIJKL"


def _attempt_url(attempt_id: uuid.UUID, page: str = "") -> str:
    return f"/attempts/{attempt_id}" + (f"/{page}" if page else "")


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "untimed"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    return f"{rest} s"


def _clock(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def _labels() -> dict[str, Any]:
    return {
        "letters": LETTERS,
        "choice_types": CHOICE_TYPES,
        "duration": _duration,
        "clock": _clock,
        "after_each": FeedbackMode.AFTER_EACH,
    }


# ---------------------------------------------------------------- custom-test builder


async def _builder_page(
    request: Request, db: PageDb, viewer: Principal, form: FormState
) -> Response:
    summary = await questions.subject_summary(db, viewer, PageParams(page=1, per_page=100_000))
    subjects: dict[str, int] = {}
    systems: dict[str, int] = {}
    for row in summary.items:
        if row.subject:
            subjects[row.subject] = subjects.get(row.subject, 0) + row.count
        if row.system:
            systems[row.system] = systems.get(row.system, 0) + row.count
    return render(
        request,
        "attempts/builder.html",
        {
            "form": form,
            "subjects": sorted(subjects.items()),
            "systems": sorted(systems.items()),
            "chosen_subjects": set(form.values.get("subjects", "").split("\n")),
            "chosen_systems": set(form.values.get("systems", "").split("\n")),
            "pools": POOL_LABELS,
            "modes": MODE_LABELS,
            "max_questions": MAX_QUESTIONS,
            "total": sum(row.count for row in summary.items),
            "active": "attempts",
        },
        status_code=form.status,
        headers=form.headers,
    )


@router.get("/tests/new")
async def builder(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    defaults = {
        "count": "20",
        "pool": QuestionPool.UNUSED.value,
        "mode": AttemptMode.TIMED.value,
        "seconds_per_question": str(DEFAULT_SECONDS_PER_QUESTION),
    }
    return await _builder_page(request, db, viewer, FormState.of(defaults))


def _builder_values(form: FormData) -> dict[str, str]:
    values = {
        name: str(form.get(name) or "").strip()
        for name in ("count", "pool", "mode", "seconds_per_question", "shuffle_options")
    }
    values["subjects"] = "\n".join(str(v) for v in form.getlist("subjects"))
    values["systems"] = "\n".join(str(v) for v in form.getlist("systems"))
    return values


@router.post("/tests/new")
async def build_test(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    values = _builder_values(await request.form())
    state = FormState.of(values)
    try:
        data = CustomTestCreate(
            count=values["count"] or "0",
            pool=values["pool"],
            mode=values["mode"],
            seconds_per_question=values["seconds_per_question"] or DEFAULT_SECONDS_PER_QUESTION,
            shuffle_options=values["shuffle_options"] == "1",
            subjects=[s for s in values["subjects"].split("\n") if s],
            systems=[s for s in values["systems"].split("\n") if s],
        )
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for problem in exc.errors():
            name = str(problem["loc"][0]) if problem["loc"] else ""
            errors.setdefault(name, BUILDER_MESSAGES.get(name, "Check this field."))
        return await _builder_page(request, db, viewer, state.invalid(errors))
    try:
        attempt = await actions.create_custom_test(db, viewer, data)
    except StudyhallError as error:
        await abandon(db)
        return await _builder_page(request, db, viewer, state.fail(error))
    return redirect(_attempt_url(attempt.id))


# ---------------------------------------------------------------- starting a quiz


@router.post("/quizzes/{quiz_id}/start")
async def start_quiz(quiz_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    """Start (or go back to the open) attempt at a quiz."""
    attempt, _created = await actions.start_quiz_attempt(db, viewer, quiz_id)
    return redirect(_attempt_url(attempt.id))


# ---------------------------------------------------------------- my attempts


@router.get("/attempts")
async def my_attempts(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    try:
        page_number = max(1, min(100_000, int(request.query_params.get("page", "1"))))
    except ValueError:
        page_number = 1
    results: Page[Any] = await actions.list_attempts(
        db, viewer, PageParams(page=page_number, per_page=PER_PAGE)
    )
    return render(
        request,
        "attempts/list.html",
        {"results": results, "active": "attempts", **_labels()},
    )


# ---------------------------------------------------------------- the player


def _start_position(request: Request, attempt: AttemptRead) -> int:
    try:
        wanted = int(request.query_params.get("q", "")) - 1
    except ValueError:
        wanted = attempt.position
    return wanted if 0 <= wanted < len(attempt.items) else attempt.position


@router.get("/attempts/{attempt_id}")
async def player(attempt_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn) -> Response:
    attempt = await actions.get_attempt(db, viewer, attempt_id)
    if attempt.status is AttemptStatus.SUBMITTED:
        return redirect(_attempt_url(attempt.id, "review"))
    return render(
        request,
        "attempts/player.html",
        {
            "attempt": attempt,
            "position": _start_position(request, attempt),
            "saved": request.query_params.get("saved") == "1",
            **_labels(),
        },
    )


@router.get("/attempts/{attempt_id}/questions/{position}")
async def question_fragment(
    attempt_id: uuid.UUID, position: int, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    """One question's section, for the player's script to swap in after an answer is
    checked (tutor mode)."""
    attempt = await actions.get_attempt(db, viewer, attempt_id)
    if not 0 <= position < len(attempt.items):
        return render(
            request,
            "_alert.html",
            {"title": "Not found", "detail": "No such question."},
            status_code=404,
        )
    return render(
        request,
        "attempts/_question.html",
        {"attempt": attempt, "item": attempt.items[position], "position": position, **_labels()},
    )


def _form_response(item: ItemView, form: FormData) -> dict[str, Any] | None:
    name = f"answer-{item.position}"
    if item.type is QuestionType.MULTIPLE_RESPONSE:
        choices = [str(value) for value in form.getlist(name)]
        return {"choices": choices} if choices else None
    value = form.get(name)
    if value is None or not str(value).strip():
        return None
    if item.type in CHOICE_TYPES:
        return {"choice": str(value)}
    return {"text": str(value)}


def _form_save(attempt: AttemptRead, form: FormData) -> ProgressSave:
    """The whole form as one save: it shows every question, so what it lacks is cleared."""
    try:
        position = int(str(form.get("position") or attempt.position))
    except ValueError:
        position = attempt.position
    open_items = [item for item in attempt.items if not item.locked]
    return ProgressSave(
        version=attempt.version,
        position=position if 0 <= position < len(attempt.items) else None,
        answers={item.position: _form_response(item, form) for item in open_items},
        marks={item.position: form.get(f"mark-{item.position}") == "1" for item in attempt.items},
        notes={
            item.position: str(form.get(f"note-{item.position}") or "")[:5000]
            for item in attempt.items
        },
    )


def _closed_redirect(attempt_id: uuid.UUID, error: StudyhallError) -> Response | None:
    """Where a refused write sends the browser instead of an error page."""
    if error.code in ("attempt_expired", "attempt_submitted"):
        return redirect(_attempt_url(attempt_id, "review"))
    if error.code == "attempt_paused":
        return redirect(_attempt_url(attempt_id))
    return None


@router.post("/attempts/{attempt_id}/save")
async def save_form(
    attempt_id: uuid.UUID, request: Request, db: PageDb, ctx: Context, viewer: SignedIn
) -> Response:
    """The player without JavaScript: save every answer, mark and note, then go on."""
    form = await request.form()
    attempt = await actions.get_attempt(db, viewer, attempt_id)
    if attempt.status is AttemptStatus.SUBMITTED:
        return redirect(_attempt_url(attempt.id, "review"))
    try:
        data = _form_save(attempt, form)
        await actions.save_progress(db, ctx, viewer, attempt.id, data)
    except ValidationError:
        await abandon(db)
        raise Conflict("An answer did not fit its question.", code="invalid_response") from None
    except service.AttemptExpired:
        return redirect(_attempt_url(attempt.id, "review"))
    except Conflict as error:
        await abandon(db)
        target = _closed_redirect(attempt.id, error)
        if target is None:
            raise
        return target
    if form.get("action") == "finish":
        return redirect(_attempt_url(attempt.id, "finish"))
    question = (data.position or 0) + 1
    return redirect(f"{_attempt_url(attempt.id)}?q={question}&saved=1#q-{question}")


@router.post("/attempts/{attempt_id}/pause")
async def pause(attempt_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    try:
        await actions.pause_attempt(db, viewer, attempt_id)
    except service.AttemptExpired:
        return redirect(_attempt_url(attempt_id, "review"))
    except Conflict as error:
        await abandon(db)
        return _closed_redirect(attempt_id, error) or redirect(_attempt_url(attempt_id))
    return redirect(_attempt_url(attempt_id))


@router.post("/attempts/{attempt_id}/resume")
async def resume(attempt_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    try:
        await actions.resume_attempt(db, viewer, attempt_id)
    except service.AttemptExpired:
        return redirect(_attempt_url(attempt_id, "review"))
    except Conflict as error:
        await abandon(db)
        return _closed_redirect(attempt_id, error) or redirect(_attempt_url(attempt_id))
    return redirect(_attempt_url(attempt_id))


# ---------------------------------------------------------------- submitting


@router.get("/attempts/{attempt_id}/finish")
async def finish(attempt_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn) -> Response:
    """The confirmation before submitting: what is unanswered or marked."""
    attempt = await actions.get_attempt(db, viewer, attempt_id)
    if attempt.status is AttemptStatus.SUBMITTED:
        return redirect(_attempt_url(attempt.id, "review"))
    return render(
        request,
        "attempts/finish.html",
        {
            "attempt": attempt,
            "unanswered": [item for item in attempt.items if not item.answered],
            "marked": [item for item in attempt.items if item.marked],
            **_labels(),
        },
    )


@router.post("/attempts/{attempt_id}/submit")
async def submit(attempt_id: uuid.UUID, db: PageDb, ctx: Context, viewer: SignedIn) -> Response:
    await actions.submit_attempt(db, ctx, viewer, attempt_id)
    return redirect(_attempt_url(attempt_id, "review"))


# ---------------------------------------------------------------- review


def _option_text(item: ItemView, option_ids: list[str]) -> list[str]:
    letters = {option.id: LETTERS[index] for index, option in enumerate(item.options)}
    return [letters.get(option_id, "?") for option_id in option_ids]


@router.get("/attempts/{attempt_id}/review")
async def review(attempt_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn) -> Response:
    try:
        reviewed = await actions.get_review(db, viewer, attempt_id)
    except Conflict as error:
        if error.code == "attempt_not_submitted":
            await abandon(db)
            return redirect(_attempt_url(attempt_id))
        raise
    return render(
        request,
        "attempts/review.html",
        {"review": reviewed, "letters_of": _option_text, **_labels()},
    )
