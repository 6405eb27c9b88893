"""The question bank announces `question.published` when a version becomes the one students
see: on publishing, and on editing a published question (a new version)."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.events import subscribe
from studyhall.questions.events import QuestionPublished
from tests.conftest import SignedInUser, deliver_events
from tests.questions.conftest import API, create, publish, single_choice

received: list[QuestionPublished] = []


@subscribe(QuestionPublished, "tests.question_published")
async def remember(session: AsyncSession, event: QuestionPublished) -> None:
    received.append(event)


async def test_publishing_and_editing_a_published_question_announce_the_version(
    app: FastAPI, client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    received.clear()
    created = await create(client, teacher)
    qid = created["id"]
    edited = await client.put(
        f"{API}/{qid}", json=single_choice(stem="Still a draft"), headers=teacher.headers
    )
    assert edited.status_code == 200
    await deliver_events(app)
    assert received == []  # drafts are not announced

    await publish(client, teacher, qid)
    await publish(client, teacher, qid)  # already published: nothing new
    republished = await client.put(
        f"{API}/{qid}", json=single_choice(stem="Published wording 2"), headers=teacher.headers
    )
    await deliver_events(app)

    second = republished.json()["current"]
    assert [(e.question_id, e.version_id, e.version_number) for e in received] == [
        (uuid.UUID(qid), uuid.UUID(created["current"]["id"]), 1),
        (uuid.UUID(qid), uuid.UUID(second["id"]), 2),
    ]
    assert all(e.author_id == uuid.UUID(teacher.id) for e in received)
