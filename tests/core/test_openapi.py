"""The OpenAPI document lists every operation's problem responses with the one Problem schema
(schemathesis checks the app against it: tests/test_api_conformance.py)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from studyhall.core.errors import PROBLEM_JSON, Problem, install_error_handlers
from studyhall.core.openapi import (
    declares_problems,
    install_problem_responses,
    problem_responses,
)
from tests.conftest import SignedInUser

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def _problem_statuses(operation: dict[str, Any]) -> set[int]:
    return {
        int(status)
        for status, response in operation["responses"].items()
        if response.get("content", {}).get(PROBLEM_JSON, {}).get("schema") == PROBLEM_REF
    }


async def test_every_api_operation_documents_its_problems(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    operations = _operations(document)
    api = {label: op for label, op in operations.items() if " /api/v1/" in label}
    assert len(api) > 60
    for label, operation in api.items():
        errors = {int(s) for s in operation["responses"] if s.isdigit() and int(s) >= 400}
        assert errors == _problem_statuses(operation), label  # every error is a Problem
        assert {429, 500} <= errors, label  # the per-IP limit; anything unexpected
        if "{" in label:
            assert 404 in errors, label
        if "requestBody" in operation:
            assert {400, 413, 422} <= errors, label
        if operation.get("security"):
            assert {401, 403} <= errors, label
    assert _problem_statuses(operations["GET /api/v1/me"]) == {401, 403, 429, 500}
    assert _problem_statuses(operations["GET /health"]) == {500}  # not rate-limited
    assert 423 in _problem_statuses(operations["POST /api/v1/auth/login"])
    assert 409 in _problem_statuses(operations["POST /api/v1/quizzes/{quiz_id}/publish"])
    assert {409, 413, 415} <= _problem_statuses(
        operations["POST /api/v1/questions/{question_id}/images"]
    )
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert {"code", "instance"} <= set(schemas["Problem"]["required"])


async def test_the_422_sent_is_the_422_documented(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    documented = document["paths"]["/api/v1/quizzes"]["post"]["responses"]["422"]
    example = documented["content"][PROBLEM_JSON]["example"]
    response = await client.post("/api/v1/quizzes", json={}, headers=student.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    Problem.model_validate(body)
    assert set(body) == set(example)
    assert body["errors"] == [
        {"loc": ["body", "title"], "msg": "Field required", "type": "missing"}
    ]


class Note(BaseModel):
    text: str


@declares_problems(401)
async def signed_in() -> str:
    return "someone"


@declares_problems(403)
async def editor(who: Annotated[str, Depends(signed_in)]) -> str:
    return who


def test_statuses_come_from_dependencies_parameters_and_declarations() -> None:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(prefix="/api/v1/notes", responses=problem_responses(409))

    @router.get("")
    async def list_notes() -> list[str]:
        return []

    @router.put("/{note_id}", responses=problem_responses(423))
    async def put_note(note_id: int, note: Note, who: Annotated[str, Depends(editor)]) -> Note:
        return note

    app.include_router(router)
    install_problem_responses(app)
    operations = _operations(app.openapi())
    assert _problem_statuses(operations["GET /api/v1/notes"]) == {409, 429, 500}
    assert _problem_statuses(operations["PUT /api/v1/notes/{note_id}"]) == {
        400,  # an unparsable body
        401,  # signed_in, below editor
        403,  # editor
        404,  # a path parameter
        409,  # the router
        413,  # the body limit
        422,  # parameters and body
        423,  # the route
        429,
        500,
    }
    put = operations["PUT /api/v1/notes/{note_id}"]["responses"]
    assert "Retry-After" in put["429"]["headers"]
    assert "WWW-Authenticate" in put["401"]["headers"]
