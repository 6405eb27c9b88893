"""Custom tests from the bank: pools (unused, incorrect, marked, all), subjects and systems,
tutor and timed modes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.attempts.conftest import (
    API,
    answer,
    assert_problem,
    new_question,
    option_id,
    single_choice,
    submit,
)
from tests.conftest import SignedInUser


async def build(
    client: httpx.AsyncClient, user: SignedInUser, expected: int = 201, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"{API}/custom-tests", json=body, headers=user.headers)
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    return result


def stems(attempt: dict[str, Any]) -> set[str]:
    return {item["stem_html"].removeprefix("<p>").split(":")[0] for item in attempt["items"]}


async def cardiology(
    client: httpx.AsyncClient, teacher: SignedInUser, names: str
) -> dict[str, str]:
    return {
        name: await new_question(client, teacher, single_choice(f"{name}: which chamber?"))
        for name in names
    }


async def test_pools_pick_the_right_questions(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await cardiology(client, teacher, "ABCD")
    first = await build(client, learner, count=10, pool="unused", mode="timed")
    assert first["question_count"] == 4 and stems(first) == {"A", "B", "C", "D"}
    by_stem = {item["stem_html"][3]: item for item in first["items"]}
    right = lambda stem: {"choice": option_id(by_stem[stem], "Left ventricle")}  # noqa: E731
    wrong = lambda stem: {"choice": option_id(by_stem[stem], "Left atrium")}  # noqa: E731
    for stem, response in (("A", right("A")), ("B", wrong("B")), ("D", right("D"))):
        assert (
            await answer(client, learner, first["id"], by_stem[stem]["position"], response)
        ).status_code == 200
    for stem in "CD":
        marked = await client.patch(
            f"{API}/attempts/{first['id']}/items/{by_stem[stem]['position']}",
            json={"marked": True},
            headers=learner.headers,
        )
        assert marked.status_code == 200
    await submit(client, learner, first["id"])

    empty = await client.post(
        f"{API}/custom-tests", json={"count": 5, "pool": "unused"}, headers=learner.headers
    )
    body = assert_problem(empty, 422, "no_questions_available")
    assert body["pool"] == "unused"

    await cardiology(client, teacher, "E")
    assert stems(await build(client, learner, count=5, pool="unused")) == {"E"}
    assert stems(await build(client, learner, count=5, pool="incorrect", mode="tutor")) == {"B"}
    assert stems(await build(client, learner, count=5, pool="marked", mode="tutor")) == {"C", "D"}
    assert stems(await build(client, learner, count=10, pool="all", mode="tutor")) == set("ABCDE")
    # Another user's history is their own.
    assert stems(await build(client, teacher, count=10, pool="unused")) == set("ABCDE")


async def test_getting_it_right_leaves_the_incorrect_pool(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await cardiology(client, teacher, "A")
    first = await build(client, learner, count=1, mode="tutor")
    item = first["items"][0]
    await answer(client, learner, first["id"], 0, {"choice": option_id(item, "Right ventricle")})
    await submit(client, learner, first["id"])
    retry = await build(client, learner, count=1, pool="incorrect", mode="tutor")
    item = retry["items"][0]
    await answer(client, learner, retry["id"], 0, {"choice": option_id(item, "Left ventricle")})
    await submit(client, learner, retry["id"])
    empty = await client.post(
        f"{API}/custom-tests", json={"count": 1, "pool": "incorrect"}, headers=learner.headers
    )
    assert_problem(empty, 422, "no_questions_available")
    # Leaving a question unanswered does not make it incorrect.
    third = await build(client, learner, count=1, mode="timed")
    await submit(client, learner, third["id"])
    assert_problem(
        await client.post(
            f"{API}/custom-tests", json={"count": 1, "pool": "incorrect"}, headers=learner.headers
        ),
        422,
        "no_questions_available",
    )


async def test_subjects_systems_and_count(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await cardiology(client, teacher, "AB")
    await new_question(
        client, teacher, single_choice("R: which lobe?", subject="Anatomy", system="Respiratory")
    )
    await new_question(
        client, teacher, single_choice("K: which part?", subject="Physiology", system="Renal")
    )
    await new_question(client, teacher, single_choice("X: draft?"), publish=False)
    assert stems(await build(client, learner, count=10, systems=["Respiratory"])) == {"R"}
    assert stems(await build(client, learner, count=10, subjects=["Physiology"])) == {"A", "B", "K"}
    assert stems(
        await build(client, learner, count=10, subjects=["Physiology"], systems=["Renal"])
    ) == {"K"}
    two = await build(client, learner, count=2)
    assert two["question_count"] == 2 and len(two["items"]) == 2
    everything = await build(client, learner, count=200)
    assert stems(everything) == {"A", "B", "R", "K"}  # never a draft
    for bad in (
        {"count": 0},
        {"count": 201},
        {"count": 5, "pool": "favourites"},
        {"count": 5, "mode": "standard"},
    ):
        refused = await client.post(f"{API}/custom-tests", json=bad, headers=learner.headers)
        assert_problem(refused, 422, "validation_error")


async def test_timed_mode_budget_and_tutor_mode_feedback(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await cardiology(client, teacher, "ABC")
    timed = await build(client, learner, count=3, mode="timed")
    assert timed["mode"] == "timed" and timed["feedback_mode"] == "after_submit"
    assert timed["time_limit_seconds"] == 270  # 90 s per question by default
    started = datetime.fromisoformat(timed["started_at"])
    deadline = datetime.fromisoformat(timed["deadline_at"])
    assert (deadline - started).total_seconds() == 270
    quick = await build(client, learner, count=2, mode="timed", seconds_per_question=30)
    assert quick["time_limit_seconds"] == 60 and quick["pass_mark_percent"] is None

    tutor = await build(client, learner, count=3, mode="tutor")
    assert tutor["deadline_at"] is None and tutor["feedback_mode"] == "after_each"
    item = tutor["items"][0]
    answered = await answer(
        client, learner, tutor["id"], 0, {"choice": option_id(item, "Left ventricle")}
    )
    feedback = answered.json()["item"]["feedback"]
    assert feedback["is_correct"] is True and "left ventricle" in feedback["explanation_html"]
    assert answered.json()["item"]["locked"] is True
    result = (await submit(client, learner, tutor["id"])).json()
    assert result["percent"] == round(100 / 3, 2) and result["passed"] is None


async def test_shuffled_options_keep_true_false_order(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser
) -> None:
    await new_question(
        client,
        teacher,
        {
            "type": "true_false",
            "stem": "T: the heart has four chambers.",
            "options": [{"text": "True", "correct": True}, {"text": "False"}],
        },
    )
    attempt = await build(client, learner, count=1, shuffle_options=True)
    assert [o["text_html"] for o in attempt["items"][0]["options"]] == ["True", "False"]
