"""Errors render as RFC 9457 problem+json with stable codes (HTML fragments for pages/HTMX),
and unhandled exceptions never show the client a traceback."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from studyhall.core.errors import Conflict, NotFound, StudyhallError
from tests.core.conftest import AppFactory, capture_logs, metric, scrape

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "instance", "request_id"}
SECRET_IN_EXCEPTION = "db password is hunter2 at /srv/studyhall/secret.py"


class Signup(BaseModel):
    email: str
    password: str
    age: int


class QuotaExceeded(StudyhallError):
    status, code, title = 402, "quota_exceeded", "Quota exceeded"


def _throwaway_routes(app: FastAPI) -> None:
    @app.get("/api/v1/test/conflict")
    async def conflict() -> None:
        raise Conflict("That name is taken.", code="name_taken", extra={"field": "name"})

    @app.get("/api/v1/test/quota")
    async def quota() -> None:
        raise QuotaExceeded()

    @app.get("/api/v1/test/missing")
    async def missing() -> None:
        raise NotFound("No such quiz.")

    @app.post("/api/v1/test/signup")
    async def signup(body: Signup) -> dict[str, str]:
        return {"email": body.email}

    @app.get("/api/v1/test/boom")
    async def api_boom() -> None:
        raise RuntimeError(SECRET_IN_EXCEPTION)

    @app.get("/test/boom")
    async def page_boom() -> None:
        raise RuntimeError(SECRET_IN_EXCEPTION)

    @app.get("/test/conflict")
    async def page_conflict() -> None:
        raise Conflict("That <name> is taken.")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://studyhall.dev/problems/{code}"
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


async def test_domain_errors_are_problems_with_their_code(make_app: AppFactory) -> None:
    async with make_app(setup=_throwaway_routes) as (_, client):
        body = assert_problem(await client.get("/api/v1/test/conflict"), 409, "name_taken")
        assert body["detail"] == "That name is taken."
        assert body["field"] == "name"

        body = assert_problem(await client.get("/api/v1/test/quota"), 402, "quota_exceeded")
        assert body["title"] == body["detail"] == "Quota exceeded"

        body = assert_problem(await client.get("/api/v1/test/missing"), 404, "not_found")
        assert body["detail"] == "No such quiz."


async def test_given_request_id_is_in_the_problem(make_app: AppFactory) -> None:
    request_id = uuid.uuid4().hex
    async with make_app(setup=_throwaway_routes) as (_, client):
        response = await client.get("/api/v1/test/conflict", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id
    assert assert_problem(response, 409, "name_taken")["request_id"] == request_id


async def test_validation_errors_list_fields_without_echoing_input(make_app: AppFactory) -> None:
    async with make_app(setup=_throwaway_routes) as (_, client):
        response = await client.post(
            "/api/v1/test/signup",
            json={"email": "a@example.com", "password": "correct horse", "age": "old"},
        )
        body = assert_problem(response, 422, "validation_error")
        assert [error["loc"] for error in body["errors"]] == [["body", "age"]]
        assert {"msg", "type"} <= set(body["errors"][0])
        assert "correct horse" not in response.text

        missing = await client.post("/api/v1/test/signup", json={})
        body = assert_problem(missing, 422, "validation_error")
        assert {tuple(error["loc"]) for error in body["errors"]} == {
            ("body", "email"),
            ("body", "password"),
            ("body", "age"),
        }

        not_json = await client.post(
            "/api/v1/test/signup",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert_problem(not_json, 422, "validation_error")


async def test_unknown_path_and_wrong_method(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert body["title"] == "Not found"

    wrong_method = await client.delete("/health")
    body = assert_problem(wrong_method, 405, "method_not_allowed")
    assert "GET" in wrong_method.headers["allow"]


async def test_unhandled_exception_is_a_500_problem_without_internals(
    make_app: AppFactory,
) -> None:
    async with make_app(setup=_throwaway_routes) as (_, client):
        before = metric(
            await scrape(client), "studyhall_http_errors_total", route="/api/v1/test/boom"
        )
        with capture_logs() as logs:
            # ASGITransport re-raises app exceptions by default: the exception must not escape.
            response = await client.get("/api/v1/test/boom")
        after = metric(
            await scrape(client), "studyhall_http_errors_total", route="/api/v1/test/boom"
        )

    body = assert_problem(response, 500, "internal_error")
    for leaked in ("Traceback", "RuntimeError", "hunter2", "secret.py", 'File "'):
        assert leaked not in response.text
    assert body["detail"] == "Something went wrong on our side; the error was logged."
    # The 500 gets the same headers as every response.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["api-version"] == "1"
    assert after == before + 1

    # The traceback goes to the log, tied to the request id, and one access line says 500.
    [logged] = logs.events("unhandled_exception")
    assert logged["request_id"] == body["request_id"]
    assert "RuntimeError" in logged["exception"]
    [access] = logs.events("request")
    assert access["status"] == 500
    assert access["route"] == "/api/v1/test/boom"


async def test_html_clients_get_an_html_fragment(make_app: AppFactory) -> None:
    async with make_app(setup=_throwaway_routes) as (_, client):
        for headers in ({"Accept": "text/html,application/xhtml+xml"}, {"HX-Request": "true"}):
            missing = await client.get("/no-such-page", headers=headers)
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("text/html")
            assert 'role="alert"' in missing.text
            assert "Not found" in missing.text

            conflict = await client.get("/test/conflict", headers=headers)
            assert conflict.status_code == 409
            assert conflict.headers["content-type"].startswith("text/html")
            assert "That &lt;name&gt; is taken." in conflict.text  # escaped

            boom = await client.get("/test/boom", headers=headers)
            assert boom.status_code == 500
            assert boom.headers["content-type"].startswith("text/html")
            assert "hunter2" not in boom.text
            assert "Traceback" not in boom.text

        # The API answers problem+json whatever the client accepts.
        api = await client.get("/api/v1/test/conflict", headers={"Accept": "text/html"})
        assert_problem(api, 409, "name_taken")
        api_htmx = await client.get("/api/v1/no-such-thing", headers={"HX-Request": "true"})
        assert_problem(api_htmx, 404, "not_found")

        # A non-HTML client on a page path still gets problem+json.
        assert_problem(await client.get("/no-such-page"), 404, "not_found")
