"""Every request's input, checked once for the whole app: no NUL in text, no Infinity or NaN.

PostgreSQL answered 500 to a NUL character anywhere in a string; JSON's 1e999 (and NaN,
Infinity) made every answer to a numerical question correct. Both are a 422 now, on every
route, in the usual `validation_error` shape.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from studyhall.core.input_guard import json_issues
from studyhall.questions.schemas import NumericAnswer
from tests.conftest import SignedInUser
from tests.questions.conftest import API as QUESTIONS
from tests.questions.conftest import create, numerical, short_answer
from tests.web.support import HTML, csrf_token, web_sign_in

pytestmark = pytest.mark.usefixtures("app")
API = "/api/v1"
NUL = "\x00"


def assert_refused(response: httpx.Response, loc: list[str], kind: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert {"loc": loc, "msg": problem["errors"][0]["msg"], "type": kind} in problem["errors"]


# ---------------------------------------------------------------- NUL characters


async def test_register_refuses_a_nul_in_the_name(client: httpx.AsyncClient) -> None:
    body = {"email": "nul@example.com", "name": f"Eve{NUL}", "password": "a long passphrase 9"}
    answer = await client.post(f"{API}/auth/register", json=body)
    assert_refused(answer, ["body", "name"], "string_nul_character")


async def test_search_and_filters_refuse_a_nul(
    client: httpx.AsyncClient, student: SignedInUser
) -> None:
    for params in ({"text": f"heart{NUL}"}, {"subject": NUL}, {f"x{NUL}": "1"}):
        answer = await client.get(QUESTIONS, headers=student.headers, params=params)
        name = next(iter(params)).replace(NUL, "")
        assert_refused(answer, ["query", name], "string_nul_character")
    categories = await client.get(f"{API}/quizzes", params={"category": NUL})
    # Refused before sign-in is even looked at.
    assert_refused(categories, ["query", "category"], "string_nul_character")


async def test_question_stems_and_nested_values_refuse_a_nul(
    client: httpx.AsyncClient, teacher: SignedInUser
) -> None:
    stem = await client.post(QUESTIONS, headers=teacher.headers, json=numerical(stem=f"a{NUL}b"))
    assert_refused(stem, ["body", "stem"], "string_nul_character")
    accepted = short_answer(accepted_answers=["fine", f"bad{NUL}"])
    nested = await client.post(QUESTIONS, headers=teacher.headers, json=accepted)
    assert_refused(nested, ["body", "accepted_answers", "1"], "string_nul_character")
    key = await client.post(QUESTIONS, headers=teacher.headers, json={**numerical(), NUL: 1})
    assert_refused(key, ["body", ""], "string_nul_character")
    # Nothing was stored by any of them; a clean question still goes through.
    assert (await client.get(QUESTIONS, headers=teacher.headers)).json()["total"] == 0
    await create(client, teacher, numerical())


async def test_category_names_refuse_a_nul(
    client: httpx.AsyncClient, app: FastAPI, teacher: SignedInUser
) -> None:
    api = await client.post(f"{API}/categories", headers=teacher.headers, json={"name": NUL})
    assert_refused(api, ["body", "name"], "string_nul_character")

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50100))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        assert (await web_sign_in(browser, teacher.email)).status_code == 303
        token = csrf_token((await browser.get("/categories")).text)
        form = {"csrf_token": token, "name": f"Neuro{NUL}logy", "description": ""}
        page = await browser.post("/categories", data=form, headers=HTML)
        assert page.status_code == 422
        assert page.headers["content-type"].startswith("text/html")
        assert "The request is not valid" in page.text
        search = await browser.get("/quizzes", params={"q": NUL}, headers=HTML)
        assert search.status_code == 422
        listed = await browser.get("/categories")
        assert "Neuro" not in listed.text


def test_json_walk_finds_every_bad_value() -> None:
    document: dict[str, Any] = {"a": [1, "ok", {"b": f"x{NUL}"}], f"k{NUL}": 2.5, "n": 1e999}
    found = [(issue["loc"], issue["type"]) for issue in json_issues(document)]
    assert found == [
        (("body", "a", 2, "b"), "string_nul_character"),
        (("body", "k"), "string_nul_character"),
        (("body", "n"), "finite_number"),
    ]
    assert list(json_issues({"fine": ["text", 1, 2.5, None, True]})) == []


# ---------------------------------------------------------------- non-finite numbers


@pytest.mark.parametrize(
    "answer",
    ['{"value": 1e999, "tolerance": 5}', '{"value": NaN}', '{"value": 1, "tolerance": Infinity}'],
)
async def test_numerical_questions_refuse_non_finite_numbers(
    client: httpx.AsyncClient, teacher: SignedInUser, answer: str
) -> None:
    body = '{"type": "numerical", "stem": "How many?", "numeric_answer": ' + answer + "}"
    headers = {**teacher.headers, "content-type": "application/json"}
    refused = await client.post(QUESTIONS, headers=headers, content=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["type"] == "finite_number"
    assert (await client.get(QUESTIONS, headers=teacher.headers)).json()["total"] == 0


def test_schemas_refuse_non_finite_numbers_without_the_guard() -> None:
    # The shared Schema base refuses them too, for input that never passed through a request.
    for value in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValidationError, match="finite"):
            NumericAnswer(value=value)
        with pytest.raises(ValidationError, match="finite"):
            NumericAnswer(value=1, tolerance=value)
