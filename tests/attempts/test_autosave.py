"""Auto-save: the optimistic lock, the 409 with the current state, harmless repeats, merges,
and the per-user rate limit that never loses an answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.core.db import utcnow
from studyhall.core.ratelimit import get_limiter
from studyhall.core.settings import get_settings
from tests.attempts.conftest import (
    API,
    Bank,
    assert_problem,
    item_of_type,
    new_quiz,
    option_id,
    save,
    set_attempt,
    start_quiz,
)
from tests.conftest import SignedInUser


async def started(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
    db: AsyncSession | None = None,
) -> dict[str, Any]:
    quiz_id = await new_quiz(client, teacher, [bank.ids["single_choice"], bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    if db is not None:  # started ten minutes ago, so item times up to that are believable
        await set_attempt(db, attempt["id"], started_at=utcnow() - timedelta(minutes=10))
    return attempt


async def test_save_then_stale_save_gets_409_with_current_state(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await started(client, teacher, learner, bank, db)
    choice_item = item_of_type(attempt, "single_choice")
    text_item = item_of_type(attempt, "short_answer")
    pick = option_id(choice_item, "Left ventricle")
    first = await save(
        client,
        learner,
        attempt["id"],
        {
            "version": attempt["version"],
            "position": text_item["position"],
            "answers": {str(choice_item["position"]): {"choice": pick}},
            "marks": {str(text_item["position"]): True},
            "notes": {str(choice_item["position"]): "check the Frank-Starling curve"},
            "time_spent": {str(choice_item["position"]): 42},
        },
    )
    assert first.status_code == 200, first.text
    state = first.json()
    assert state["version"] == attempt["version"] + 1
    assert state["answers"][str(choice_item["position"])] == {"choice": pick}
    assert state["marks"][str(text_item["position"])] is True
    assert state["time_spent"][str(choice_item["position"])] == 42
    assert state["position"] == text_item["position"]
    assert state["answered_count"] == 1

    # Another tab still holds the first version and answers something else.
    stale = await save(
        client,
        learner,
        attempt["id"],
        {"version": attempt["version"], "answers": {str(text_item["position"]): {"text": "aorta"}}},
    )
    body = assert_problem(stale, 409, "stale_version")
    current = body["current"]
    assert current["version"] == state["version"]
    assert current["answers"][str(choice_item["position"])] == {"choice": pick}
    assert current["answers"][str(text_item["position"])] is None

    # The client merges (its newer answer on top of the server's state) and saves again.
    merged = await save(
        client,
        learner,
        attempt["id"],
        {
            "version": current["version"],
            "answers": {**current["answers"], str(text_item["position"]): {"text": "aorta"}},
        },
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["answered_count"] == 2

    progress = await client.get(f"{API}/attempts/{attempt['id']}/progress", headers=learner.headers)
    assert progress.json()["answers"][str(text_item["position"])] == {"text": "aorta"}
    assert progress.json()["version"] == merged.json()["version"]


async def test_repeating_a_save_is_harmless(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await started(client, teacher, learner, bank, db)
    choice_item = item_of_type(attempt, "single_choice")
    payload = {
        "version": attempt["version"],
        "answers": {str(choice_item["position"]): {"choice": option_id(choice_item, "Left")}},
        "time_spent": {str(choice_item["position"]): 10},
    }
    first = await save(client, learner, attempt["id"], payload)
    assert first.status_code == 200, first.text
    # The response was lost, the client sends the very same save again.
    again = await save(client, learner, attempt["id"], payload)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    # And a same-version save that changes nothing does not bump the version either.
    same = await save(
        client, learner, attempt["id"], {**payload, "version": first.json()["version"]}
    )
    assert same.json()["version"] == first.json()["version"]


async def test_clearing_and_unknown_positions(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    attempt = await started(client, teacher, learner, bank)
    text_position = str(item_of_type(attempt, "short_answer")["position"])
    saved = await save(
        client,
        learner,
        attempt["id"],
        {"version": attempt["version"], "answers": {text_position: {"text": "aorta"}}},
    )
    cleared = await save(
        client,
        learner,
        attempt["id"],
        {"version": saved.json()["version"], "answers": {text_position: None}},
    )
    assert cleared.json()["answers"][text_position] is None
    assert cleared.json()["answered_count"] == 0
    unknown = await save(
        client,
        learner,
        attempt["id"],
        {"version": cleared.json()["version"], "answers": {"9": {"text": "x"}}},
    )
    assert_problem(unknown, 422, "unknown_position")
    bad = await save(
        client,
        learner,
        attempt["id"],
        {"version": cleared.json()["version"], "answers": {text_position: {"choice": "a"}}},
    )
    assert_problem(bad, 422, "invalid_response")


async def test_time_spent_only_grows_and_is_capped(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await started(client, teacher, learner, bank, db)
    # Claiming an hour on an attempt ten minutes old is capped at the time it has run.
    saved = await save(
        client, learner, attempt["id"], {"version": attempt["version"], "time_spent": {"0": 3600}}
    )
    assert 600 <= saved.json()["time_spent"]["0"] < 700
    lower = await save(
        client, learner, attempt["id"], {"version": saved.json()["version"], "time_spent": {"0": 0}}
    )
    assert lower.json()["time_spent"]["0"] == saved.json()["time_spent"]["0"]


async def test_other_users_cannot_see_or_save(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    other_learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await started(client, teacher, learner, bank)
    for response in (
        await client.get(f"{API}/attempts/{attempt['id']}", headers=other_learner.headers),
        await save(client, other_learner, attempt["id"], {"version": attempt["version"]}),
        await client.post(f"{API}/attempts/{attempt['id']}/submit", headers=other_learner.headers),
        await client.get(f"{API}/attempts/{attempt['id']}/review", headers=teacher.headers),
    ):
        assert_problem(response, 404, "attempt_not_found")
    anonymous = await client.get(f"{API}/attempts/{attempt['id']}")
    assert anonymous.status_code == 401


async def test_autosave_rate_limit_keeps_answers(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    attempt = await started(client, teacher, learner, bank)
    rule = get_settings().rate_limit_attempt_autosave
    limit = int(rule.split()[0])
    for _ in range(limit):
        await get_limiter().hit("attempt_autosave", rule, learner.id)
    payload = {
        "version": attempt["version"],
        "answers": {"0": {"choice": "a"}, "1": {"text": "aorta"}},
    }
    refused = await save(client, learner, attempt["id"], payload)
    body = assert_problem(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    # Nothing was half-applied: the client still holds the save and retries it later.
    progress = await client.get(f"{API}/attempts/{attempt['id']}/progress", headers=learner.headers)
    assert progress.json()["version"] == attempt["version"]
    await get_limiter().reset()
    retried = await save(client, learner, attempt["id"], payload)
    assert retried.status_code == 200, retried.text
    assert retried.json()["answered_count"] == 2


async def test_choices_are_kept_once_each_in_the_shown_order(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["multiple_response"]], shuffle_options=True)
    attempt = await start_quiz(client, learner, quiz_id)
    shown = [option["id"] for option in attempt["items"][0]["options"]]
    picked = [shown[2], shown[0], shown[2]]
    saved = await save(
        client,
        learner,
        attempt["id"],
        {"version": attempt["version"], "answers": {"0": {"choices": picked}}},
    )
    assert saved.json()["answers"]["0"] == {"choices": [shown[0], shown[2]]}
    # The same answer in another order is the same answer: a repeat, not a conflict.
    again = await save(
        client,
        learner,
        attempt["id"],
        {"version": attempt["version"], "answers": {"0": {"choices": [shown[0], shown[2]]}}},
    )
    assert again.status_code == 200 and again.json()["version"] == saved.json()["version"]
