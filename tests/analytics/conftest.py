"""Fixtures for the analytics tests: users, quizzes, and submissions recorded directly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.accounts.models import Role, User, UserRole
from studyhall.analytics import service
from studyhall.analytics.models import RankBucket
from studyhall.analytics.schemas import ItemRecord, SubmissionRecord
from studyhall.core.db import utcnow
from studyhall.quizzes.models import Quiz, QuizStatus
from tests.conftest import SignedInUser, shared_password_hash

# The browser fixtures of the page tests (a live server, chromium, a CSP-checked tab).
from tests.web.conftest import browser, browser_context, live_server, page  # noqa: F401

API = "/api/v1/analytics"


def new_user(email: str, name: str | None = None, roles: Sequence[Role] = (Role.STUDENT,)) -> User:
    return User(
        id=uuid.uuid4(),
        email=email,
        name=name or email.split("@")[0],
        password_hash=shared_password_hash(),
        email_verified_at=utcnow(),
        roles=[UserRole(role=role.value) for role in roles],
    )


async def add_users(db: AsyncSession, *names: str) -> list[uuid.UUID]:
    """Insert users named `names` (emails name@example.com); their ids in the same order."""
    users = [new_user(f"{name.lower()}@example.com", name) for name in names]
    db.add_all(users)
    await db.commit()
    return [user.id for user in users]


async def add_quiz(db: AsyncSession, title: str = "Cardiology basics") -> uuid.UUID:
    quiz = Quiz(id=uuid.uuid4(), title=title, status=QuizStatus.PUBLISHED.value)
    db.add(quiz)
    await db.commit()
    return quiz.id


def items(
    answered: int,
    correct: int,
    seconds_each: int = 30,
    subject: str = "Physiology",
    system: str = "Cardiovascular",
    unanswered: int = 0,
) -> list[ItemRecord]:
    """`answered` answered items, the first `correct` of them right, plus unanswered ones."""
    made = [
        ItemRecord(
            question_id=uuid.uuid4(),
            question_version_id=uuid.uuid4(),
            subject=subject,
            system=system,
            answered=True,
            is_correct=index < correct,
            time_spent_seconds=seconds_each,
            response={"choice": "a"},
        )
        for index in range(answered)
    ]
    made += [
        ItemRecord(
            question_id=uuid.uuid4(),
            question_version_id=uuid.uuid4(),
            subject=subject,
            system=system,
            answered=False,
            is_correct=False,
            time_spent_seconds=seconds_each,
            response=None,
        )
        for _ in range(unanswered)
    ]
    return made


def submission(
    user_id: uuid.UUID,
    item_records: list[ItemRecord],
    submitted_at: datetime | None = None,
    quiz_id: uuid.UUID | None = None,
    percent: float | None = None,
    time_spent_seconds: int | None = None,
    attempt_id: uuid.UUID | None = None,
) -> SubmissionRecord:
    """The record the attempts module would pass for a submitted attempt of `item_records`."""
    correct = sum(item.is_correct for item in item_records)
    return SubmissionRecord(
        attempt_id=attempt_id or uuid.uuid4(),
        user_id=user_id,
        quiz_id=quiz_id,
        submitted_at=submitted_at or utcnow(),
        percent=percent
        if percent is not None
        else (round(100 * correct / len(item_records), 2) if item_records else 0.0),
        time_spent_seconds=time_spent_seconds
        if time_spent_seconds is not None
        else sum(item.time_spent_seconds for item in item_records),
        items=item_records,
    )


async def record(
    db: AsyncSession,
    user_id: uuid.UUID,
    item_records: list[ItemRecord],
    submitted_at: datetime | None = None,
    quiz_id: uuid.UUID | None = None,
    percent: float | None = None,
    time_spent_seconds: int | None = None,
    attempt_id: uuid.UUID | None = None,
) -> SubmissionRecord:
    """Record a submission the way attempts does, and commit it."""
    recorded = submission(
        user_id, item_records, submitted_at, quiz_id, percent, time_spent_seconds, attempt_id
    )
    await service.record_submission(db, recorded)
    await db.commit()
    return recorded


async def rank_buckets(db: AsyncSession) -> dict[tuple[str, int], int]:
    """The non-empty rank buckets as (metric, bucket) -> users."""
    rows = await db.execute(select(RankBucket.metric, RankBucket.bucket, RankBucket.users))
    return {(metric, bucket): users for metric, bucket, users in rows if users}


async def rebuilt_rank_buckets(db: AsyncSession) -> dict[tuple[str, int], int]:
    """What a full rebuild from user_stats makes of the buckets; rolled back afterwards.
    Commits first, to read what other sessions committed."""
    await db.commit()
    await service.rebuild_rank_buckets(db)
    rebuilt = await rank_buckets(db)
    await db.rollback()
    return rebuilt


def as_uuid(user: SignedInUser) -> uuid.UUID:
    return uuid.UUID(user.id)


def dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


async def question_via_api(
    client: httpx.AsyncClient, teacher: SignedInUser, body: dict[str, Any]
) -> str:
    """Create and publish a question through the API; its id."""
    created = await client.post("/api/v1/questions", json=body, headers=teacher.headers)
    assert created.status_code == 201, created.text
    question_id: str = created.json()["id"]
    published = await client.post(
        f"/api/v1/questions/{question_id}/publish", headers=teacher.headers
    )
    assert published.status_code == 200, published.text
    return question_id


async def sit_quiz(
    client: httpx.AsyncClient, student: SignedInUser, quiz_id: str, answers: list[str | None]
) -> dict[str, Any]:
    """Start a sitting of the quiz, pick `answers` (option ids, None = skip) in order, submit."""
    started = await client.post(f"/api/v1/quizzes/{quiz_id}/attempts", headers=student.headers)
    assert started.status_code == 201, started.text
    attempt = started.json()["id"]
    for position, choice in enumerate(answers):
        if choice is None:
            continue
        item = (
            await client.get(
                f"/api/v1/attempts/{attempt}/items/{position}", headers=student.headers
            )
        ).json()
        option = next(o["id"] for o in item["options"] if o["id"] == choice)
        answered = await client.put(
            f"/api/v1/attempts/{attempt}/items/{position}/answer",
            json={"response": {"choice": option}, "time_spent_seconds": 20 + 10 * position},
            headers=student.headers,
        )
        assert answered.status_code == 200, answered.text
    submitted = await client.post(f"/api/v1/attempts/{attempt}/submit", headers=student.headers)
    assert submitted.status_code == 200, submitted.text
    result: dict[str, Any] = submitted.json()
    return result
