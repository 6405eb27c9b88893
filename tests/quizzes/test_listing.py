"""Listing quizzes: who sees which, filters, and pagination."""

from __future__ import annotations

import httpx

from tests.conftest import SignedInUser
from tests.quizzes.conftest import (
    CATEGORIES,
    QUIZZES,
    new_question,
    new_quiz,
    published_quiz,
    titles,
)


async def test_students_see_published_teachers_their_drafts_admins_all(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    other_teacher: SignedInUser,
    learner: SignedInUser,
    admin: SignedInUser,
) -> None:
    question = await new_question(client, teacher)
    await published_quiz(client, teacher, title="B published", question_ids=[question])
    await new_quiz(client, teacher, title="A my draft")
    await new_quiz(client, other_teacher, title="C their draft")

    assert await titles(client, learner) == ["B published"]
    assert await titles(client, teacher) == ["A my draft", "B published"]
    assert await titles(client, other_teacher) == ["B published", "C their draft"]
    assert await titles(client, admin) == ["A my draft", "B published", "C their draft"]

    assert await titles(client, teacher, status="draft") == ["A my draft"]
    assert await titles(client, teacher, mine="true") == ["A my draft", "B published"]
    assert await titles(client, other_teacher, mine="true") == ["C their draft"]
    assert await titles(client, admin, mine="true") == []
    # A student asking for drafts still gets none.
    assert await titles(client, learner, status="draft") == []
    summary = (await client.get(QUIZZES, headers=learner.headers)).json()["items"][0]
    assert summary["question_count"] == 1
    assert summary["status"] == "published"


async def test_filter_by_category_and_text(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    cardio = (
        await client.post(CATEGORIES, json={"name": "Cardio"}, headers=teacher.headers)
    ).json()
    renal = (await client.post(CATEGORIES, json={"name": "Renal"}, headers=teacher.headers)).json()
    question = await new_question(client, teacher)
    for title, category, description in (
        ("Heart failure", cardio, "Diuretics and **ACE inhibitors**"),
        ("Arrhythmias", cardio, "ECG reading"),
        ("Nephron 100%", renal, "Loop of Henle"),
    ):
        await published_quiz(
            client,
            teacher,
            title=title,
            category_id=category["id"],
            description=description,
            question_ids=[question],
        )

    assert await titles(client, learner, category="cardio") == ["Arrhythmias", "Heart failure"]
    assert await titles(client, learner, category="renal") == ["Nephron 100%"]
    assert await titles(client, learner, category="nothing-here") == []
    assert await titles(client, learner, text="HEART") == ["Heart failure"]
    assert await titles(client, learner, text="ace") == ["Heart failure"]  # in the description
    assert await titles(client, learner, text="ecg arrhythmias") == ["Arrhythmias"]
    assert await titles(client, learner, text="ecg nephron") == []
    assert await titles(client, learner, text="100%") == ["Nephron 100%"]
    assert await titles(client, learner, text="%") == ["Nephron 100%"]  # no wildcard
    assert await titles(client, learner, text="_") == []
    assert await titles(client, learner, category="cardio", text="failure") == ["Heart failure"]


async def test_pagination(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    question = await new_question(client, teacher)
    names = [f"Quiz {n:02d}" for n in range(23)]
    for name in reversed(names):
        await published_quiz(client, teacher, title=name, question_ids=[question])

    pages = []
    for page in (1, 2, 3, 4):
        response = await client.get(
            QUIZZES, params={"page": page, "per_page": 10}, headers=learner.headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 23
        assert body["page"] == page
        assert body["per_page"] == 10
        pages.append([item["title"] for item in body["items"]])
    assert pages == [names[:10], names[10:20], names[20:], []]

    too_big = await client.get(QUIZZES, params={"per_page": 1000}, headers=learner.headers)
    assert too_big.status_code == 422
