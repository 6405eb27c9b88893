"""Grading of every question type, end to end: start a quiz, answer, submit, read the review."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.attempts.conftest import (
    API,
    Bank,
    answer,
    item_of_type,
    new_quiz,
    option_id,
    start_quiz,
    submit,
)
from tests.conftest import SignedInUser


def right_answers(attempt: dict[str, Any]) -> dict[str, dict[str, Any]]:
    multiple = item_of_type(attempt, "multiple_response")
    return {
        "single_choice": {
            "choice": option_id(item_of_type(attempt, "single_choice"), "Left ventricle")
        },
        "multiple_response": {
            "choices": [option_id(multiple, "Mitral"), option_id(multiple, "Aortic")]
        },
        "true_false": {"choice": option_id(item_of_type(attempt, "true_false"), "True")},
        "short_answer": {"text": "  THE   aorta "},
        "numerical": {"text": "104"},
    }


def wrong_answers(attempt: dict[str, Any]) -> dict[str, dict[str, Any]]:
    multiple = item_of_type(attempt, "multiple_response")
    return {
        "single_choice": {
            "choice": option_id(item_of_type(attempt, "single_choice"), "Right ventricle")
        },
        # One right choice is not enough: multiple response is all or nothing.
        "multiple_response": {"choices": [option_id(multiple, "Mitral")]},
        "true_false": {"choice": option_id(item_of_type(attempt, "true_false"), "False")},
        "short_answer": {"text": "vena cava"},
        "numerical": {"text": "106"},
    }


async def sit(
    client: httpx.AsyncClient,
    learner: SignedInUser,
    quiz_id: str,
    responses: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    attempt = await start_quiz(client, learner, quiz_id)
    chosen = responses(attempt)
    for item in attempt["items"]:
        answered = await answer(
            client, learner, attempt["id"], item["position"], chosen[item["type"]]
        )
        assert answered.status_code == 200, answered.text
        # after_submit: nothing about correctness before the review.
        assert answered.json()["item"]["feedback"] is None
        assert all(o["correct"] is None for o in answered.json()["item"]["options"])
    result = await submit(client, learner, attempt["id"])
    assert result.status_code == 200, result.text
    review = await client.get(f"{API}/attempts/{attempt['id']}/review", headers=learner.headers)
    assert review.status_code == 200, review.text
    return result.json(), review.json()


async def test_every_type_graded_right(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, list(bank.ids.values()), pass_mark_percent=80)
    result, review = await sit(client, learner, quiz_id, right_answers)
    assert result["status"] == "submitted"
    assert (result["correct_count"], result["answered_count"], result["question_count"]) == (
        5,
        5,
        5,
    )
    assert result["score"] == 5 and result["max_score"] == 5
    assert result["percent"] == 100 and result["passed"] is True
    assert all(item["feedback"]["is_correct"] for item in review["items"]), review


async def test_every_type_graded_wrong(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, list(bank.ids.values()), pass_mark_percent=50)
    result, review = await sit(client, learner, quiz_id, wrong_answers)
    assert (result["correct_count"], result["answered_count"]) == (0, 5)
    assert result["percent"] == 0 and result["passed"] is False
    for item in review["items"]:
        assert item["feedback"] == {**item["feedback"], "answered": True, "is_correct": False}


@pytest.mark.parametrize(
    ("kind", "text", "correct"),
    [
        ("short_answer", "aorta", True),
        ("short_answer", "Aorta\t", True),
        ("short_answer", "aortas", False),
        ("numerical", "95", True),
        ("numerical", "105", True),
        ("numerical", "94.9", False),
        ("numerical", "100,5", True),
        ("numerical", "a hundred", False),
    ],
)
async def test_text_answers(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
    kind: str,
    text: str,
    correct: bool,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids[kind]])
    attempt = await start_quiz(client, learner, quiz_id)
    assert (await answer(client, learner, attempt["id"], 0, {"text": text})).status_code == 200
    result = (await submit(client, learner, attempt["id"])).json()
    assert result["correct_count"] == int(correct)


async def test_mixed_score_and_pass_mark(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    """3 of 5 right, one left unanswered: 60 %, below a pass mark of 70."""
    quiz_id = await new_quiz(client, teacher, list(bank.ids.values()), pass_mark_percent=70)
    attempt = await start_quiz(client, learner, quiz_id)
    right, wrong = right_answers(attempt), wrong_answers(attempt)
    chosen = {**right, "short_answer": wrong["short_answer"]}
    for item in attempt["items"]:
        if item["type"] == "numerical":
            continue
        await answer(client, learner, attempt["id"], item["position"], chosen[item["type"]])
    result = (await submit(client, learner, attempt["id"])).json()
    assert (result["correct_count"], result["answered_count"]) == (3, 4)
    assert result["percent"] == 60 and result["passed"] is False
    review = (
        await client.get(f"{API}/attempts/{attempt['id']}/review", headers=learner.headers)
    ).json()
    unanswered = item_of_type(review, "numerical")
    assert unanswered["answered"] is False and unanswered["feedback"]["answered"] is False
    assert unanswered["feedback"]["numeric_value"] == 100


async def test_invalid_responses_are_refused(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["single_choice"], bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    choice = item_of_type(attempt, "single_choice")["position"]
    text = item_of_type(attempt, "short_answer")["position"]
    for position, response in (
        (choice, {"choice": "zz"}),
        (choice, {"choices": ["a"]}),
        (text, {"text": "x" * 1001}),
        (text, {"choice": "a"}),
    ):
        refused = await answer(client, learner, attempt["id"], position, response)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_response"
    missing = await answer(client, learner, attempt["id"], 7, {"text": "x"})
    assert missing.status_code == 404 and missing.json()["code"] == "item_not_found"
