"""Cached quiz lists and details: every write shows on the next read, and nobody sees another
user's cached list."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import commit_and_run_hooks
from studyhall.quizzes import service
from studyhall.quizzes.models import Quiz
from studyhall.quizzes.schemas import QuizUpdate
from tests.conftest import SignedInUser
from tests.quizzes.conftest import (
    QUIZZES,
    eventually,
    new_question,
    new_quiz,
    published_quiz,
    titles,
)


async def cache_hits(client: httpx.AsyncClient) -> dict[str, float]:
    """`studyhall_cache_hits_total` by namespace, as /metrics shows it."""
    text = (await client.get("/metrics")).text
    hits = {"quizzes": 0.0, "quiz": 0.0, "categories": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "studyhall_cache_hits_total":
                namespace = sample.labels.get("namespace", "")
                hits[namespace] = hits.get(namespace, 0.0) + sample.value
    return hits


async def detail(client: httpx.AsyncClient, user: SignedInUser, quiz_id: str) -> httpx.Response:
    return await client.get(f"{QUIZZES}/{quiz_id}", headers=user.headers)


async def test_reads_are_cached(
    client: httpx.AsyncClient, db: AsyncSession, teacher: SignedInUser, learner: SignedInUser
) -> None:
    """A change made behind the service's back stays unseen: the reads come from the cache
    (which is why every write has to drop them)."""
    quiz = await published_quiz(client, teacher, title="Original")
    assert await titles(client, learner) == ["Original"]
    assert (await detail(client, learner, quiz["id"])).json()["title"] == "Original"

    await db.execute(
        update(Quiz).where(Quiz.id == uuid.UUID(quiz["id"])).values(title="Changed in SQL")
    )
    await db.commit()
    hits_before = await cache_hits(client)
    assert await titles(client, learner) == ["Original"]
    assert (await detail(client, learner, quiz["id"])).json()["title"] == "Original"
    hits = await cache_hits(client)
    assert hits["quizzes"] == hits_before["quizzes"] + 1
    assert hits["quiz"] == hits_before["quiz"] + 1


async def test_an_edit_shows_on_the_next_read(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    q1, q2 = await new_question(client, teacher), await new_question(client, teacher, "Two")
    quiz = await published_quiz(client, teacher, title="Before", question_ids=[q1])
    url = f"{QUIZZES}/{quiz['id']}"
    for viewer in (learner, teacher):  # warm the shared and the teacher's own entries
        assert await titles(client, viewer) == ["Before"]
        assert (await detail(client, viewer, quiz["id"])).json()["title"] == "Before"

    edited = await client.patch(
        url, json={"title": "After", "pass_mark_percent": 90}, headers=teacher.headers
    )
    assert edited.status_code == 200
    for viewer in (learner, teacher):
        assert await titles(client, viewer) == ["After"]
        body = (await detail(client, viewer, quiz["id"])).json()
        assert (body["title"], body["pass_mark_percent"]) == ("After", 90)

    added = await client.post(f"{url}/questions", json={"question_id": q2}, headers=teacher.headers)
    assert added.status_code == 201
    assert (await detail(client, learner, quiz["id"])).json()["question_count"] == 2
    listed = (await client.get(QUIZZES, headers=learner.headers)).json()["items"]
    assert listed[0]["question_count"] == 2

    await client.patch(f"{url}/questions/{q2}", json={"position": 0}, headers=teacher.headers)
    await client.delete(f"{url}/questions/{q1}", headers=teacher.headers)
    assert (await detail(client, learner, quiz["id"])).json()["question_count"] == 1

    await client.post(f"{url}/unpublish", headers=teacher.headers)
    assert await titles(client, learner) == []
    assert (await detail(client, learner, quiz["id"])).status_code == 404
    await client.post(f"{url}/publish", headers=teacher.headers)
    assert await titles(client, learner) == ["After"]

    await client.delete(url, headers=teacher.headers)
    assert await titles(client, learner) == []
    assert await titles(client, teacher) == []
    assert (await detail(client, teacher, quiz["id"])).status_code == 404


async def test_a_teachers_draft_never_reaches_a_students_cached_list(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    learner2: SignedInUser,
) -> None:
    question = await new_question(client, teacher)
    await published_quiz(client, teacher, title="Public", question_ids=[question])
    # The teacher's list (with a draft) is cached first, the students' second, and again.
    await new_quiz(client, teacher, title="Draft in progress")
    for params in ({}, {"page": 1, "per_page": 20}, {"text": "draft"}, {"mine": "true"}):
        assert "Draft in progress" in await titles(client, teacher, **params)
        assert "Draft in progress" not in await titles(client, learner, **params)
        assert "Draft in progress" not in await titles(client, learner2, **params)
    # A student's own `mine` list is theirs alone and empty.
    assert await titles(client, learner, mine="true") == []
    # And the detail, cached by the teacher's read, is still refused to students.
    drafts = await client.get(QUIZZES, params={"status": "draft"}, headers=teacher.headers)
    draft_id = drafts.json()["items"][0]["id"]
    assert (await detail(client, teacher, draft_id)).status_code == 200
    assert (await detail(client, learner, draft_id)).status_code == 404


async def test_the_source_of_a_cached_detail_stays_with_its_editors(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    other_teacher: SignedInUser,
    learner: SignedInUser,
) -> None:
    quiz = await published_quiz(client, teacher, description="Secret *source*")
    assert (await detail(client, teacher, quiz["id"])).json()["description"] == "Secret *source*"
    for viewer in (learner, other_teacher):
        body = (await detail(client, viewer, quiz["id"])).json()
        assert body["description"] is None
        assert body["can_edit"] is False


async def test_a_read_racing_an_uncommitted_edit_is_dropped_after_the_commit(
    app: FastAPI, client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    """The writer drops the cache before committing; a reader in between caches the old rows.
    The second drop after the commit removes them."""
    quiz = await published_quiz(client, teacher, title="Old title")
    actor = service.Actor(id=uuid.UUID(teacher.id), can_author=True)
    async with app.state.sessionmaker() as writer:
        await service.update_quiz(writer, actor, uuid.UUID(quiz["id"]), QuizUpdate(title="New"))
        # Not committed yet: this read sees the old title and caches it.
        assert (await detail(client, learner, quiz["id"])).json()["title"] == "Old title"
        assert await titles(client, learner) == ["Old title"]
        await commit_and_run_hooks(writer)

    async def shows_new_title() -> bool:
        body = (await detail(client, learner, quiz["id"])).json()
        return body["title"] == "New" and await titles(client, learner) == ["New"]

    await eventually(shows_new_title)
