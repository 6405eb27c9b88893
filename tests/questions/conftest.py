"""Fixtures for the question bank tests: users of each role and question payloads."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from studyhall.core.settings import Settings
from studyhall.core.storage import LocalStorage, storage_from_settings
from studyhall.questions.images import STORAGE_NAMESPACE
from tests.conftest import SignedInUser
from tests.core.conftest import make_app as make_app  # apps with other settings

API = "/api/v1/questions"


@pytest.fixture(autouse=True)
def _no_image_files_left(settings: Settings) -> Iterator[None]:
    """Uploaded files outlive the per-test database wipe; remove this module's after each test."""
    yield
    shutil.rmtree(image_folder(settings), ignore_errors=True)


def image_folder(settings: Settings) -> Path:
    storage = storage_from_settings(settings)
    assert isinstance(storage, LocalStorage)
    return storage.root / STORAGE_NAMESPACE


def stored_image_files(settings: Settings) -> set[Path]:
    folder = image_folder(settings)
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def single_choice(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "single_choice",
        "stem": "Which chamber pumps blood into the **aorta**?",
        "explanation": "The left ventricle ejects into the aorta.",
        "options": [
            {"text": "Left ventricle", "correct": True, "explanation": "Yes."},
            {"text": "Right ventricle", "explanation": "It feeds the pulmonary trunk."},
            {"text": "Left atrium"},
        ],
        "subject": "Physiology",
        "system": "Cardiovascular",
        "topic": "Cardiac cycle",
        "tags": ["Heart", "basics"],
        "difficulty": 2,
        "source": "Guyton ch. 9",
    }
    body.update(overrides)
    return body


def multiple_response(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "multiple_response",
        "stem": "Which are beta-blockers?",
        "options": [
            {"text": "Metoprolol", "correct": True},
            {"text": "Atenolol", "correct": True},
            {"text": "Amlodipine"},
        ],
        "subject": "Pharmacology",
        "system": "Cardiovascular",
    }
    body.update(overrides)
    return body


def true_false(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "true_false",
        "stem": "The SA node is the heart's natural pacemaker.",
        "options": [{"text": "True", "correct": True}, {"text": "False"}],
        "subject": "Physiology",
        "system": "Cardiovascular",
    }
    body.update(overrides)
    return body


def short_answer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "short_answer",
        "stem": "Name the valve between the left atrium and left ventricle.",
        "accepted_answers": ["Mitral valve", "bicuspid valve"],
        "subject": "Anatomy",
        "system": "Cardiovascular",
    }
    body.update(overrides)
    return body


def numerical(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "numerical",
        "stem": "Normal resting heart rate upper bound (beats/min)?",
        "numeric_answer": {"value": 100, "tolerance": 5},
        "subject": "Physiology",
        "system": "Cardiovascular",
    }
    body.update(overrides)
    return body


async def create(
    client: httpx.AsyncClient, user: SignedInUser, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(API, json=body or single_choice(), headers=user.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def publish(client: httpx.AsyncClient, user: SignedInUser, question_id: str) -> None:
    response = await client.post(f"{API}/{question_id}/publish", headers=user.headers)
    assert response.status_code == 200, response.text


async def create_published(
    client: httpx.AsyncClient, user: SignedInUser, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    created = await create(client, user, body)
    await publish(client, user, created["id"])
    return created
