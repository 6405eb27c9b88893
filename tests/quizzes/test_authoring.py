"""Writing quizzes: who may, what is checked, and what students see of a quiz."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import SignedInUser
from tests.quizzes.conftest import (
    CATEGORIES,
    QUIZZES,
    assert_problem,
    new_question,
    new_quiz,
    published_quiz,
)


async def test_students_cannot_author(client: httpx.AsyncClient, learner: SignedInUser) -> None:
    refused = await client.post(QUIZZES, json={"title": "Mine"}, headers=learner.headers)
    assert_problem(refused, 403, "insufficient_role")


async def test_teacher_creates_a_quiz_with_settings_and_markdown(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    category = (
        await client.post(CATEGORIES, json={"name": "Cardiology"}, headers=teacher.headers)
    ).json()
    questions = [await new_question(client, teacher), await new_question(client, teacher, "Two?")]
    quiz = await new_quiz(
        client,
        teacher,
        title="  Heart week  ",
        description="Read **chapter 9** first. <script>alert(1)</script> [x](javascript:alert(2))",
        category_id=category["id"],
        question_ids=questions,
        time_limit_seconds=1200,
        shuffle_questions=True,
        shuffle_options=True,
        attempts_allowed=3,
        pass_mark_percent=70,
        feedback_mode="after_each",
    )
    assert quiz["title"] == "Heart week"
    assert quiz["status"] == "draft"
    assert quiz["question_count"] == 2
    assert quiz["category"] == {"id": category["id"], "name": "Cardiology", "slug": "cardiology"}
    assert "<strong>chapter 9</strong>" in quiz["description_html"]
    assert "<script" not in quiz["description_html"]
    assert 'href="javascript' not in quiz["description_html"]
    assert quiz["description"].startswith("Read **chapter 9**")
    assert quiz["can_edit"] is True
    assert quiz["author_id"] == teacher.id
    for name, value in {
        "time_limit_seconds": 1200,
        "shuffle_questions": True,
        "shuffle_options": True,
        "attempts_allowed": 3,
        "pass_mark_percent": 70,
        "feedback_mode": "after_each",
    }.items():
        assert quiz[name] == value, name

    defaults = await new_quiz(client, teacher, title="Plain")
    assert defaults["time_limit_seconds"] is None
    assert defaults["attempts_allowed"] is None
    assert defaults["pass_mark_percent"] == 50
    assert defaults["feedback_mode"] == "after_submit"
    assert defaults["question_count"] == 0


async def test_students_see_settings_but_never_questions_or_source(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    quiz = await published_quiz(client, teacher, description="*Good luck*")
    seen = await client.get(f"{QUIZZES}/{quiz['id']}", headers=learner.headers)
    assert seen.status_code == 200
    body = seen.json()
    assert body["can_edit"] is False
    assert body["description"] is None
    assert body["description_html"] == "<p><em>Good luck</em></p>\n"
    assert body["question_count"] == 1
    assert not {"questions", "question_ids", "answers"} & set(body)
    listing = await client.get(f"{QUIZZES}/{quiz['id']}/questions", headers=learner.headers)
    assert_problem(listing, 403, "insufficient_role")


async def test_teachers_edit_only_their_own_quizzes_admins_any(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    other_teacher: SignedInUser,
    admin: SignedInUser,
    learner: SignedInUser,
) -> None:
    quiz = await published_quiz(client, teacher)
    url = f"{QUIZZES}/{quiz['id']}"

    refused = await client.patch(url, json={"title": "Taken over"}, headers=other_teacher.headers)
    assert_problem(refused, 403, "not_quiz_author")
    for call in (
        client.post(f"{url}/unpublish", headers=other_teacher.headers),
        client.delete(url, headers=other_teacher.headers),
        client.get(f"{url}/questions", headers=other_teacher.headers),
        client.put(f"{url}/questions", json={"question_ids": []}, headers=other_teacher.headers),
    ):
        assert_problem(await call, 403, "not_quiz_author")
    student_edit = await client.patch(url, json={"title": "Mine now"}, headers=learner.headers)
    assert_problem(student_edit, 403, "insufficient_role")

    by_admin = await client.patch(url, json={"title": "Fixed by admin"}, headers=admin.headers)
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["title"] == "Fixed by admin"
    assert by_admin.json()["author_id"] == teacher.id  # the author stays the author

    # Another teacher's draft is not even visible.
    draft = await new_quiz(client, teacher, title="Secret draft")
    hidden = await client.patch(
        f"{QUIZZES}/{draft['id']}", json={"title": "x"}, headers=other_teacher.headers
    )
    assert_problem(hidden, 404, "quiz_not_found")
    assert_problem(
        await client.get(f"{QUIZZES}/{draft['id']}", headers=other_teacher.headers),
        404,
        "quiz_not_found",
    )


async def test_update_changes_only_what_was_sent_and_clears_with_null(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    category = (
        await client.post(CATEGORIES, json={"name": "Renal"}, headers=teacher.headers)
    ).json()
    quiz = await new_quiz(
        client,
        teacher,
        category_id=category["id"],
        time_limit_seconds=600,
        attempts_allowed=2,
        pass_mark_percent=80,
    )
    url = f"{QUIZZES}/{quiz['id']}"
    changed = await client.patch(
        url,
        json={"description": "New *text*", "time_limit_seconds": None, "category_id": None},
        headers=teacher.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["description_html"] == "<p>New <em>text</em></p>\n"
    assert body["time_limit_seconds"] is None
    assert body["category"] is None
    assert body["attempts_allowed"] == 2
    assert body["pass_mark_percent"] == 80
    assert body["title"] == quiz["title"]

    not_nullable = await client.patch(url, json={"title": None}, headers=teacher.headers)
    body = assert_problem(not_nullable, 422, "field_not_nullable")
    assert body["field"] == "title"


async def test_invalid_input_is_a_problem_with_a_code(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    published = await new_question(client, teacher)
    draft_question = await new_question(client, teacher, "Not ready yet", publish=False)
    unknown = str(uuid.uuid4())

    too_high = await client.post(
        QUIZZES, json={"title": "Q", "pass_mark_percent": 101}, headers=teacher.headers
    )
    body = assert_problem(too_high, 422, "validation_error")
    assert any(error["loc"][-1] == "pass_mark_percent" for error in body["errors"])
    negative = await client.post(
        QUIZZES, json={"title": "Q", "pass_mark_percent": -1}, headers=teacher.headers
    )
    assert_problem(negative, 422, "validation_error")
    for bad in (
        {"title": ""},
        {"title": "Q", "time_limit_seconds": 5},
        {"title": "Q", "attempts_allowed": 0},
        {"title": "Q", "feedback_mode": "sometimes"},
    ):
        assert_problem(
            await client.post(QUIZZES, json=bad, headers=teacher.headers), 422, "validation_error"
        )

    missing = await client.post(
        QUIZZES, json={"title": "Q", "question_ids": [published, unknown]}, headers=teacher.headers
    )
    assert assert_problem(missing, 422, "unknown_question")["question_ids"] == [unknown]
    unpublished = await client.post(
        QUIZZES,
        json={"title": "Q", "question_ids": [published, draft_question]},
        headers=teacher.headers,
    )
    body = assert_problem(unpublished, 422, "question_not_published")
    assert body["question_ids"] == [draft_question]
    twice = await client.post(
        QUIZZES,
        json={"title": "Q", "question_ids": [published, published]},
        headers=teacher.headers,
    )
    assert_problem(twice, 422, "duplicate_question")
    no_category = await client.post(
        QUIZZES, json={"title": "Q", "category_id": unknown}, headers=teacher.headers
    )
    assert_problem(no_category, 422, "category_not_found")

    quiz = await new_quiz(client, teacher)
    patch_high = await client.patch(
        f"{QUIZZES}/{quiz['id']}", json={"pass_mark_percent": 150}, headers=teacher.headers
    )
    assert_problem(patch_high, 422, "validation_error")
    add_unpublished = await client.post(
        f"{QUIZZES}/{quiz['id']}/questions",
        json={"question_id": draft_question},
        headers=teacher.headers,
    )
    assert_problem(add_unpublished, 422, "question_not_published")
    add_unknown = await client.post(
        f"{QUIZZES}/{quiz['id']}/questions", json={"question_id": unknown}, headers=teacher.headers
    )
    assert_problem(add_unknown, 422, "unknown_question")
    nothing_written = await client.get(f"{QUIZZES}/{quiz['id']}", headers=teacher.headers)
    assert nothing_written.json()["question_count"] == 0


async def test_delete_quiz(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    quiz = await published_quiz(client, teacher)
    url = f"{QUIZZES}/{quiz['id']}"
    assert (await client.get(url, headers=learner.headers)).status_code == 200
    assert (await client.get(QUIZZES, headers=learner.headers)).json()["total"] == 1
    assert (await client.delete(url, headers=teacher.headers)).status_code == 204
    assert_problem(await client.get(url, headers=learner.headers), 404, "quiz_not_found")
    assert (await client.get(QUIZZES, headers=learner.headers)).json()["total"] == 0
