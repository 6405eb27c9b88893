"""Fixtures for the quizzes tests: users of each role, published questions, quiz helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.conftest import SignedInUser

API = "/api/v1"
QUIZZES = f"{API}/quizzes"
CATEGORIES = f"{API}/categories"


def question_body(stem: str = "Which chamber pumps blood into the aorta?") -> dict[str, Any]:
    return {
        "type": "single_choice",
        "stem": stem,
        "options": [
            {"text": "Left ventricle", "correct": True},
            {"text": "Right ventricle"},
        ],
        "subject": "Physiology",
        "system": "Cardiovascular",
    }


async def new_question(
    client: httpx.AsyncClient, author: SignedInUser, stem: str = "", publish: bool = True
) -> str:
    """A question in the bank through its API; published unless told otherwise."""
    body = question_body(stem) if stem else question_body()
    created = await client.post(f"{API}/questions", json=body, headers=author.headers)
    assert created.status_code == 201, created.text
    question_id: str = created.json()["id"]
    if publish:
        published = await client.post(
            f"{API}/questions/{question_id}/publish", headers=author.headers
        )
        assert published.status_code == 200, published.text
    return question_id


async def new_questions(client: httpx.AsyncClient, author: SignedInUser, count: int) -> list[str]:
    return [await new_question(client, author, f"Question number {n}") for n in range(count)]


async def new_quiz(
    client: httpx.AsyncClient, author: SignedInUser, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Cardiology basics", **fields}
    response = await client.post(QUIZZES, json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    quiz: dict[str, Any] = response.json()
    return quiz


async def published_quiz(
    client: httpx.AsyncClient, author: SignedInUser, **fields: Any
) -> dict[str, Any]:
    """A published quiz with one question unless `question_ids` is given."""
    if "question_ids" not in fields:
        fields["question_ids"] = [await new_question(client, author)]
    quiz = await new_quiz(client, author, **fields)
    response = await client.post(f"{QUIZZES}/{quiz['id']}/publish", headers=author.headers)
    assert response.status_code == 200, response.text
    published: dict[str, Any] = response.json()
    return published


async def titles(client: httpx.AsyncClient, user: SignedInUser, **params: Any) -> list[str]:
    response = await client.get(QUIZZES, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5) -> None:
    """Poll `check` until it holds; fail after `within` seconds (no fixed sleeps)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {within}s")


# The browser fixtures (live server, chromium, a CSP-checked tab) for the e2e tests here.
from tests.web.conftest import browser, browser_context, live_server, page  # noqa: E402

__all__ = ["browser", "browser_context", "live_server", "page"]
