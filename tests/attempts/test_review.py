"""When correctness, correct answers and explanations show: after each answer (and tutor
mode), after submit, or never."""

from __future__ import annotations

from typing import Any

import httpx

from tests.attempts.conftest import (
    API,
    Bank,
    answer,
    assert_problem,
    item_of_type,
    new_quiz,
    option_id,
    start_quiz,
    submit,
)
from tests.conftest import SignedInUser


def hidden(item: dict[str, Any]) -> bool:
    return item["feedback"] is None and all(
        option["correct"] is None and option["explanation_html"] == "" for option in item["options"]
    )


async def review_of(
    client: httpx.AsyncClient, learner: SignedInUser, attempt_id: str
) -> dict[str, Any]:
    response = await client.get(f"{API}/attempts/{attempt_id}/review", headers=learner.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_after_each_shows_feedback_and_locks(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(
        client,
        teacher,
        [bank.ids["single_choice"], bank.ids["short_answer"]],
        feedback_mode="after_each",
    )
    attempt = await start_quiz(client, learner, quiz_id)
    assert all(hidden(item) for item in attempt["items"])
    choice = item_of_type(attempt, "single_choice")
    wrong = {"choice": option_id(choice, "Right ventricle")}
    answered = await answer(client, learner, attempt["id"], choice["position"], wrong)
    assert answered.status_code == 200
    item = answered.json()["item"]
    assert item["locked"] is True
    assert item["feedback"]["is_correct"] is False
    assert item["feedback"]["correct_option_ids"] == [option_id(choice, "Left ventricle")]
    assert "left ventricle" in item["feedback"]["explanation_html"]
    by_text = {o["text_html"]: o for o in item["options"]}
    assert "pulmonary trunk" in by_text["Right ventricle"]["explanation_html"]
    assert by_text["Left ventricle"]["correct"] is True

    # The answer is locked: changing it is refused, repeating it is fine.
    right = {"choice": option_id(choice, "Left ventricle")}
    assert_problem(
        await answer(client, learner, attempt["id"], choice["position"], right), 409, "item_locked"
    )
    assert (
        await answer(client, learner, attempt["id"], choice["position"], wrong)
    ).status_code == 200
    # An auto-save cannot change it either; the state shows the kept answer.
    current = (
        await client.get(f"{API}/attempts/{attempt['id']}/progress", headers=learner.headers)
    ).json()
    saved = await client.patch(
        f"{API}/attempts/{attempt['id']}/progress",
        json={"version": current["version"], "answers": {str(choice["position"]): right}},
        headers=learner.headers,
    )
    assert saved.json()["answers"][str(choice["position"])] == wrong
    assert choice["position"] in saved.json()["locked"]

    # The player shows the answered item's feedback on reload, and only that one.
    reloaded = (await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)).json()
    assert reloaded["items"][choice["position"]]["feedback"]["is_correct"] is False
    assert hidden(item_of_type(reloaded, "short_answer"))
    # Marks and notes still change on a locked item.
    marked = await client.patch(
        f"{API}/attempts/{attempt['id']}/items/{choice['position']}",
        json={"marked": True, "note": "review valves"},
        headers=learner.headers,
    )
    assert marked.json()["marked"] is True and marked.json()["note"] == "review valves"

    await submit(client, learner, attempt["id"])
    review = await review_of(client, learner, attempt["id"])
    assert review["answers_visible"] is True
    text_item = item_of_type(review, "short_answer")
    assert text_item["feedback"]["accepted_answers"] == ["Aorta", "the aorta"]


async def test_after_submit_hides_until_review(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(
        client, teacher, [bank.ids["single_choice"]], feedback_mode="after_submit"
    )
    attempt = await start_quiz(client, learner, quiz_id)
    choice = attempt["items"][0]
    answered = await answer(
        client, learner, attempt["id"], 0, {"choice": option_id(choice, "Left")}
    )
    assert hidden(answered.json()["item"]) and answered.json()["item"]["locked"] is False
    item = await client.get(f"{API}/attempts/{attempt['id']}/items/0", headers=learner.headers)
    assert hidden(item.json())
    early = await client.get(f"{API}/attempts/{attempt['id']}/review", headers=learner.headers)
    assert_problem(early, 409, "attempt_not_submitted")

    await submit(client, learner, attempt["id"])
    review = await review_of(client, learner, attempt["id"])
    assert review["answers_visible"] is True
    reviewed = review["items"][0]
    assert reviewed["feedback"]["is_correct"] is True
    assert reviewed["response"] == {"choice": option_id(choice, "Left")}
    assert "left ventricle" in reviewed["feedback"]["explanation_html"]
    assert any(o["correct"] for o in reviewed["options"])
    item = await client.get(f"{API}/attempts/{attempt['id']}/items/0", headers=learner.headers)
    assert item.json()["feedback"]["is_correct"] is True


async def test_never_shows_score_only(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(
        client, teacher, [bank.ids["single_choice"], bank.ids["numerical"]], feedback_mode="never"
    )
    attempt = await start_quiz(client, learner, quiz_id)
    choice = item_of_type(attempt, "single_choice")
    answered = await answer(
        client, learner, attempt["id"], choice["position"], {"choice": option_id(choice, "Left")}
    )
    assert hidden(answered.json()["item"])
    result = (await submit(client, learner, attempt["id"])).json()
    assert result["correct_count"] == 1 and result["percent"] == 50

    review = await review_of(client, learner, attempt["id"])
    assert review["answers_visible"] is False
    assert review["result"]["percent"] == 50
    assert all(hidden(item) for item in review["items"])
    # The student still sees what they answered.
    assert item_of_type(review, "single_choice")["response"] == {
        "choice": option_id(choice, "Left")
    }
    item = await client.get(f"{API}/attempts/{attempt['id']}/items/0", headers=learner.headers)
    assert hidden(item.json())
