"""The quiz pages over HTTP: browsing, the detail page, the editor and categories."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.schemas import MAX_QUESTIONS
from studyhall.questions import service as questions_service
from studyhall.questions.schemas import QuestionCreate
from studyhall.quizzes.schemas import MAX_QUIZ_QUESTIONS, QuizSettings
from studyhall.web.quizzes_pages import describe_settings, duration_text
from tests.conftest import SignedInUser
from tests.quizzes.conftest import (
    API,
    CATEGORIES,
    QUIZZES,
    assert_problem,
    new_question,
    new_questions,
    new_quiz,
    published_quiz,
    question_body,
)
from tests.web.support import HTML, csrf_token, web_sign_in

WebClient = Callable[[SignedInUser], Awaitable[httpx.AsyncClient]]
HTMX = {"hx-request": "true"}
EDIT_LOCATION = re.compile(r"^/quizzes/([0-9a-f-]{36})/edit\?done=created$")


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[WebClient]:
    """A browser-like client per user, signed in through the login page."""
    opened: list[httpx.AsyncClient] = []

    async def open_for(user: SignedInUser) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001 + len(opened)))
        browser = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(browser)
        signed = await web_sign_in(browser, user.email)
        assert signed.status_code == 303, signed.text
        return browser

    yield open_for
    for browser in opened:
        await browser.aclose()


async def post(
    browser: httpx.AsyncClient, path: str, data: dict[str, str], htmx: bool = False
) -> httpx.Response:
    token = csrf_token((await browser.get("/quizzes")).text)
    headers = {**HTML, **(HTMX if htmx else {})}
    return await browser.post(path, data={"csrf_token": token, **data}, headers=headers)


def assert_clean_page(html: str) -> None:
    assert "style=" not in html, "inline styles are blocked by the CSP"
    assert "<script>" not in html, "inline scripts are blocked by the CSP"


def settings_form(**values: str) -> dict[str, str]:
    return {
        "title": "Valves",
        "description": "All about *valves*",
        "category_id": "",
        "time_limit_minutes": "",
        "attempts_allowed": "",
        "pass_mark_percent": "60",
        "feedback_mode": "after_submit",
        **values,
    }


def test_settings_in_words() -> None:
    assert duration_text(5400) == "1 hour 30 minutes"
    assert duration_text(60) == "1 minute"
    assert duration_text(90) == "1 minute 30 seconds"
    words = dict(
        describe_settings(
            QuizSettings(
                time_limit_seconds=2700,
                attempts_allowed=3,
                pass_mark_percent=70,
                shuffle_questions=True,
                feedback_mode="after_each",
            )
        )
    )
    assert words["Time limit"].startswith("45 minutes from the moment you start")
    assert words["Attempts allowed"] == "Up to 3 attempts."
    assert words["Pass mark"] == "70% of the marks."
    assert words["Question order"].startswith("Questions are shuffled")
    assert "after each question" in words["Answers and explanations"].lower()
    defaults = dict(describe_settings(QuizSettings()))
    assert defaults["Time limit"] == "None: take as long as you need."
    assert defaults["Attempts allowed"].startswith("Unlimited")
    assert "same order" in defaults["Question order"]
    assert dict(describe_settings(QuizSettings(attempts_allowed=1)))["Attempts allowed"] == (
        "One attempt only."
    )


async def test_students_browse_search_and_read_a_quiz(
    client: httpx.AsyncClient, web: WebClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    category = (
        await client.post(CATEGORIES, json={"name": "Cardiology"}, headers=teacher.headers)
    ).json()
    question = await new_question(client, teacher)
    quiz = await published_quiz(
        client,
        teacher,
        title="Heart sounds",
        description="Listen **carefully**",
        category_id=category["id"],
        question_ids=[question],
        time_limit_seconds=1800,
        attempts_allowed=2,
        pass_mark_percent=75,
    )
    await published_quiz(client, teacher, title="Kidney basics", question_ids=[question])
    await new_quiz(client, teacher, title="Unfinished draft")
    browser = await web(learner)

    page = await browser.get("/quizzes")
    assert page.status_code == 200
    assert_clean_page(page.text)
    assert "Heart sounds" in page.text and "Kidney basics" in page.text
    assert "Unfinished draft" not in page.text
    assert "New quiz" not in page.text
    assert f'action="/quizzes/{quiz["id"]}/start"' in page.text
    assert 'name="csrf_token"' in page.text
    assert "2 quizzes" in page.text

    by_category = await browser.get("/quizzes", params={"category": "cardiology"})
    assert "Heart sounds" in by_category.text and "Kidney basics" not in by_category.text
    assert '<a class="chip" href="/quizzes?category=cardiology" aria-current="page">' in (
        by_category.text
    )
    partial = await browser.get(
        "/quizzes", params={"text": "kidney"}, headers={**HTMX, "hx-target": "quiz-results"}
    )
    assert '<section id="quiz-results"' in partial.text
    assert "Kidney basics" in partial.text and "Heart sounds" not in partial.text
    assert 'hx-swap-oob="innerHTML">1 quiz found' in partial.text
    assert "<html" not in partial.text

    detail = await browser.get(f"/quizzes/{quiz['id']}")
    assert detail.status_code == 200
    assert_clean_page(detail.text)
    assert "<strong>carefully</strong>" in detail.text
    assert "30 minutes from the moment you start" in detail.text
    assert "Up to 2 attempts." in detail.text
    assert "75% of the marks." in detail.text
    assert "Start the quiz" in detail.text
    assert "Edit the quiz" not in detail.text
    assert "You have used 0 of 2 attempts." in detail.text
    for _ in range(2):  # the attempts module counts them; each sitting is submitted
        started = await client.post(f"{QUIZZES}/{quiz['id']}/attempts", headers=learner.headers)
        assert started.status_code in (200, 201), started.text
        attempt = started.json()
        submitted = await client.post(
            f"/api/v1/attempts/{attempt['id']}/submit", headers=learner.headers
        )
        assert submitted.status_code == 200, submitted.text
    used_up = await browser.get(f"/quizzes/{quiz['id']}")
    assert "You have used 2 of 2 attempts." in used_up.text
    assert "No attempts are left." in used_up.text
    assert "Start the quiz" not in used_up.text

    editor = await browser.get(f"/quizzes/{quiz['id']}/edit", headers=HTML)
    assert editor.status_code == 403
    assert (await browser.get("/quizzes/new", headers=HTML)).status_code == 403
    assert (await browser.get("/categories", headers=HTML)).status_code == 403


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/quizzes")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fquizzes"


async def test_a_teacher_builds_and_publishes_a_quiz(
    client: httpx.AsyncClient, web: WebClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    q1, q2, q3 = await new_questions(client, teacher, 3)
    await new_question(client, teacher, "A draft question", publish=False)
    browser = await web(teacher)

    form = await browser.get("/quizzes/new")
    assert form.status_code == 200
    assert_clean_page(form.text)
    refused = await post(browser, "/quizzes/new", settings_form(title="", pass_mark_percent="140"))
    assert refused.status_code == 422
    assert "Enter a title of up to 200 characters." in refused.text
    assert "Enter a pass mark from 0 to 100." in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "<title>Error: New quiz" in refused.text

    created = await post(browser, "/quizzes/new", settings_form(time_limit_minutes="20"))
    assert created.status_code == 303, created.text
    match = EDIT_LOCATION.match(created.headers["location"])
    assert match
    quiz_id = match.group(1)
    editor = await browser.get(created.headers["location"])
    assert editor.status_code == 200
    assert_clean_page(editor.text)
    assert "Quiz saved as a draft" in editor.text
    assert "Question number 0" in editor.text  # the picker lists published questions
    assert "A draft question" not in editor.text
    assert 'value="20"' in editor.text

    picker = await browser.get(
        f"/quizzes/{quiz_id}/edit",
        params={"find": "number 2"},
        headers={**HTMX, "hx-target": "picker-results"},
    )
    assert '<div id="picker-results">' in picker.text
    assert "Question number 2" in picker.text and "Question number 1" not in picker.text

    publish_empty = await post(browser, f"/quizzes/{quiz_id}/publish", {})
    assert publish_empty.status_code == 409
    assert "Add at least one question before publishing." in publish_empty.text

    for question in (q1, q2, q3):
        added = await post(
            browser, f"/quizzes/{quiz_id}/questions/add", {"question_id": question}, htmx=True
        )
        assert added.status_code == 200, added.text
        assert added.text.lstrip().startswith('<div id="quiz-questions">')
    assert "Question added as number 3." in added.text
    again = await post(browser, f"/quizzes/{quiz_id}/questions/add", {"question_id": q1}, True)
    assert "That question is already in this quiz." in again.text

    moved = await post(
        browser, f"/quizzes/{quiz_id}/questions/{q3}/move", {"direction": "up"}, htmx=True
    )
    assert "Moved to position 2 of 3." in moved.text
    assert f'id="move-up-{q3}" data-focus-after-swap' in moved.text
    to_top = await post(
        browser, f"/quizzes/{quiz_id}/questions/{q3}/move", {"direction": "up"}, True
    )
    assert "Moved to position 1 of 3." in to_top.text
    assert f'id="move-down-{q3}" data-focus-after-swap' in to_top.text  # its up button is gone
    order = re.findall(r'<li class="quiz-question" id="item-([0-9a-f-]+)"', to_top.text)
    assert order == [q3, q1, q2]

    removed = await post(browser, f"/quizzes/{quiz_id}/questions/{q1}/remove", {})
    assert removed.status_code == 303  # without HTMX the editor reloads
    assert removed.headers["location"].endswith("/edit?done=questions#questions")

    saved = await post(
        browser,
        f"/quizzes/{quiz_id}/edit",
        settings_form(title="Valves and murmurs", attempts_allowed="1", shuffle_options="1"),
    )
    assert saved.status_code == 303
    bad_save = await post(browser, f"/quizzes/{quiz_id}/edit", settings_form(attempts_allowed="0"))
    assert bad_save.status_code == 422
    assert "Enter a whole number from 1 to 1000, or leave it empty." in bad_save.text

    published = await post(browser, f"/quizzes/{quiz_id}/publish", {})
    assert published.status_code == 303
    assert published.headers["location"] == f"/quizzes/{quiz_id}?done=published"

    student = await web(learner)
    seen = await student.get(f"/quizzes/{quiz_id}")
    assert "Valves and murmurs" in seen.text
    assert "One attempt only." in seen.text
    assert "answer options are shuffled" in seen.text
    assert "2 questions." in seen.text
    assert "Valves and murmurs" in (await student.get("/quizzes")).text

    unpublished = await post(browser, f"/quizzes/{quiz_id}/unpublish", {})
    assert unpublished.status_code == 303
    assert (await student.get(f"/quizzes/{quiz_id}", headers=HTML)).status_code == 404
    deleted = await post(browser, f"/quizzes/{quiz_id}/delete", {})
    assert deleted.headers["location"] == "/quizzes?done=deleted"
    assert (await browser.get(f"/quizzes/{quiz_id}", headers=HTML)).status_code == 404


async def test_another_teacher_cannot_edit(
    client: httpx.AsyncClient, web: WebClient, teacher: SignedInUser, other_teacher: SignedInUser
) -> None:
    quiz = await published_quiz(client, teacher)
    browser = await web(other_teacher)
    page = await browser.get(f"/quizzes/{quiz['id']}")
    assert "Edit the quiz" not in page.text
    assert (await browser.get(f"/quizzes/{quiz['id']}/edit", headers=HTML)).status_code == 403
    refused = await post(browser, f"/quizzes/{quiz['id']}/edit", settings_form())
    assert refused.status_code == 403
    without_csrf = await browser.post(f"/quizzes/{quiz['id']}/delete", headers=HTML)
    assert without_csrf.status_code == 403


async def test_categories_page(
    client: httpx.AsyncClient, web: WebClient, teacher: SignedInUser, admin: SignedInUser
) -> None:
    browser = await web(teacher)
    page = await browser.get("/categories")
    assert page.status_code == 200
    assert_clean_page(page.text)
    assert "Delete" not in page.text

    created = await post(browser, "/categories", {"name": "Neurology", "description": "Brain"})
    assert created.headers["location"] == "/categories?done=category-created"
    duplicate = await post(browser, "/categories", {"name": "neurology"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text
    blank = await post(browser, "/categories", {"name": "  "})
    assert blank.status_code == 422
    assert "Enter a name of up to 100 characters." in blank.text

    category = (await client.get(CATEGORIES, headers=teacher.headers)).json()["items"][0]
    renamed = await post(
        browser, f"/categories/{category['id']}/edit", {"name": "Neuroscience", "description": ""}
    )
    assert renamed.status_code == 303
    listed = (await client.get(CATEGORIES, headers=teacher.headers)).json()["items"]
    assert [(c["name"], c["slug"]) for c in listed] == [("Neuroscience", "neuroscience")]
    refused = await post(browser, f"/categories/{category['id']}/delete", {})
    assert refused.status_code == 403

    admin_browser = await web(admin)
    assert "Delete" in (await admin_browser.get("/categories")).text
    deleted = await post(admin_browser, f"/categories/{category['id']}/delete", {})
    assert deleted.headers["location"] == "/categories?done=category-deleted"
    assert (await client.get(CATEGORIES, headers=teacher.headers)).json()["total"] == 0


async def bank_questions(db: AsyncSession, author: SignedInUser, count: int) -> list[str]:
    """Published questions made through the bank's service (the API's per-user limit would
    refuse this many in a test)."""
    actor = questions_service.Author(uuid.UUID(author.id), can_author=True)
    made = []
    for n in range(count):
        data = QuestionCreate.model_validate(question_body(f"Bank question {n}"))
        created = await questions_service.create_question(db, actor, data)
        await questions_service.publish_question(db, actor, created.id)
        made.append(str(created.id))
    await db.commit()
    return made


async def test_a_quiz_holds_no_more_questions_than_an_attempt_can_address(
    client: httpx.AsyncClient,
    db: AsyncSession,
    web: WebClient,
    teacher: SignedInUser,
    learner: SignedInUser,
) -> None:
    assert MAX_QUIZ_QUESTIONS == MAX_QUESTIONS == 200
    questions = await bank_questions(db, teacher, MAX_QUESTIONS + 1)
    too_many = await client.post(
        QUIZZES, json={"title": "Everything", "question_ids": questions}, headers=teacher.headers
    )
    assert too_many.status_code == 422, too_many.text
    assert "at most 200" in too_many.text

    full = await published_quiz(client, teacher, question_ids=questions[:-1])
    one_more = await client.post(
        f"{QUIZZES}/{full['id']}/questions",
        json={"question_id": questions[-1]},
        headers=teacher.headers,
    )
    assert_problem(one_more, 422, "too_many_questions")
    assert "at most 200 questions" in one_more.json()["detail"]
    browser = await web(teacher)
    on_page = await post(
        browser, f"/quizzes/{full['id']}/questions/add", {"question_id": questions[-1]}, True
    )
    assert on_page.status_code == 422, on_page.text
    assert "at most 200 questions" in on_page.text

    # The full quiz can be sat to its last question.
    started = await client.post(f"{QUIZZES}/{full['id']}/attempts", headers=learner.headers)
    assert started.status_code == 201, started.text
    last = await client.get(
        f"{API}/attempts/{started.json()['id']}/items/{MAX_QUESTIONS - 1}", headers=learner.headers
    )
    assert last.status_code == 200, last.text
