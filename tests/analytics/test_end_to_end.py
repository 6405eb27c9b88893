"""A user's path through the real API: teacher writes questions and a quiz, students sit it,
then everyone's analytics, the boards and the item analysis reflect the submissions."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import Role
from tests.analytics.conftest import API, question_via_api, sit_quiz
from tests.conftest import MakeVerifiedUser, deliver_events

V1 = "/api/v1"


async def test_students_sit_a_quiz_and_analytics_follow(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, verified_user: MakeVerifiedUser
) -> None:
    teacher = await verified_user("teacher@example.com", (Role.TEACHER,), name="Tess Teacher")
    other_teacher = await verified_user("teacher2@example.com", (Role.TEACHER,))
    heart = await question_via_api(
        client,
        teacher,
        {
            "type": "single_choice",
            "stem": "Which chamber pumps blood into the aorta?",
            "options": [
                {"text": "Left ventricle", "correct": True},
                {"text": "Right ventricle"},
                {"text": "Left atrium"},
            ],
            "subject": "Physiology",
            "system": "Cardiovascular",
        },
    )
    kidney = await question_via_api(
        client,
        teacher,
        {
            "type": "true_false",
            "stem": "The loop of Henle concentrates urine.",
            "options": [{"text": "True", "correct": True}, {"text": "False"}],
            "subject": "Physiology",
            "system": "Renal",
        },
    )
    quiz = await client.post(
        f"{V1}/quizzes",
        json={"title": "Organ basics", "question_ids": [heart, kidney]},
        headers=teacher.headers,
    )
    assert quiz.status_code == 201, quiz.text
    quiz_id = quiz.json()["id"]
    published = await client.post(f"{V1}/quizzes/{quiz_id}/publish", headers=teacher.headers)
    assert published.status_code == 200, published.text

    # Option ids are a, b, c in authoring order; "a" is right in both questions.
    ann = await verified_user("ann@example.com", name="Ann")
    bob = await verified_user("bob@example.com", name="Bob")
    cy = await verified_user("cy@example.com", name="Cy")
    dee = await verified_user("dee@example.com", name="Dee")
    assert (await sit_quiz(client, ann, quiz_id, ["a", "a"]))["percent"] == 100.0
    assert (await sit_quiz(client, bob, quiz_id, ["a", "b"]))["percent"] == 50.0
    assert (await sit_quiz(client, cy, quiz_id, ["b", "a"]))["percent"] == 50.0
    assert (await sit_quiz(client, dee, quiz_id, ["c", None]))["percent"] == 0.0
    await deliver_events(app)

    performance = (await client.get(f"{API}/me/performance", headers=bob.headers)).json()
    assert performance["overall"]["answered"] == 2 and performance["overall"]["correct"] == 1
    systems = {g["system"]: g["accuracy"] for g in performance["by_system"]}
    assert systems == {"Cardiovascular": 1.0, "Renal": 0.0}
    assert performance["trend"][-1]["answered"] == 2  # today

    ranking = (await client.get(f"{API}/me/percentile", headers=ann.headers)).json()
    assert ranking["total_users"] == 4 and ranking["accuracy_percentile"] == 100.0

    board = (
        await client.get(f"{API}/leaderboards/global", params={"period": "day"}, headers=cy.headers)
    ).json()
    assert [(e["name"], e["rank"], e["correct"]) for e in board["items"][:1]] == [("Ann", 1, 2)]
    assert {e["name"]: e["rank"] for e in board["items"]} == {
        "Ann": 1,
        "Bob": 2,
        "Cy": 2,
        "Dee": 4,
    }
    quiz_board = (
        await client.get(f"{API}/leaderboards/quizzes/{quiz_id}", headers=dee.headers)
    ).json()
    assert quiz_board["quiz_title"] == "Organ basics"
    assert quiz_board["items"][0]["name"] == "Ann"
    assert quiz_board["total"] == 4

    analysis = await client.get(f"{API}/questions/{heart}", headers=teacher.headers)
    assert analysis.status_code == 200, analysis.text
    body = analysis.json()
    assert (body["responses"], body["answered"], body["correct"]) == (4, 4, 2)
    assert body["p_value"] == 0.5 and body["type"] == "single_choice"
    # round(0.27 * 4) = 1: the top attempt (Ann, 100%) was right, the bottom (Dee, 0%) wrong.
    assert body["discrimination"] == 1.0
    (version,) = body["versions"]
    assert version["number"] == 1
    assert [
        (o["option_id"], o["picks"], o["percent"], o["correct"]) for o in version["options"]
    ] == [
        ("a", 2, 50.0, True),
        ("b", 1, 25.0, False),
        ("c", 1, 25.0, False),
    ]
    assert version["options"][0]["label"] == "Left ventricle"
    kidney_stats = (await client.get(f"{API}/questions/{kidney}", headers=teacher.headers)).json()
    assert (kidney_stats["responses"], kidney_stats["answered"], kidney_stats["correct"]) == (
        4,
        3,
        2,
    )

    not_mine = await client.get(f"{API}/questions/{heart}", headers=other_teacher.headers)
    assert not_mine.status_code == 403 and not_mine.json()["code"] == "not_question_author"
    student = await client.get(f"{API}/questions/{heart}", headers=ann.headers)
    assert student.status_code == 403 and student.json()["code"] == "insufficient_role"

    # One more submission drops the cached analysis: the next read counts it.
    await sit_quiz(client, ann, quiz_id, ["b", "a"])
    await deliver_events(app)
    again = (await client.get(f"{API}/questions/{heart}", headers=teacher.headers)).json()
    assert again["responses"] == 5 and again["correct"] == 2
