"""The question bank pages over HTTP: browse, author, publish, images, and who sees what."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from studyhall.accounts.models import Role
from studyhall.questions.images import MAX_IMAGE_BYTES
from tests.conftest import MakeVerifiedUser
from tests.questions.conftest import API, create, create_published, single_choice
from tests.questions.test_images import GIF, PNG
from tests.web.support import HTML, csrf_token, web_sign_in

pytestmark = pytest.mark.usefixtures("app")

Browser = Callable[..., Awaitable[httpx.AsyncClient]]
LOCATION = re.compile(r"^/questions/([0-9a-f-]{36})\?done=(\S+)$")


@pytest.fixture
async def browser_for(app: FastAPI, verified_user: MakeVerifiedUser) -> AsyncIterator[Browser]:
    """A cookie-holding client per user, signed in through the sign-in page."""
    clients: list[httpx.AsyncClient] = []

    async def make(email: str, roles: tuple[Role, ...] = (Role.STUDENT,)) -> httpx.AsyncClient:
        await verified_user(email, roles)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        response = await web_sign_in(http, email)
        assert response.status_code == 303, response.text
        return http

    yield make
    for http in clients:
        await http.aclose()


async def page(http: httpx.AsyncClient, path: str, status: int = 200) -> str:
    response = await http.get(path, headers=HTML)
    assert response.status_code == status, response.text
    return response.text


async def submit(
    http: httpx.AsyncClient,
    form_page: str,
    action: str,
    data: dict[str, Any] | list[tuple[str, str]],
    files: dict[str, Any] | None = None,
) -> httpx.Response:
    """Post a form the way the browser does after loading `form_page`."""
    token = csrf_token(await page(http, form_page))
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    fields: dict[str, list[str]] = {"csrf_token": [token]}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return await http.post(action, data=fields, files=files, headers=HTML)


def editor_fields(**overrides: Any) -> list[tuple[str, str]]:
    """A filled-in editor form for a single-choice question (four option rows, one spare)."""
    values: dict[str, Any] = {
        "type": "single_choice",
        "stem": "Which valve closes first in **systole**?",
        "explanation": "The mitral valve closes at the start of systole.",
        "subject": "Physiology",
        "system": "Cardiovascular",
        "topic": "Cardiac cycle",
        "tags": "valves, heart",
        "difficulty": "3",
        "source": "Guyton",
        "accepted_answers": "",
        "numeric_value": "",
        "numeric_tolerance": "",
        "options": [("Mitral", "First to close."), ("Aortic", ""), ("Pulmonary", ""), ("", "")],
        "correct": ["0"],
    }
    values.update(overrides)
    fields = [(k, str(v)) for k, v in values.items() if k not in ("options", "correct")]
    for text, explanation in values["options"]:
        fields += [("option_text", text), ("option_explanation", explanation)]
    fields += [("option_correct", index) for index in values["correct"]]
    return fields


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_no_active_content(html: str) -> None:
    """Our own script files only; no handlers, inline styles or script URLs anywhere."""
    for tag, attrs in tags_of(html):
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        assert tag not in ("iframe", "object", "embed", "style", "math", "form-action"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", (tag, name)
            squeezed = re.sub(r"[\x00-\x20]", "", value or "").lower()
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), (tag, value)


# ---------------------------------------------------------------- browsing


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/questions?text=heart", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fquestions%3Ftext%3Dheart"


async def test_bank_browser_searches_filters_and_pages(
    client: httpx.AsyncClient, teacher: Any, browser_for: Browser
) -> None:
    for n in range(23):
        body = single_choice(stem=f"Cardiac question {n}", tags=["cardio"] if n % 2 else [])
        await create_published(client, teacher, body)
    await create(client, teacher, single_choice(stem="Hidden draft"))
    student = await browser_for("reader@example.com")

    html = await page(student, "/questions")
    assert "<h1>Question bank</h1>" in html
    assert "23 questions, page 1 of 2." in html
    assert "Hidden draft" not in html
    assert 'href="/questions?page=2" rel="next"' in html
    assert 'name="status"' not in html  # students only ever see published questions
    assert "New question" not in html
    assert "style=" not in html and "<script>" not in html
    for field_id in ("q-text", "q-subject", "q-system", "q-topic", "q-tag", "q-type"):
        assert f'<label class="field__label" for="{field_id}">' in html
    assert 'role="search"' in html
    assert '<option value="Physiology">' in html  # subject suggestions

    second = await page(student, "/questions?page=2")
    assert "page 2 of 2" in second and 'rel="prev"' in second

    filtered = await page(student, "/questions?tag=cardio&type=single_choice")
    assert "11 questions found." in filtered

    # HTMX asks for the results only, with the count refreshed out of band.
    partial = await student.get(
        "/questions",
        params={"text": "question 17"},
        headers={"HX-Request": "true", "HX-Target": "bank-results"},
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert 'id="bank-results"' in partial.text
    assert 'hx-swap-oob="innerHTML"' in partial.text and "1 question found." in partial.text
    assert "Cardiac question 17" in partial.text
    assert partial.headers["hx-push-url"] == "/questions?text=question+17"

    # Nonsense filter values are ignored rather than failing the page.
    assert "23 questions" in await page(student, "/questions?type=essay&page=zero")


async def test_teacher_sees_own_drafts_and_status_filter(
    client: httpx.AsyncClient, other_teacher: Any, browser_for: Browser
) -> None:
    await create(client, other_teacher, single_choice(stem="Someone else's draft"))
    author = await browser_for("author@example.com", (Role.TEACHER,))
    made = await submit(author, "/questions/new", "/questions/new", editor_fields(stem="Mine"))
    assert made.status_code == 303
    html = await page(author, "/questions")
    assert "Someone else" not in html
    assert ">Mine</a>" in html and ">Draft</span>" in html
    assert 'href="/questions/new"' in html
    assert 'name="status"' in html
    assert "1 question found." in await page(author, "/questions?status=draft")
    assert "0 questions found." in await page(author, "/questions?status=published")


# ---------------------------------------------------------------- authoring


async def test_author_writes_publishes_and_revises_a_question(browser_for: Browser) -> None:
    author = await browser_for("author@example.com", (Role.TEACHER,))
    form = await page(author, "/questions/new")
    assert "<h1>New question</h1>" in form
    for label in ("Question type", "Question", "Text of option 1", "Option 1 is correct"):
        assert f">{label}</label>" in form
    assert "style=" not in form and "<script>" not in form

    created = await submit(author, "/questions/new", "/questions/new", editor_fields())
    assert created.status_code == 303, created.text
    match = LOCATION.match(created.headers["location"])
    assert match and match.group(2) == "created"
    question_id = match.group(1)

    view = await page(author, created.headers["location"])
    assert "Question saved as a draft." in view
    assert "<strong>systole</strong>" in view
    assert "The mitral valve closes at the start of systole." in view
    assert '<span class="badge badge--on">Correct</span>' in view
    assert "First to close." in view
    assert ">Draft</span>" in view
    assert 'href="/questions?tag=valves"' in view

    published = await submit(
        author, f"/questions/{question_id}", f"/questions/{question_id}/publish", {}
    )
    assert published.headers["location"] == f"/questions/{question_id}?done=published"
    assert ">Published</span>" in await page(author, published.headers["location"])

    editor = await page(author, f"/questions/{question_id}/edit")
    assert "saving makes version 2" in editor
    assert "Which valve closes first in **systole**?</textarea>" in editor
    assert 'value="valves, heart"' in editor or 'value="heart, valves"' in editor
    revised = await submit(
        author,
        f"/questions/{question_id}/edit",
        f"/questions/{question_id}/edit",
        editor_fields(stem="Which valve closes **first**?"),
    )
    assert revised.headers["location"] == f"/questions/{question_id}?done=new-version"
    view = await page(author, revised.headers["location"])
    assert "Version 2" in view and "Version 1:" in view
    assert "<strong>first</strong>" in view

    archived = await submit(
        author, f"/questions/{question_id}", f"/questions/{question_id}/archive", {}
    )
    assert archived.headers["location"] == f"/questions/{question_id}?done=archived"


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"correct": []}, "options", "exactly one correct option"),
        ({"correct": ["0", "1"]}, "options", "exactly one correct option"),
        ({"stem": "   "}, "stem", "Write the question."),
        ({"options": [("Only one", "")]}, "options", "at least two options"),
        ({"options": [("A", ""), ("", "why?")], "correct": ["0"]}, "option-1-text", "Option 2"),
        ({"type": "short_answer", "accepted_answers": "\n \n"}, "accepted_answers", "accepted"),
        ({"type": "numerical", "numeric_value": "seven"}, "numeric_value", "as a number"),
        ({"type": "numerical", "numeric_value": ""}, "numeric_value", "Enter the correct value"),
        # Not finite: 1e999 overflows to Infinity, which every answer would match.
        ({"type": "numerical", "numeric_value": "1e999"}, "numeric_value", "as a number"),
        (
            {"type": "numerical", "numeric_value": "7", "numeric_tolerance": "inf"},
            "numeric_tolerance",
            "0 or more",
        ),
        (
            {"type": "numerical", "numeric_value": "7", "numeric_tolerance": "-1"},
            "numeric_tolerance",
            "0 or more",
        ),
        ({"difficulty": "9"}, "difficulty", "from 1 to 5"),
        ({"subject": "x" * 101}, "subject", "under 100 characters"),
        ({"type": "essay"}, "type", "Choose a question type."),
    ],
)
async def test_editor_shows_errors_inline_and_keeps_the_input(
    browser_for: Browser, overrides: dict[str, Any], field_id: str, message: str
) -> None:
    author = await browser_for("author@example.com", (Role.TEACHER,))
    response = await submit(author, "/questions/new", "/questions/new", editor_fields(**overrides))
    assert response.status_code == 422, response.text
    html = response.text
    assert "<title>Error: New question" in html
    assert f'href="#{field_id}"' in html  # the summary links to the field
    assert f'id="{field_id}-error"' in html
    assert message in html
    if field_id not in ("options", "type", "difficulty"):
        assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', html) or (
            f'id="{field_id}"' in html
        )
    # What the author typed is still there.
    assert "Physiology" in html
    listing = await author.get("/questions", headers=HTML)
    assert "0 questions." in listing.text


async def test_each_type_through_the_editor(browser_for: Browser) -> None:
    author = await browser_for("author@example.com", (Role.TEACHER,))
    cases = [
        (
            editor_fields(type="true_false", options=[("", ""), ("", "")], correct=["1"]),
            [
                r'<li class="option">\s*<div class="option__text">True',
                r"option--correct\">\s*<div class=\"option__text\">False",
            ],
        ),
        (
            editor_fields(type="multiple_response", correct=["0", "2"]),
            ["Mitral", "Pulmonary"],
        ),
        (
            editor_fields(type="short_answer", accepted_answers="Mitral valve\nbicuspid\n"),
            ["<li>Mitral valve</li>", "<li>bicuspid</li>"],
        ),
        (
            editor_fields(type="numerical", numeric_value="7,4", numeric_tolerance="0.05"),
            [r"7\.4 ± 0\.05"],
        ),
    ]
    for fields, expected in cases:
        response = await submit(author, "/questions/new", "/questions/new", fields)
        assert response.status_code == 303, response.text
        view = await page(author, response.headers["location"])
        for pattern in expected:
            assert re.search(pattern, view), (pattern, fields)
    tf = await page(author, "/questions?type=true_false")
    assert "1 question found." in tf


async def test_students_and_other_teachers_cannot_author(
    client: httpx.AsyncClient, teacher: Any, browser_for: Browser
) -> None:
    draft = await create(client, teacher)
    published = await create_published(client, teacher)
    student = await browser_for("reader@example.com")
    other = await browser_for("other@example.com", (Role.TEACHER,))

    assert "Only teachers and admins" in await page(student, "/questions/new", 403)
    refused = await submit(student, "/questions", "/questions/new", editor_fields())
    assert refused.status_code == 403

    for http in (student, other):
        await page(http, f"/questions/{draft['id']}", 404)
        await page(http, f"/questions/{draft['id']}/edit", 404)
        view = await page(http, f"/questions/{published['id']}")
        assert "Left ventricle" in view
        # No answers, explanations or authoring controls for readers.
        assert "The left ventricle ejects" not in view
        assert "feeds the pulmonary" not in view
        assert "Correct</span>" not in view
        assert "/publish" not in view and "/archive" not in view and "Upload image" not in view
        assert "You can only change your own" in await page(
            http, f"/questions/{published['id']}/edit", 403
        )
        denied = await submit(
            http,
            f"/questions/{published['id']}",
            f"/questions/{published['id']}/archive",
            {},
        )
        assert denied.status_code == 403

    # The archive was refused, so the question is still published.
    check = await client.get(f"{API}/{published['id']}", headers=teacher.headers)
    assert check.json()["status"] == "published"


async def test_forms_need_the_csrf_token(browser_for: Browser) -> None:
    author = await browser_for("author@example.com", (Role.TEACHER,))
    response = await author.post("/questions/new", data=dict(editor_fields()), headers=HTML)
    assert response.status_code == 403
    assert "This form has expired" in response.text


async def test_script_cannot_get_into_the_pages(
    browser_for: Browser, client: httpx.AsyncClient, teacher: Any
) -> None:
    author = await browser_for("author@example.com", (Role.TEACHER,))
    payload = "<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1))"
    fields = editor_fields(
        stem=f"Stem {payload}",
        explanation=f"Why {payload}",
        options=[(f"A {payload}", f"A because {payload}"), (f"B {payload}", "")],
        tags=f"t{payload}",
        subject="<b onmouseover=alert(1)>Cardio</b>",
        source='"><script>alert(1)</script>',
    )
    created = await submit(author, "/questions/new", "/questions/new", fields)
    assert created.status_code == 303, created.text
    question_id = LOCATION.match(created.headers["location"]).group(1)  # type: ignore[union-attr]
    await submit(author, f"/questions/{question_id}", f"/questions/{question_id}/publish", {})

    student = await browser_for("reader@example.com")
    pages = [
        await page(author, f"/questions/{question_id}"),
        await page(author, f"/questions/{question_id}/edit"),
        await page(author, "/questions"),
        await page(student, f"/questions/{question_id}"),
        await page(student, "/questions"),
        await page(student, "/questions?subject=%3Cb%20onmouseover%3Dalert(1)%3ECardio%3C%2Fb%3E"),
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert_no_active_content(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]  # shown as text


# ---------------------------------------------------------------- images


async def test_author_uploads_images_on_the_question_page(
    browser_for: Browser, client: httpx.AsyncClient, teacher: Any
) -> None:
    author = await browser_for("author@example.com", (Role.TEACHER,))
    created = await submit(author, "/questions/new", "/questions/new", editor_fields())
    question_id = LOCATION.match(created.headers["location"]).group(1)  # type: ignore[union-attr]
    view_path = f"/questions/{question_id}"
    assert "No images yet." in await page(author, view_path)

    refused = await submit(
        author,
        view_path,
        f"{view_path}/images",
        {},
        files={"image": ("notes.png", b"<html>not an image</html>", "image/png")},
    )
    assert refused.status_code == 415
    assert "Upload a PNG, JPEG, GIF or WebP image." in refused.text
    assert 'id="upload-image-error"' in refused.text

    too_large = await submit(
        author,
        view_path,
        f"{view_path}/images",
        {},
        files={"image": ("scan.png", PNG + bytes(MAX_IMAGE_BYTES), "image/png")},
    )
    assert too_large.status_code == 413
    assert "Images can be at most 5 MB." in too_large.text
    assert 'id="upload-image-error"' in too_large.text

    empty = await submit(author, view_path, f"{view_path}/images", {"image": ""})
    assert empty.status_code == 422
    assert "Choose an image file to upload." in empty.text

    uploaded = await submit(
        author, view_path, f"{view_path}/images", {}, files={"image": ("ecg.png", PNG, "image/png")}
    )
    assert uploaded.status_code == 303, uploaded.text
    assert uploaded.headers["location"] == f"{view_path}?done=image-added#images"
    view = await page(author, view_path)
    src = re.search(r'<img class="image-item__preview" src="([^"]+)" alt="ecg.png"', view)
    assert src, view
    image_url = src.group(1)
    assert image_url.startswith(f"/api/v1/questions/{question_id}/images/")
    served = await author.get(image_url)  # the browser's cookie session reaches the API
    assert served.status_code == 200 and served.content == PNG
    assert f'value="![ecg]({image_url})"' in view

    # A used image stays; an unused one can be removed.
    await submit(
        author,
        f"{view_path}/edit",
        f"{view_path}/edit",
        editor_fields(stem=f"Look:\n\n![ecg]({image_url})"),
    )
    view = await page(author, view_path)
    assert f'<img src="{image_url}" alt="ecg">' in view
    image_id = image_url.rsplit("/", 1)[1]
    in_use = await submit(author, view_path, f"{view_path}/images/{image_id}/delete", {})
    assert in_use.status_code == 409
    assert "remove it from the text first" in in_use.text

    spare = await submit(
        author, view_path, f"{view_path}/images", {}, files={"image": ("x.gif", GIF, "image/gif")}
    )
    assert spare.status_code == 303
    spare_url = re.findall(
        r'<img class="image-item__preview" src="([^"]+)"', await page(author, view_path)
    )[-1]
    deleted = await submit(
        author, view_path, f"{view_path}/images/{spare_url.rsplit('/', 1)[1]}/delete", {}
    )
    assert deleted.headers["location"] == f"{view_path}?done=image-deleted#images"
    assert "x.gif" not in await page(author, view_path)

    # Students do not see a draft's images, and get them once it is published.
    student = await browser_for("reader@example.com")
    assert (await student.get(image_url)).status_code == 404
    await submit(author, view_path, f"{view_path}/publish", {})
    assert (await student.get(image_url)).status_code == 200
