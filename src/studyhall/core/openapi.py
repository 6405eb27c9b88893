"""The OpenAPI document lists, for every operation, the problem+json responses it can give.

Statuses come from what the route is made of, so a new route documents its errors without
repeating them:
- the statuses its own `responses=` (or its router's) name, e.g. `problem_responses(409)`;
- those its dependencies declare with `@declares_problems(...)` (the signed-in dependency:
  401, 403, 429; role checks: 403), found anywhere in its dependency tree;
- 404 when it has path parameters, 422 when it takes any parameter or body, 400 and 413
  when it takes a body (one that cannot be parsed; the body size limit), 429 under the
  per-IP limit of every metered path, and 500 everywhere.
Every one of them is answered with the one `Problem` schema as `application/problem+json`,
the 422 included (FastAPI's `HTTPValidationError` is not what the error handler sends).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from studyhall.core.errors import PROBLEM_JSON, Problem
from studyhall.core.middleware import is_metered

F = TypeVar("F", bound=Callable[..., Any])

PROBLEMS_ATTRIBUTE = "__studyhall_problems__"
PROBLEM_REF = "#/components/schemas/Problem"
# FastAPI's default 422 schemas; replaced by Problem, dropped once nothing refers to them.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
FASTAPI_422_DESCRIPTION = "Validation Error"

DESCRIPTIONS = {
    400: "Bad request: an invalid or expired token or code, a wrong password, a bad form body",
    401: "Sign-in required: credentials missing, invalid, expired or revoked",
    403: "Not allowed for this user (role, ownership or CSRF token)",
    404: "No such resource, or not one this user may see",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request is not valid: `errors` lists each invalid field (`loc`, `msg`, `type`)",
    423: "Locked after too many failed attempts; `retry_after` says for how long",
    429: "Too many requests: see Retry-After and X-RateLimit-*",
    500: "Internal server error (logged with the request id)",
}

_RATE_LIMIT_HEADERS = {
    "Retry-After": {
        "description": "seconds until a retry can succeed",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Limit": {
        "description": "requests allowed per window",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "requests left", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "when the window resets (Unix time)",
        "schema": {"type": "integer"},
    },
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    423: {"Retry-After": _RATE_LIMIT_HEADERS["Retry-After"]},
    429: _RATE_LIMIT_HEADERS,
}

VALIDATION_EXAMPLE = {
    "type": "https://studyhall.dev/problems/validation_error",
    "title": "The request is not valid",
    "status": 422,
    "detail": "One or more fields are invalid.",
    "code": "validation_error",
    "instance": "/api/v1/quizzes",
    "request_id": "0b5c5c1a2f4e4d6c9e7f3a1b2c3d4e5f",
    "errors": [
        {"loc": ["body", "title"], "msg": "Field required", "type": "missing"},
        {
            "loc": ["query", "page"],
            "msg": "Input should be greater than or equal to 1",
            "type": "greater_than_equal",
        },
    ],
}


def describe(status: int) -> str:
    return DESCRIPTIONS.get(status) or HTTPStatus(status).phrase


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: the problem statuses it raises itself (e.g. 409),
    beyond those its parameters and dependencies imply."""
    return {status: {"description": describe(status)} for status in statuses}


def declares_problems(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency with the problem statuses it raises; every route that depends on
    it, directly or not, documents them."""

    def mark(function: F) -> F:
        setattr(function, PROBLEMS_ATTRIBUTE, frozenset(statuses))
        return function

    return mark


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    """`dependant` and every dependency below it."""
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """The API routes in `routes` as the document shows them (prefixes and the included
    routers' `responses` and dependencies applied)."""
    # FastAPI >= 0.16x keeps included routers nested and resolves them in route contexts
    # (which answer every APIRoute attribute); older versions copied the routes flat.
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:
        yield from (route for route in routes if isinstance(route, APIRoute))
        return
    for context in iter_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute):
            yield context


def route_problem_statuses(route: APIRoute) -> set[int]:
    """Every problem status `route` can answer with (see the module's docstring)."""
    statuses = {int(key) for key in route.responses if str(key).isdigit() and int(key) >= 400}
    tree = list(_tree(route.dependant))
    for dependant in tree:
        statuses |= getattr(dependant.call, PROBLEMS_ATTRIBUTE, frozenset())
    if any(dependant.path_params for dependant in tree):
        statuses.add(404)
    if route.body_field is not None or any(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        for dependant in tree
    ):
        statuses.add(422)
    if route.body_field is not None:
        statuses |= {400, 413}  # a body that cannot be parsed (e.g. not UTF-8); too large
    if is_metered(route.path_format):
        statuses.add(429)
    statuses.add(500)
    return statuses


def _documented_elsewise(documented: dict[str, Any]) -> bool:
    """A response the route documents with a body of its own (FastAPI's default 422 aside)."""
    content = documented.get("content")
    return bool(content) and "HTTPValidationError" not in json.dumps(content)


def _problem_response(status: int, documented: dict[str, Any]) -> dict[str, Any]:
    if _documented_elsewise(documented):
        return documented
    content: dict[str, Any] = {"schema": {"$ref": PROBLEM_REF}}
    if status == 422:
        content["example"] = VALIDATION_EXAMPLE
    description = documented.get("description")
    if not description or description == FASTAPI_422_DESCRIPTION:
        description = describe(status)
    response: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: content}}
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, "Problem": schema}


def _drop_unreferenced(document: dict[str, Any], names: Iterable[str]) -> None:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for name in names:
        others = {key: value for key, value in schemas.items() if key != name}
        if f'"#/components/schemas/{name}"' not in json.dumps([document["paths"], others]):
            schemas.pop(name, None)


def add_problem_responses(document: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Document the problem responses of every API route of `document`, in place."""
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        operations = document["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(route_problem_statuses(route)):
                responses[str(status)] = _problem_response(status, responses.get(str(status), {}))
            operation["responses"] = dict(sorted(responses.items()))
    document.setdefault("components", {}).setdefault("schemas", {}).update(_problem_schemas())
    _drop_unreferenced(document, FASTAPI_VALIDATION_SCHEMAS)
    return document


def install_problem_responses(app: FastAPI) -> None:
    """Make `app.openapi()` add the problem responses to the document FastAPI generates."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_responses(generate(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
