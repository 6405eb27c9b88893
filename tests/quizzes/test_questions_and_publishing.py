"""A quiz's ordered questions, the publishing rules, and the spec attempts start from."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.errors import NotFound
from studyhall.quizzes import service
from tests.conftest import SignedInUser
from tests.quizzes.conftest import (
    API,
    QUIZZES,
    assert_problem,
    new_question,
    new_questions,
    new_quiz,
    published_quiz,
)


async def order(client: httpx.AsyncClient, user: SignedInUser, quiz_id: str) -> list[str]:
    response = await client.get(
        f"{QUIZZES}/{quiz_id}/questions", params={"per_page": 100}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["position"] for item in items] == list(range(len(items)))
    return [item["question_id"] for item in items]


async def test_add_remove_and_reorder(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    q1, q2, q3, q4 = await new_questions(client, teacher, 4)
    quiz = await new_quiz(client, teacher, question_ids=[q1, q2, q3])
    url = f"{QUIZZES}/{quiz['id']}/questions"
    assert await order(client, teacher, quiz["id"]) == [q1, q2, q3]

    moved = await client.patch(f"{url}/{q3}", json={"position": 0}, headers=teacher.headers)
    assert moved.status_code == 200, moved.text
    assert [i["question_id"] for i in moved.json()["items"]] == [q3, q1, q2]
    to_end = await client.patch(f"{url}/{q3}", json={"position": 99}, headers=teacher.headers)
    assert [i["question_id"] for i in to_end.json()["items"]] == [q1, q2, q3]

    added = await client.post(url, json={"question_id": q4, "position": 1}, headers=teacher.headers)
    assert added.status_code == 201, added.text
    assert await order(client, teacher, quiz["id"]) == [q1, q4, q2, q3]
    again = await client.post(url, json={"question_id": q4}, headers=teacher.headers)
    assert_problem(again, 409, "duplicate_question")

    removed = await client.delete(f"{url}/{q2}", headers=teacher.headers)
    assert removed.status_code == 204
    assert await order(client, teacher, quiz["id"]) == [q1, q4, q3]
    gone = await client.delete(f"{url}/{q2}", headers=teacher.headers)
    assert_problem(gone, 404, "question_not_in_quiz")
    not_there = await client.patch(f"{url}/{q2}", json={"position": 0}, headers=teacher.headers)
    assert_problem(not_there, 404, "question_not_in_quiz")

    replaced = await client.put(url, json={"question_ids": [q3, q2, q1]}, headers=teacher.headers)
    assert replaced.status_code == 200, replaced.text
    assert await order(client, teacher, quiz["id"]) == [q3, q2, q1]
    detail = await client.get(f"{QUIZZES}/{quiz['id']}", headers=teacher.headers)
    assert detail.json()["question_count"] == 3

    items = (await client.get(url, headers=teacher.headers)).json()["items"]
    assert items[0]["stem_preview"] == "Question number 2"
    assert items[0]["type"] == "single_choice"
    assert items[0]["published"] is True


async def test_question_list_is_paginated(client: httpx.AsyncClient, teacher: SignedInUser) -> None:
    ids = await new_questions(client, teacher, 5)
    quiz = await new_quiz(client, teacher, question_ids=ids)
    page = await client.get(
        f"{QUIZZES}/{quiz['id']}/questions",
        params={"per_page": 2, "page": 3},
        headers=teacher.headers,
    )
    body = page.json()
    assert body["total"] == 5
    assert [item["question_id"] for item in body["items"]] == ids[4:]
    assert body["items"][0]["position"] == 4


async def test_publishing_rules(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    quiz = await new_quiz(client, teacher)
    url = f"{QUIZZES}/{quiz['id']}"
    empty = await client.post(f"{url}/publish", headers=teacher.headers)
    assert_problem(empty, 409, "quiz_has_no_questions")
    assert_problem(await client.get(url, headers=learner.headers), 404, "quiz_not_found")

    question = await new_question(client, teacher)
    added = await client.post(
        f"{url}/questions", json={"question_id": question}, headers=teacher.headers
    )
    assert added.status_code == 201
    published = await client.post(f"{url}/publish", headers=teacher.headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert (await client.get(url, headers=learner.headers)).json()["status"] == "published"

    last = await client.delete(f"{url}/questions/{question}", headers=teacher.headers)
    assert_problem(last, 409, "quiz_has_no_questions")
    emptied = await client.put(
        f"{url}/questions", json={"question_ids": []}, headers=teacher.headers
    )
    assert_problem(emptied, 409, "quiz_has_no_questions")

    unpublished = await client.post(f"{url}/unpublish", headers=teacher.headers)
    assert unpublished.json()["status"] == "draft"
    assert_problem(await client.get(url, headers=learner.headers), 404, "quiz_not_found")
    # As a draft it may be emptied.
    assert (
        await client.delete(f"{url}/questions/{question}", headers=teacher.headers)
    ).status_code == 204


async def test_archived_questions_block_publishing_but_may_stay(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    keep, retire = await new_questions(client, teacher, 2)
    quiz = await new_quiz(client, teacher, question_ids=[keep, retire])
    archived = await client.post(f"{API}/questions/{retire}/archive", headers=teacher.headers)
    assert archived.status_code == 200, archived.text

    refused = await client.post(f"{QUIZZES}/{quiz['id']}/publish", headers=teacher.headers)
    body = assert_problem(refused, 409, "quiz_has_unpublished_questions")
    assert body["question_ids"] == [retire]
    items = (await client.get(f"{QUIZZES}/{quiz['id']}/questions", headers=teacher.headers)).json()[
        "items"
    ]
    assert [item["published"] for item in items] == [True, False]
    # Reordering keeps a question that is already there, archived or not.
    reordered = await client.put(
        f"{QUIZZES}/{quiz['id']}/questions",
        json={"question_ids": [retire, keep]},
        headers=teacher.headers,
    )
    assert reordered.status_code == 200, reordered.text
    await client.delete(f"{QUIZZES}/{quiz['id']}/questions/{retire}", headers=teacher.headers)
    ok = await client.post(f"{QUIZZES}/{quiz['id']}/publish", headers=teacher.headers)
    assert ok.status_code == 200, ok.text


async def test_quiz_for_attempt_hides_drafts_from_students(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    admin: SignedInUser,
) -> None:
    q1, q2 = await new_questions(client, teacher, 2)
    draft = await new_quiz(
        client, teacher, question_ids=[q2, q1], pass_mark_percent=60, feedback_mode="never"
    )
    draft_id = uuid.UUID(draft["id"])

    with pytest.raises(NotFound) as hidden:
        await service.quiz_for_attempt(db, draft_id, uuid.UUID(learner.id))
    assert hidden.value.code == "quiz_not_found"
    own = await service.quiz_for_attempt(db, draft_id, uuid.UUID(teacher.id))
    assert own.question_ids == [uuid.UUID(q2), uuid.UUID(q1)]
    assert own.pass_mark_percent == 60
    assert own.feedback_mode == "never"
    by_admin = await service.quiz_for_attempt(db, draft_id, uuid.UUID(admin.id), is_admin=True)
    assert by_admin.id == draft_id
    with pytest.raises(NotFound):
        await service.quiz_for_attempt(db, uuid.uuid4(), uuid.UUID(teacher.id))

    published = await published_quiz(client, teacher, question_ids=[q1])
    spec = await service.quiz_for_attempt(db, uuid.UUID(published["id"]), uuid.UUID(learner.id))
    assert spec.question_ids == [uuid.UUID(q1)]
    assert spec.title == published["title"]
