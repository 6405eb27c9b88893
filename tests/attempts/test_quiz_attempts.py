"""Quiz attempts: attempts allowed, one open attempt at a time, fixed orders, submitting twice,
and the submit rate limit that never loses the final answers."""

from __future__ import annotations

import httpx

from studyhall.core.ratelimit import get_limiter
from studyhall.core.settings import get_settings
from tests.attempts.conftest import (
    API,
    Bank,
    answer,
    assert_problem,
    new_question,
    new_quiz,
    single_choice,
    start_quiz,
    submit,
)
from tests.conftest import SignedInUser


async def test_attempts_allowed(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["true_false"]], attempts_allowed=2)
    first = await start_quiz(client, learner, quiz_id)
    # Starting again while the first is open returns it (a double click uses no attempt).
    same = await start_quiz(client, learner, quiz_id, expected=200)
    assert same["id"] == first["id"]
    await submit(client, learner, first["id"])
    second = await start_quiz(client, learner, quiz_id)
    assert second["id"] != first["id"]
    await submit(client, learner, second["id"])
    refused = await client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=learner.headers)
    body = assert_problem(refused, 409, "attempts_exhausted")
    assert body["attempts_allowed"] == 2 and body["attempts_used"] == 2

    mine = await client.get(
        f"{API}/attempts", params={"quiz_id": quiz_id, "per_page": 1}, headers=learner.headers
    )
    assert mine.status_code == 200
    assert mine.json()["total"] == 2 and len(mine.json()["items"]) == 1
    assert mine.json()["items"][0]["id"] == second["id"]
    submitted = await client.get(
        f"{API}/attempts", params={"status": "in_progress"}, headers=learner.headers
    )
    assert submitted.json()["total"] == 0


async def test_unknown_and_unpublished_quizzes(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    missing = await client.post(
        f"{API}/quizzes/00000000-0000-0000-0000-000000000000/attempts", headers=learner.headers
    )
    assert_problem(missing, 404, "quiz_not_found")
    draft = await client.post(
        f"{API}/quizzes",
        json={"title": "Draft", "question_ids": [bank.ids["true_false"]]},
        headers=teacher.headers,
    )
    hidden = await client.post(
        f"{API}/quizzes/{draft.json()['id']}/attempts", headers=learner.headers
    )
    assert_problem(hidden, 404, "quiz_not_found")
    # Its author may try the draft out.
    tried = await client.post(
        f"{API}/quizzes/{draft.json()['id']}/attempts", headers=teacher.headers
    )
    assert tried.status_code == 201, tried.text


async def test_quiz_without_published_questions(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    question_id = await new_question(client, teacher, single_choice())
    quiz_id = await new_quiz(client, teacher, [question_id])
    archived = await client.post(f"{API}/questions/{question_id}/archive", headers=teacher.headers)
    assert archived.status_code == 200, archived.text
    refused = await client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=learner.headers)
    assert_problem(refused, 422, "quiz_has_no_questions")


async def test_orders_fixed_at_start(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    question_ids = [
        await new_question(client, teacher, single_choice(f"Question {n}: which chamber?"))
        for n in range(6)
    ]
    quiz_id = await new_quiz(
        client, teacher, question_ids, shuffle_questions=True, shuffle_options=True
    )
    attempt = await start_quiz(client, learner, quiz_id)
    question_order = [item["question_id"] for item in attempt["items"]]
    option_orders = [[o["id"] for o in item["options"]] for item in attempt["items"]]
    assert sorted(question_order) == sorted(question_ids)
    for order in option_orders:
        assert sorted(order) == ["a", "b", "c", "d"]
    for _ in range(3):
        reloaded = (
            await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)
        ).json()
        assert [item["question_id"] for item in reloaded["items"]] == question_order
        assert [[o["id"] for o in item["options"]] for item in reloaded["items"]] == option_orders
    # With 6 questions of 4 options, some order differs from the authored one.
    assert question_order != question_ids or any(o != ["a", "b", "c", "d"] for o in option_orders)

    # The review shows the same orders.
    await submit(client, learner, attempt["id"])
    review = (
        await client.get(f"{API}/attempts/{attempt['id']}/review", headers=learner.headers)
    ).json()
    assert [[o["id"] for o in item["options"]] for item in review["items"]] == option_orders


async def test_unshuffled_quiz_keeps_authored_order(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    ids = [bank.ids["numerical"], bank.ids["single_choice"], bank.ids["true_false"]]
    quiz_id = await new_quiz(client, teacher, ids)
    attempt = await start_quiz(client, learner, quiz_id)
    assert [item["question_id"] for item in attempt["items"]] == ids
    assert [o["id"] for o in attempt["items"][1]["options"]] == ["a", "b", "c", "d"]


async def test_submit_twice_returns_the_same_result(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    await answer(client, learner, attempt["id"], 0, {"text": "aorta"})
    first = await submit(client, learner, attempt["id"])
    second = await submit(client, learner, attempt["id"])
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["correct_count"] == 1
    # A late answer to a submitted attempt is refused, and the result stays.
    late = await answer(client, learner, attempt["id"], 0, {"text": "vein"})
    assert_problem(late, 409, "attempt_submitted")
    assert (await submit(client, learner, attempt["id"])).json() == first.json()


async def test_submit_with_final_save(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"], bank.ids["numerical"]])
    attempt = await start_quiz(client, learner, quiz_id)
    final = {
        "version": attempt["version"],
        "answers": {"0": {"text": "aorta"}, "1": {"text": "100"}},
    }
    result = await submit(client, learner, attempt["id"], {"progress": final})
    assert result.status_code == 200, result.text
    assert result.json()["correct_count"] == 2
    # A stale final save is refused with the state to merge, and nothing is submitted.
    other = await start_quiz(client, learner, quiz_id)
    await answer(client, learner, other["id"], 0, {"text": "aorta"})
    stale = await submit(
        client, learner, other["id"], {"progress": {**final, "version": other["version"]}}
    )
    body = assert_problem(stale, 409, "stale_version")
    assert body["current"]["status"] == "in_progress"


async def test_submit_rate_limit_loses_nothing(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"], bank.ids["numerical"]])
    attempt = await start_quiz(client, learner, quiz_id)
    # Another submission of this attempt is under way (it used the one allowed per 5 min).
    rule = get_settings().rate_limit_attempt_submit
    await get_limiter().hit("attempt_submit", rule, f"{learner.id}:{attempt['id']}")
    final = {
        "version": attempt["version"],
        "answers": {"0": {"text": "aorta"}, "1": {"text": "99"}},
    }
    limited = await submit(client, learner, attempt["id"], {"progress": final})
    body = assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0 and body["retry_after"] > 0
    # The final answers were saved all the same.
    progress = (
        await client.get(f"{API}/attempts/{attempt['id']}/progress", headers=learner.headers)
    ).json()
    assert progress["status"] == "in_progress"
    assert progress["answers"] == {"0": {"text": "aorta"}, "1": {"text": "99"}}
    # Retrying the same submission later submits them (the save is a harmless repeat).
    await get_limiter().reset()
    result = await submit(client, learner, attempt["id"], {"progress": final})
    assert result.status_code == 200, result.text
    assert (result.json()["answered_count"], result.json()["correct_count"]) == (2, 2)
    # Once submitted, more submits answer the result, limit or not.
    again = await submit(client, learner, attempt["id"], {"progress": final})
    assert again.status_code == 200 and again.json() == result.json()
