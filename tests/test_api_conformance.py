"""schemathesis over the whole API, in-process against the real app and backends.

Every operation of the OpenAPI document gets generated requests (a bounded, reproducible
number), each sent anonymously, as a student and as a teacher. Every response must be no 5xx,
a documented status, a documented content type, documented headers and a body matching its
schema. Half of the generated ids are swapped for ids of real resources (a published
question and quiz, the student's attempt) so that the success paths are exercised too.

Rate limits: the test raises every limit through `app.state.settings` (the global per-IP
middleware reads it too), so the run exercises the routes rather than the limiter; the
limits themselves have their own tests (tests/accounts/test_ratelimits.py and others).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from studyhall.accounts.schemas import Role
from studyhall.app import create_app
from studyhall.core.settings import Settings, get_settings
from tests.conftest import MakeVerifiedUser, SignedInUser

API = "/api/v1"
MAX_EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
RAISED_LIMITS = {
    name: "1000000/minute" for name in Settings.model_fields if name.startswith("rate_limit_")
}
SIGNED_IN = ("student", "teacher")
# What requests.Request takes of the transport arguments schemathesis prepares.
REQUEST_ARGUMENTS = ("method", "url", "headers", "files", "data", "params", "cookies", "json")


def _api_document() -> dict[str, Any]:
    """The document as the app serves it (loaded at collection: one test per operation)."""
    return create_app(get_settings()).openapi()


schema = schemathesis.openapi.from_dict(
    _api_document(),
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": MAX_EXAMPLES, "deterministic": True}}
    ),
)


@dataclass
class World:
    """Who sends the generated requests, and real ids to send them at."""

    identities: dict[str, dict[str, str]]
    ids: dict[str, str]


@pytest.fixture
def raised_limits(app: FastAPI) -> Iterator[None]:
    original: Settings = app.state.settings
    app.state.settings = original.model_copy(update=RAISED_LIMITS)
    yield
    app.state.settings = original


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def _seed(
    client: httpx.AsyncClient, teacher: SignedInUser, student: SignedInUser
) -> dict[str, str]:
    """A category, a published question with an image, a published quiz with it, and the
    student's open attempt at the quiz."""
    as_teacher = teacher.headers
    category = await _created(
        await client.post(f"{API}/categories", json={"name": "Cardiology"}, headers=as_teacher)
    )
    question = await _created(
        await client.post(
            f"{API}/questions",
            headers=as_teacher,
            json={
                "type": "single_choice",
                "stem": "Which chamber pumps blood into the aorta?",
                "options": [
                    {"text": "Left ventricle", "correct": True},
                    {"text": "Right ventricle"},
                ],
                "subject": "Physiology",
                "system": "Cardiovascular",
            },
        )
    )
    await _created(
        await client.post(f"{API}/questions/{question['id']}/publish", headers=as_teacher)
    )
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    image = await _created(
        await client.post(
            f"{API}/questions/{question['id']}/images",
            headers=as_teacher,
            files={"file": ("heart.png", png, "image/png")},
        )
    )
    quiz = await _created(
        await client.post(
            f"{API}/quizzes",
            headers=as_teacher,
            json={
                "title": "Cardiology basics",
                "category_id": category["id"],
                "question_ids": [question["id"]],
            },
        )
    )
    await _created(await client.post(f"{API}/quizzes/{quiz['id']}/publish", headers=as_teacher))
    attempt = await _created(
        await client.post(f"{API}/quizzes/{quiz['id']}/attempts", headers=student.headers)
    )
    return {
        "category_id": category["id"],
        "question_id": question["id"],
        "image_id": image["id"],
        "quiz_id": quiz["id"],
        "attempt_id": attempt["id"],
        "user_id": student.id,
    }


@pytest.fixture
async def world(
    client: httpx.AsyncClient, verified_user: MakeVerifiedUser, raised_limits: None
) -> World:
    teacher = await verified_user("conformance-teacher@example.com", (Role.TEACHER,))
    student = await verified_user("conformance-student@example.com")
    ids = await _seed(client, teacher, student)
    identities = {"anonymous": {}, "student": student.headers, "teacher": teacher.headers}
    return World(identities, ids)


Send = Callable[[Case, dict[str, str]], httpx.Response]


@pytest.fixture
async def send(client: httpx.AsyncClient) -> Send:
    """Send a case through the test's client, on the loop the app and its backends run on.

    The hypothesis test around it is synchronous: it runs between the loop's turns, so the
    request runs the loop until it is answered. The body is encoded exactly as schemathesis'
    own transport (requests) would.
    """
    loop = asyncio.get_running_loop()

    def send(case: Case, headers: dict[str, str]) -> httpx.Response:
        arguments = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        prepared = requests.Request(
            **{name: arguments[name] for name in REQUEST_ARGUMENTS if name in arguments}
        ).prepare()
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        request = client.build_request(
            str(prepared.method), str(prepared.url), headers=dict(prepared.headers), content=body
        )
        return loop.run_until_complete(client.send(request))

    return send


@dataclass
class Tally:
    """What the run covered, printed at its end (figures for the record)."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def summary(self) -> str:
        classes = Counter(f"{status // 100}xx" for status in self.statuses.elements())
        by_class = ", ".join(f"{name}: {count}" for name, count in sorted(classes.items()))
        return (
            f"schemathesis: {len(self.operations)} operations, {self.cases} generated cases, "
            f"{self.statuses.total()} requests ({by_class})"
        )


TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def _print_tally(request: pytest.FixtureRequest) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def print_tally() -> None:  # at the end of the run, when the output is no longer captured
        if reporter is not None and TALLY.cases:
            reporter.write_line(TALLY.summary())

    request.config.add_cleanup(print_tally)


def _aim_at_real_resources(case: Case, ids: dict[str, str]) -> None:
    """Swap about half the generated ids for ids of resources that exist (deterministically:
    by the parity of the generated id)."""
    for name, value in (case.path_parameters or {}).items():
        try:
            generated = uuid.UUID(str(value))
        except ValueError:
            continue
        if name in ids and generated.int % 2 == 0:
            case.path_parameters[name] = ids[name]


def _senders(case: Case, identities: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """A valid case is sent as every identity. An invalid one (most of the coverage phase)
    is sent once, as the student or the teacher in turn: anonymously it would only meet the
    sign-in check, and both roles meet the same validation."""
    if case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE:
        return [identities[SIGNED_IN[TALLY.cases % len(SIGNED_IN)]]]
    return list(identities.values())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_document(case: Case, world: World, send: Send) -> None:
    _aim_at_real_resources(case, world.ids)
    TALLY.operations.add(case.operation.label)
    TALLY.cases += 1
    for headers in _senders(case, world.identities):
        response = send(case, headers)
        TALLY.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
