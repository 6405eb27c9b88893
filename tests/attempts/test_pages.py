"""The attempt pages without JavaScript: build a test, answer in the one-form player, confirm,
submit, review; start a quiz from its page."""

from __future__ import annotations

import re

import httpx

from tests.attempts.conftest import (
    API,
    Bank,
    new_question,
    new_quiz,
    single_choice,
)
from tests.conftest import SignedInUser
from tests.web.support import HTML, csrf_token, web_sign_in

ATTEMPT_URL = re.compile(r"^/attempts/([0-9a-f-]{36})$")


async def signed_in_browser(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await web_sign_in(client, user.email)
    assert response.status_code == 303, response.text


async def test_build_answer_submit_review_without_javascript(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    await signed_in_browser(client, learner)
    builder = await client.get("/tests/new", headers=HTML)
    assert builder.status_code == 200
    assert "Physiology" in builder.text and "Cardiovascular" in builder.text
    assert "<legend>Question pool</legend>" in builder.text

    created = await client.post(
        "/tests/new",
        data={
            "csrf_token": csrf_token(builder.text),
            "count": "5",
            "pool": "unused",
            "mode": "timed",
            "seconds_per_question": "60",
            "subjects": "Physiology",
        },
        headers=HTML,
    )
    assert created.status_code == 303, created.text
    match = ATTEMPT_URL.match(created.headers["location"])
    assert match, created.headers["location"]
    attempt_id = match.group(1)

    page = await client.get(f"/attempts/{attempt_id}", headers=HTML)
    assert page.status_code == 200
    assert 'role="timer"' in page.text and 'aria-live="polite"' in page.text
    assert page.text.count('<section class="question"') == 3  # Physiology: 3 questions
    attempt = (await client.get(f"{API}/attempts/{attempt_id}")).json()
    by_type = {item["type"]: item for item in attempt["items"]}
    single = by_type["single_choice"]
    right = next(o["id"] for o in single["options"] if "Left ventricle" in o["text_html"])
    form = {
        "csrf_token": csrf_token(page.text),
        "position": "1",
        f"answer-{single['position']}": right,
        f"answer-{by_type['numerical']['position']}": "101",
        f"mark-{by_type['true_false']['position']}": "1",
        f"note-{single['position']}": "remember the aorta",
        "action": "finish",
    }
    saved = await client.post(f"/attempts/{attempt_id}/save", data=form, headers=HTML)
    assert saved.status_code == 303 and saved.headers["location"].endswith("/finish")

    finish = await client.get(f"/attempts/{attempt_id}/finish", headers=HTML)
    assert "2 of 3" in finish.text
    assert f"?q={by_type['true_false']['position'] + 1}" in finish.text  # unanswered and marked
    submitted = await client.post(
        f"/attempts/{attempt_id}/submit", data={"csrf_token": csrf_token(finish.text)}, headers=HTML
    )
    assert submitted.status_code == 303
    assert submitted.headers["location"] == f"/attempts/{attempt_id}/review"

    review = await client.get(f"/attempts/{attempt_id}/review", headers=HTML)
    assert review.status_code == 200
    assert "66.7%" in review.text and "2 of 3 correct" in review.text
    assert "remember the aorta" in review.text
    assert "It ejects into the pulmonary trunk." in review.text  # per-option explanation
    # The player of a submitted attempt sends the browser to the review.
    again = await client.get(f"/attempts/{attempt_id}", headers=HTML)
    assert again.status_code == 303 and again.headers["location"].endswith("/review")
    mine = await client.get("/attempts", headers=HTML)
    assert f"/attempts/{attempt_id}/review" in mine.text


async def test_builder_errors(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    await signed_in_browser(client, learner)
    builder = await client.get("/tests/new", headers=HTML)
    token = csrf_token(builder.text)
    bad = await client.post(
        "/tests/new",
        data={"csrf_token": token, "count": "500", "pool": "all", "mode": "timed"},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "from 1 to 200" in bad.text and 'aria-invalid="true"' in bad.text
    empty = await client.post(
        "/tests/new",
        data={"csrf_token": token, "count": "5", "pool": "marked", "mode": "tutor"},
        headers=HTML,
    )
    assert empty.status_code == 422
    assert "No questions match" in empty.text


async def test_tutor_mode_page_shows_feedback_after_saving(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await new_question(client, teacher, single_choice())
    await signed_in_browser(client, learner)
    builder = await client.get("/tests/new", headers=HTML)
    created = await client.post(
        "/tests/new",
        data={"csrf_token": csrf_token(builder.text), "count": "1", "pool": "all", "mode": "tutor"},
        headers=HTML,
    )
    attempt_id = created.headers["location"].rsplit("/", 1)[1]
    page = await client.get(f"/attempts/{attempt_id}", headers=HTML)
    assert "Check answer" in page.text and 'role="timer"' not in page.text
    attempt = (await client.get(f"{API}/attempts/{attempt_id}")).json()
    wrong = next(
        o["id"] for o in attempt["items"][0]["options"] if "Right ventricle" in o["text_html"]
    )
    saved = await client.post(
        f"/attempts/{attempt_id}/save",
        data={"csrf_token": csrf_token(page.text), "answer-0": wrong, "check": "0"},
        headers=HTML,
    )
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"], headers=HTML)
    assert "Incorrect" in page.text and "left ventricle" in page.text
    fragment = await client.get(f"/attempts/{attempt_id}/questions/0", headers=HTML)
    assert fragment.status_code == 200 and "Incorrect" in fragment.text


async def test_start_quiz_from_its_page_and_pause(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(
        client, teacher, [bank.ids["true_false"]], time_limit_seconds=300, attempts_allowed=1
    )
    await signed_in_browser(client, learner)
    quiz_page = await client.get(f"/quizzes/{quiz_id}", headers=HTML)
    token = csrf_token(quiz_page.text)
    started = await client.post(
        f"/quizzes/{quiz_id}/start", data={"csrf_token": token}, headers=HTML
    )
    assert started.status_code == 303
    attempt_url = started.headers["location"]
    paused = await client.post(f"{attempt_url}/pause", data={"csrf_token": token}, headers=HTML)
    assert paused.status_code == 303
    page = await client.get(attempt_url, headers=HTML)
    assert "Paused" in page.text and "Resume" in page.text
    resumed = await client.post(f"{attempt_url}/resume", data={"csrf_token": token}, headers=HTML)
    assert resumed.status_code == 303
    # Starting again goes back to the open attempt; after submitting, none is left.
    again = await client.post(f"/quizzes/{quiz_id}/start", data={"csrf_token": token}, headers=HTML)
    assert again.headers["location"] == attempt_url
    await client.post(f"{attempt_url}/submit", data={"csrf_token": token}, headers=HTML)
    refused = await client.post(
        f"/quizzes/{quiz_id}/start", data={"csrf_token": token}, headers=HTML
    )
    assert refused.status_code == 409 and "used all 1 attempts" in refused.text


async def test_pages_need_sign_in_and_ownership(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    anonymous = await client.get("/tests/new", headers=HTML)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    quiz_id = await new_quiz(client, teacher, [bank.ids["true_false"]])
    attempt = await client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=learner.headers)
    await signed_in_browser(client, teacher)
    other = await client.get(f"/attempts/{attempt.json()['id']}", headers=HTML)
    assert other.status_code == 404


async def test_review_page_of_a_never_quiz_shows_score_only(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["single_choice"]], feedback_mode="never")
    attempt = (
        await client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=learner.headers)
    ).json()
    right = next(
        o["id"] for o in attempt["items"][0]["options"] if "Left ventricle" in o["text_html"]
    )
    await client.put(
        f"{API}/attempts/{attempt['id']}/items/0/answer",
        json={"response": {"choice": right}},
        headers=learner.headers,
    )
    await client.post(f"{API}/attempts/{attempt['id']}/submit", headers=learner.headers)
    await signed_in_browser(client, learner)
    review = await client.get(f"/attempts/{attempt['id']}/review", headers=HTML)
    assert review.status_code == 200
    assert "100.0%" in review.text and "your answer" in review.text
    assert "does not show correct answers" in review.text
    for hidden in ("ejects into the aorta", "pulmonary trunk", "Explanation", "option--correct"):
        assert hidden not in review.text
