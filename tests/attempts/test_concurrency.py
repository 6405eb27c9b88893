"""Writers of one attempt racing each other: the version lock lets exactly one win."""

from __future__ import annotations

import asyncio

import httpx

from tests.attempts.conftest import API, Bank, new_quiz, save, start_quiz, submit
from tests.conftest import SignedInUser


async def test_two_saves_of_one_version_one_wins(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"], bank.ids["numerical"]])
    attempt = await start_quiz(client, learner, quiz_id)
    first, second = await asyncio.gather(
        save(
            client,
            learner,
            attempt["id"],
            {"version": attempt["version"], "answers": {"0": {"text": "aorta"}}},
        ),
        save(
            client,
            learner,
            attempt["id"],
            {"version": attempt["version"], "answers": {"1": {"text": "100"}}},
        ),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 409], (first.text, second.text)
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "stale_version"
    assert loser.json()["current"]["version"] == attempt["version"] + 1


async def test_two_submits_at_once_grade_once(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    results = await asyncio.gather(*(submit(client, learner, attempt["id"]) for _ in range(3)))
    ok = [r for r in results if r.status_code == 200]
    assert ok, [r.text for r in results]
    assert all(r.status_code in (200, 429) for r in results), [r.text for r in results]
    assert len({r.json()["submitted_at"] for r in ok}) == 1


async def test_a_double_click_on_start_gives_one_attempt(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]], attempts_allowed=2)
    starts = await asyncio.gather(
        *(
            client.post(f"{API}/quizzes/{quiz_id}/attempts", headers=learner.headers)
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in starts) == [200, 200, 201], [r.text for r in starts]
    assert len({r.json()["id"] for r in starts}) == 1
