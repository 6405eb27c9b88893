"""Pages of the question bank: browse and search, the editor, one question with its images."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from studyhall.accounts.service import Principal
from studyhall.core.deps import AppStorage
from studyhall.core.errors import Forbidden, StudyhallError
from studyhall.core.middleware import accepts_uploads
from studyhall.core.pagination import MAX_PER_PAGE, PageParams
from studyhall.core.storage import chunks_of
from studyhall.questions import actions, images, service
from studyhall.questions.grading import parse_number
from studyhall.questions.schemas import (
    MAX_OPTIONS,
    QuestionCreate,
    QuestionFilter,
    QuestionRead,
    QuestionStatus,
    QuestionType,
    QuestionUpdate,
)
from studyhall.web.deps import PageDb, SignedIn, abandon
from studyhall.web.forms import FormState
from studyhall.web.rendering import is_htmx, render
from studyhall.web.routing import page_router, redirect

router = page_router()
QuestionT = TypeVar("QuestionT", QuestionCreate, QuestionUpdate)

BANK = "/questions"
PER_PAGE = 20
MIN_OPTION_ROWS = 4
TYPE_LABELS = {
    QuestionType.SINGLE_CHOICE: "Single choice",
    QuestionType.MULTIPLE_RESPONSE: "Multiple response",
    QuestionType.TRUE_FALSE: "True / false",
    QuestionType.SHORT_ANSWER: "Short answer",
    QuestionType.NUMERICAL: "Numerical",
}
STATUS_LABELS = {
    QuestionStatus.DRAFT: "Draft",
    QuestionStatus.PUBLISHED: "Published",
    QuestionStatus.ARCHIVED: "Archived",
}
CHOICE_TYPES = frozenset(
    {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_RESPONSE, QuestionType.TRUE_FALSE}
)
# What a redirect may ask the question page to confirm (`?done=key`); never free text.
DONE_MESSAGES = {
    "created": "Question saved as a draft. Publish it when it is ready for students.",
    "saved": "Changes saved.",
    "new-version": "Saved as a new version. Tests already taken keep the version they showed.",
    "published": "Published: students can now find this question.",
    "archived": "Archived: students no longer see this question in the bank or in new tests.",
    "image-added": "Image uploaded. Copy its Markdown into the text to show it.",
    "image-deleted": "Image removed.",
}
FIELD_MESSAGES = {
    "type": "Choose a question type.",
    "stem": "Write the question.",
    "subject": "Keep the subject under 100 characters.",
    "system": "Keep the system under 100 characters.",
    "topic": "Keep the topic under 100 characters.",
    "source": "Keep the source under 500 characters.",
    "tags": "Use at most 30 tags.",
    "difficulty": "Choose a difficulty from 1 to 5.",
    "numeric_value": "Enter the correct value as a number, like 7.4 or 7,4.",
    "numeric_tolerance": "Enter the tolerance as a number of 0 or more.",
    "accepted_answers": "Enter at most 50 accepted answers.",
}


def _actor(viewer: Principal) -> service.Author:
    return actions.author_of(viewer)


def _labels() -> dict[str, Any]:
    return {"type_labels": TYPE_LABELS, "status_labels": STATUS_LABELS}


# ---------------------------------------------------------------- the bank


@dataclass
class BankQuery:
    text: str = ""
    subject: str = ""
    system: str = ""
    topic: str = ""
    tag: str = ""
    type: str = ""
    status: str = ""
    page: int = 1

    @classmethod
    def from_request(cls, request: Request) -> BankQuery:
        params = request.query_params

        def text(name: str, limit: int = 100) -> str:
            return params.get(name, "").strip()[:limit]

        page = params.get("page", "1")
        return cls(
            text=text("text", 200),
            subject=text("subject"),
            system=text("system"),
            topic=text("topic"),
            tag=text("tag", 60),
            type=text("type") if text("type") in set(QuestionType) else "",
            status=text("status") if text("status") in set(QuestionStatus) else "",
            page=min(max(int(page), 1), 100_000) if page.isdigit() else 1,
        )

    def filter(self) -> QuestionFilter:
        return QuestionFilter(
            text=self.text,
            subject=self.subject or None,
            system=self.system or None,
            topic=self.topic or None,
            tag=self.tag or None,
            type=QuestionType(self.type) if self.type else None,
            status=QuestionStatus(self.status) if self.status else None,
        )

    def url(self, page: int | None = None) -> str:
        values = {
            name: value
            for name, value in (
                ("text", self.text),
                ("subject", self.subject),
                ("system", self.system),
                ("topic", self.topic),
                ("tag", self.tag),
                ("type", self.type),
                ("status", self.status),
            )
            if value
        }
        if (page or self.page) > 1:
            values["page"] = str(page or self.page)
        return BANK + ("?" + urlencode(values) if values else "")

    @property
    def is_filtered(self) -> bool:
        return any((self.text, self.subject, self.system, self.topic, self.tag, self.type))


@router.get(BANK)
async def bank(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    """Search and filter; HTMX asks for the results only, as the filters change."""
    actor = _actor(viewer)
    query = BankQuery.from_request(request)
    results = await actions.list_questions(
        db, viewer, query.filter(), PageParams(page=query.page, per_page=PER_PAGE)
    )
    context = {
        **_labels(),
        "active": "questions",
        "query": query,
        "results": results,
        "can_author": actor.can_author,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "bank-results":
        # The address bar gets the tidy URL of this search (no empty parameters).
        headers = {"HX-Push-Url": query.url()}
        return render(
            request, "questions/_results.html", {**context, "partial": True}, headers=headers
        )
    summary = await actions.subject_summary(db, viewer, PageParams(page=1, per_page=MAX_PER_PAGE))
    context["subjects"] = sorted({row.subject for row in summary.items if row.subject})
    context["systems"] = sorted({row.system for row in summary.items if row.system})
    return render(request, "questions/bank.html", context)


# ---------------------------------------------------------------- the editor


@dataclass
class OptionRow:
    text: str = ""
    explanation: str = ""
    correct: bool = False


@dataclass
class Editor:
    """The editor form's values as the author typed them, and what is wrong with them."""

    values: dict[str, str] = field(default_factory=dict)
    options: list[OptionRow] = field(default_factory=list)
    form: FormState = field(default_factory=FormState)
    # Rows ticked as correct, empty rows included (true/false may leave the texts empty).
    ticked: set[int] = field(default_factory=set)

    def rows(self) -> list[OptionRow]:
        """The rows to show: the author's, then blank ones up to a useful minimum."""
        wanted = max(MIN_OPTION_ROWS, len(self.options) + 1)
        blanks = [OptionRow() for _ in range(min(wanted, MAX_OPTIONS) - len(self.options))]
        return [*self.options, *blanks][:MAX_OPTIONS]

    @classmethod
    def blank(cls) -> Editor:
        return cls(values={"type": QuestionType.SINGLE_CHOICE.value})

    @classmethod
    def of(cls, question: QuestionRead) -> Editor:
        content = question.content
        assert content is not None
        numeric = content.numeric_answer
        values = {
            "type": content.type.value,
            "stem": content.stem,
            "explanation": content.explanation,
            "accepted_answers": "\n".join(content.accepted_answers),
            "numeric_value": _number_text(numeric.value) if numeric else "",
            "numeric_tolerance": _number_text(numeric.tolerance) if numeric else "",
            "subject": question.subject,
            "system": question.system,
            "topic": question.topic,
            "tags": ", ".join(question.tags),
            "difficulty": str(question.difficulty or ""),
            "source": question.source,
        }
        options = [OptionRow(o.text, o.explanation, o.correct) for o in content.options]
        return cls(values=values, options=options)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


SINGLE_FIELDS = (
    "type",
    "stem",
    "explanation",
    "accepted_answers",
    "numeric_value",
    "numeric_tolerance",
    "subject",
    "system",
    "topic",
    "tags",
    "difficulty",
    "source",
)


def _read_editor(form: FormData) -> Editor:
    values = {name: _form_text(form, name) for name in SINGLE_FIELDS}
    texts = [str(v) for v in form.getlist("option_text")][:MAX_OPTIONS]
    explanations = [str(v) for v in form.getlist("option_explanation")][:MAX_OPTIONS]
    correct = {str(v) for v in form.getlist("option_correct")}
    rows = []
    for index, text in enumerate(texts):
        explanation = explanations[index] if index < len(explanations) else ""
        rows.append(OptionRow(text, explanation, str(index) in correct))
    # Blank rows at the end are the spare ones the form offers, not options.
    while rows and not rows[-1].text.strip() and not rows[-1].explanation.strip():
        rows.pop()
    ticked = {int(v) for v in correct if v.isdigit()}
    return Editor(values=values, options=rows, ticked=ticked)


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _question_data(editor: Editor) -> tuple[dict[str, Any], dict[str, str], list[int]]:
    """The API's request body from the form, errors found on the way, and which form row each
    submitted option came from (for placing errors)."""
    values = editor.values
    errors: dict[str, str] = {}
    kind = values.get("type", "")
    data: dict[str, Any] = {
        "type": kind,
        "stem": values.get("stem", ""),
        "explanation": values.get("explanation", ""),
        "subject": values.get("subject", ""),
        "system": values.get("system", ""),
        "topic": values.get("topic", ""),
        "source": values.get("source", ""),
        "tags": [tag for tag in values.get("tags", "").split(",") if tag.strip()],
    }
    difficulty = values.get("difficulty", "")
    if difficulty:
        data["difficulty"] = int(difficulty) if difficulty.isdigit() else -1
    rows: list[int] = []
    if kind in CHOICE_TYPES:
        options = editor.options
        if kind == QuestionType.TRUE_FALSE and not any(o.text.strip() for o in options):
            # The author only ticked which is right: the two options are True and False.
            options = [OptionRow("True", "", 0 in editor.ticked)]
            options.append(OptionRow("False", "", 1 in editor.ticked))
            editor.options = options
        data["options"] = []
        for index, option in enumerate(options):
            if not option.text.strip() and not option.explanation.strip():
                continue
            rows.append(index)
            data["options"].append(
                {"text": option.text, "explanation": option.explanation, "correct": option.correct}
            )
    elif kind == QuestionType.SHORT_ANSWER:
        lines = values.get("accepted_answers", "").splitlines()
        data["accepted_answers"] = [line for line in lines if line.strip()]
    elif kind == QuestionType.NUMERICAL:
        raw_value = values.get("numeric_value", "").strip()
        raw_tolerance = values.get("numeric_tolerance", "").strip() or "0"
        number, tolerance = parse_number(raw_value), parse_number(raw_tolerance)
        if raw_value and number is None:
            errors["numeric_value"] = FIELD_MESSAGES["numeric_value"]
        if tolerance is None or tolerance < 0:
            errors["numeric_tolerance"] = FIELD_MESSAGES["numeric_tolerance"]
        if number is not None and tolerance is not None:
            data["numeric_answer"] = {"value": number, "tolerance": tolerance}
    return data, errors, rows


def _validation_errors(exc: ValidationError, kind: str, rows: Sequence[int]) -> dict[str, str]:
    """Each problem next to the field it concerns, in words for people."""
    errors: dict[str, str] = {}
    for problem in exc.errors():
        loc = [str(part) for part in problem["loc"]]
        message = str(problem["msg"]).removeprefix("Value error, ")
        message = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
        if not loc:
            # A rule about the whole question: it concerns the part that holds the answer.
            if kind == QuestionType.SHORT_ANSWER:
                name = "accepted_answers"
            elif kind == QuestionType.NUMERICAL:
                name = "numeric_value"
                message = "Enter the correct value."
            else:
                name = "options"
            errors.setdefault(name, message)
            continue
        head = loc[0]
        if head == "options" and len(loc) >= 3 and loc[1].isdigit():
            row = rows[int(loc[1])] if int(loc[1]) < len(rows) else int(loc[1])
            part = "text" if loc[2] == "text" else "explanation"
            if part == "text" and problem["type"] in ("string_too_short", "value_error"):
                message = "Write its text, or clear its explanation to leave the row empty."
            errors.setdefault(f"option-{row}-{part}", f"Option {row + 1}: {message}")
        elif head == "numeric_answer":
            name = "numeric_tolerance" if "tolerance" in loc else "numeric_value"
            errors.setdefault(name, FIELD_MESSAGES[name])
        elif head in FIELD_MESSAGES and head not in ("stem",):
            errors.setdefault(head, FIELD_MESSAGES[head])
        elif head == "stem":
            errors.setdefault("stem", FIELD_MESSAGES["stem"] if not loc[1:] else message)
        else:
            errors.setdefault(head, message)
    return errors


def _parse_editor(editor: Editor, schema: type[QuestionT]) -> QuestionT | None:
    """The validated question, or None with the editor's form holding the errors."""
    data, errors, rows = _question_data(editor)
    parsed: QuestionT | None
    try:
        parsed = schema.model_validate(data)
    except ValidationError as exc:
        errors = {**_validation_errors(exc, data["type"], rows), **errors}
        parsed = None
    if errors:
        editor.form.invalid(_in_page_order(errors))
        return None
    return parsed


def _in_page_order(errors: Mapping[str, str]) -> dict[str, str]:
    """The error summary lists problems in the order the fields appear."""
    order = ["type", "stem", "options"]
    order += [f"option-{i}-{part}" for i in range(MAX_OPTIONS) for part in ("text", "explanation")]
    order += ["accepted_answers", "numeric_value", "numeric_tolerance", "explanation"]
    order += ["subject", "system", "topic", "tags", "difficulty", "source"]
    return dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


def _editor_page(
    request: Request,
    editor: Editor,
    question: QuestionRead | None = None,
    status_code: int = 200,
) -> Response:
    editor.form.values = editor.values  # the shared field macros read values from the form
    context = {
        **_labels(),
        "active": "questions",
        "editor": editor,
        "form": editor.form,
        "question": question,
        "types": list(QuestionType),
        "choice_types": " ".join(sorted(CHOICE_TYPES)),
        "max_options": MAX_OPTIONS,
        "page_has_errors": editor.form.has_errors,
    }
    return render(request, "questions/editor.html", context, status_code=status_code)


@router.get(BANK + "/new")
async def new_question_page(request: Request, viewer: SignedIn) -> Response:
    actions.require_author(viewer)
    return _editor_page(request, Editor.blank())


@router.post(BANK + "/new")
async def create_question(request: Request, db: PageDb, viewer: SignedIn) -> Response:
    actions.require_author(viewer)  # before showing a form again, as the GET page does
    editor = _read_editor(await request.form())
    data = _parse_editor(editor, QuestionCreate)
    if data is None:
        return _editor_page(request, editor, status_code=editor.form.status)
    created = await actions.create_question(db, viewer, data)
    return redirect(f"{BANK}/{created.id}?done=created")


async def _editable(db: AsyncSession, viewer: Principal, question_id: uuid.UUID) -> QuestionRead:
    """The question for the editor; the service shows its content to its editors only."""
    question = await actions.get_question(db, viewer, question_id)
    if question.content is None:  # visible, but not theirs to change
        raise Forbidden("You can only change your own questions.", code="not_question_author")
    return question


@router.get(BANK + "/{question_id}/edit")
async def edit_question_page(
    question_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    question = await _editable(db, viewer, question_id)
    return _editor_page(request, Editor.of(question), question)


@router.post(BANK + "/{question_id}/edit")
async def update_question(
    question_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    question = await _editable(db, viewer, question_id)
    editor = _read_editor(await request.form())
    data = _parse_editor(editor, QuestionUpdate)
    if data is None:
        return _editor_page(request, editor, question, status_code=editor.form.status)
    updated = await actions.update_question(db, viewer, question_id, data)
    done = "new-version" if updated.version_count > question.version_count else "saved"
    return redirect(f"{BANK}/{question_id}?done={done}")


# ---------------------------------------------------------------- one question


async def _question_page(
    request: Request,
    db: AsyncSession,
    viewer: Principal,
    question_id: uuid.UUID,
    upload_form: FormState | None = None,
    image_problem: str | None = None,
    status_code: int = 200,
) -> Response:
    actor = _actor(viewer)
    question = await actions.get_question(db, viewer, question_id)
    is_editor = question.content is not None
    context: dict[str, Any] = {
        **_labels(),
        "active": "questions",
        "question": question,
        "is_editor": is_editor,
        "done": DONE_MESSAGES.get(request.query_params.get("done", "")),
        "upload_form": upload_form or FormState(),
        "image_problem": image_problem,
        "max_image_mb": images.MAX_IMAGE_BYTES // (1024 * 1024),
        "page_has_errors": bool(image_problem or (upload_form and upload_form.has_errors)),
    }
    if is_editor:
        first_page = PageParams(page=1, per_page=images.MAX_IMAGES_PER_QUESTION)
        context["images"] = (await images.list_images(db, actor, question_id, first_page)).items
        history = await actions.list_versions(
            db, viewer, question_id, PageParams(page=1, per_page=MAX_PER_PAGE)
        )
        context["versions"] = history.items
    return render(request, "questions/question.html", context, status_code=status_code)


@router.get(BANK + "/{question_id}")
async def question_page(
    question_id: uuid.UUID, request: Request, db: PageDb, viewer: SignedIn
) -> Response:
    return await _question_page(request, db, viewer, question_id)


@router.post(BANK + "/{question_id}/publish")
async def publish_question(question_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    await actions.publish_question(db, viewer, question_id)
    return redirect(f"{BANK}/{question_id}?done=published")


@router.post(BANK + "/{question_id}/archive")
async def archive_question(question_id: uuid.UUID, db: PageDb, viewer: SignedIn) -> Response:
    await actions.archive_question(db, viewer, question_id)
    return redirect(f"{BANK}/{question_id}?done=archived")


@router.post(
    BANK + "/{question_id}/images",
    dependencies=[accepts_uploads(cap=images.MAX_IMAGE_REQUEST_BYTES)],
)
async def upload_image(
    question_id: uuid.UUID,
    request: Request,
    db: PageDb,
    storage: AppStorage,
    viewer: SignedIn,
) -> Response:
    state = FormState(id_prefix="upload-")
    # The context closes the spooled upload (the CSRF check already parsed this same form).
    async with request.form() as form:
        upload = form.get("image")
        if not (isinstance(upload, UploadFile) and upload.filename):
            state.invalid({"image": "Choose an image file to upload."})
            return await _question_page(request, db, viewer, question_id, state, status_code=422)
        try:
            await images.add_image(
                db, _actor(viewer), question_id, storage, upload.filename, chunks_of(upload)
            )
        except StudyhallError as exc:
            if exc.code not in ("unsupported_image_type", "image_too_large", "empty_file"):
                raise
            await abandon(db)
            state.invalid({"image": exc.detail}, status=exc.status)
            return await _question_page(
                request, db, viewer, question_id, state, status_code=exc.status
            )
    return redirect(f"{BANK}/{question_id}?done=image-added#images")


@router.post(BANK + "/{question_id}/images/{image_id}/delete")
async def delete_image(
    question_id: uuid.UUID,
    image_id: uuid.UUID,
    request: Request,
    db: PageDb,
    storage: AppStorage,
    viewer: SignedIn,
) -> Response:
    try:
        await images.delete_image(db, _actor(viewer), question_id, image_id, storage)
    except StudyhallError as exc:
        if exc.code != "image_in_use":
            raise
        await abandon(db)
        return await _question_page(
            request, db, viewer, question_id, image_problem=exc.detail, status_code=exc.status
        )
    return redirect(f"{BANK}/{question_id}?done=image-deleted#images")
