"""Fixtures for the attempts tests: an author, students, questions of every type, quizzes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts.models import Attempt
from tests.conftest import MakeVerifiedUser, SignedInUser

API = "/api/v1"


@pytest.fixture
async def other_learner(verified_user: MakeVerifiedUser) -> SignedInUser:
    return await verified_user("other@example.com")


# ---------------------------------------------------------------- questions


def single_choice(
    stem: str = "Which chamber pumps blood into the aorta?", **meta: Any
) -> dict[str, Any]:
    return {
        "type": "single_choice",
        "stem": stem,
        "explanation": "The **left ventricle** ejects into the aorta.",
        "options": [
            {"text": "Left ventricle", "correct": True, "explanation": "It ejects into the aorta."},
            {"text": "Right ventricle", "explanation": "It ejects into the pulmonary trunk."},
            {"text": "Left atrium"},
            {"text": "Right atrium"},
        ],
        "subject": "Physiology",
        "system": "Cardiovascular",
        **meta,
    }


def multiple_response(**meta: Any) -> dict[str, Any]:
    return {
        "type": "multiple_response",
        "stem": "Which are heart valves?",
        "explanation": "Four valves: two atrioventricular, two semilunar.",
        "options": [
            {"text": "Mitral", "correct": True},
            {"text": "Aortic", "correct": True},
            {"text": "Pyloric"},
        ],
        "subject": "Anatomy",
        "system": "Cardiovascular",
        **meta,
    }


def true_false(**meta: Any) -> dict[str, Any]:
    return {
        "type": "true_false",
        "stem": "The SA node is the heart's normal pacemaker.",
        "explanation": "Yes.",
        "options": [{"text": "True", "correct": True}, {"text": "False"}],
        "subject": "Physiology",
        "system": "Cardiovascular",
        **meta,
    }


def short_answer(**meta: Any) -> dict[str, Any]:
    return {
        "type": "short_answer",
        "stem": "Name the largest artery.",
        "explanation": "The aorta.",
        "accepted_answers": ["Aorta", "the aorta"],
        "subject": "Anatomy",
        "system": "Cardiovascular",
        **meta,
    }


def numerical(**meta: Any) -> dict[str, Any]:
    return {
        "type": "numerical",
        "stem": "Normal resting heart rate upper bound (bpm)?",
        "explanation": "About 100 bpm.",
        "numeric_answer": {"value": 100, "tolerance": 5},
        "subject": "Physiology",
        "system": "Cardiovascular",
        **meta,
    }


async def new_question(
    client: httpx.AsyncClient, author: SignedInUser, body: dict[str, Any], publish: bool = True
) -> str:
    created = await client.post(f"{API}/questions", json=body, headers=author.headers)
    assert created.status_code == 201, created.text
    question_id: str = created.json()["id"]
    if publish:
        published = await client.post(
            f"{API}/questions/{question_id}/publish", headers=author.headers
        )
        assert published.status_code == 200, published.text
    return question_id


async def new_quiz(
    client: httpx.AsyncClient, author: SignedInUser, question_ids: list[str], **settings: Any
) -> str:
    body: dict[str, Any] = {"title": "Cardiology quiz", "question_ids": question_ids, **settings}
    created = await client.post(f"{API}/quizzes", json=body, headers=author.headers)
    assert created.status_code == 201, created.text
    quiz_id: str = created.json()["id"]
    published = await client.post(f"{API}/quizzes/{quiz_id}/publish", headers=author.headers)
    assert published.status_code == 200, published.text
    return quiz_id


@dataclass
class Bank:
    """One published question of each type, keyed by type."""

    ids: dict[str, str]


@pytest.fixture
async def bank(client: httpx.AsyncClient, teacher: SignedInUser) -> Bank:
    ids = {}
    for body in (single_choice(), multiple_response(), true_false(), short_answer(), numerical()):
        ids[body["type"]] = await new_question(client, teacher, body)
    return Bank(ids)


async def start_quiz(
    client: httpx.AsyncClient, user: SignedInUser, quiz_id: str, expected: int = 201
) -> dict[str, Any]:
    response = await client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=user.headers)
    assert response.status_code == expected, response.text
    body: dict[str, Any] = response.json()
    return body


def option_id(item: dict[str, Any], text: str) -> str:
    """The id of the option whose text contains `text` (ids are shown, not correctness)."""
    for option in item["options"]:
        if text in option["text_html"]:
            return str(option["id"])
    raise AssertionError(f"no option {text!r} in {item['options']}")


def item_of_type(attempt: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(item for item in attempt["items"] if item["type"] == kind)


async def answer(
    client: httpx.AsyncClient,
    user: SignedInUser,
    attempt_id: str,
    position: int,
    response: dict[str, Any] | None,
    **extra: Any,
) -> httpx.Response:
    return await client.put(
        f"{API}/attempts/{attempt_id}/items/{position}/answer",
        json={"response": response, **extra},
        headers=user.headers,
    )


async def save(
    client: httpx.AsyncClient, user: SignedInUser, attempt_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"{API}/attempts/{attempt_id}/progress", json=body, headers=user.headers
    )


async def submit(
    client: httpx.AsyncClient,
    user: SignedInUser,
    attempt_id: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    return await client.post(f"{API}/attempts/{attempt_id}/submit", json=body, headers=user.headers)


async def set_attempt(db: AsyncSession, attempt_id: str, **values: Any) -> None:
    """Change an attempt's row directly (to move its clock) and commit."""
    await db.execute(update(Attempt).where(Attempt.id == uuid.UUID(attempt_id)).values(**values))
    await db.commit()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


# The live server and browser of the page tests (tests/web/conftest.py).
from tests.web.conftest import browser, browser_context, live_server, page  # noqa: E402

__all__ = ["browser", "browser_context", "live_server", "page"]
