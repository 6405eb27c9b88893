"""Server-side time limits: answers after the deadline are refused, expired attempts are
submitted on access and by the minute job; pausing stops the clock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.attempts import service
from studyhall.attempts.models import Attempt
from studyhall.attempts.tasks import submit_overdue_attempts_job, submit_overdue_now
from studyhall.core.db import utcnow
from studyhall.core.jobs import run_async
from studyhall.core.settings import Settings
from tests.attempts.conftest import (
    API,
    Bank,
    answer,
    assert_problem,
    item_of_type,
    new_quiz,
    option_id,
    save,
    set_attempt,
    start_quiz,
    submit,
)
from tests.conftest import SignedInUser


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def timed_attempt(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> dict[str, Any]:
    quiz_id = await new_quiz(
        client, teacher, [bank.ids["single_choice"], bank.ids["true_false"]], time_limit_seconds=600
    )
    attempt = await start_quiz(client, learner, quiz_id)
    assert attempt["time_limit_seconds"] == 600
    started, deadline = parse(attempt["started_at"]), parse(attempt["deadline_at"])
    assert deadline - started == timedelta(seconds=600)
    assert 590 <= attempt["remaining_seconds"] <= 600
    return attempt


async def expire(db: AsyncSession, attempt_id: str, seconds_ago: int = 30) -> datetime:
    deadline = utcnow() - timedelta(seconds=seconds_ago)
    await set_attempt(
        db, attempt_id, started_at=deadline - timedelta(seconds=600), deadline_at=deadline
    )
    return deadline


async def test_answer_after_deadline_refused_and_attempt_submitted(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await timed_attempt(client, teacher, learner, bank)
    choice = item_of_type(attempt, "single_choice")
    right = {"choice": option_id(choice, "Left ventricle")}
    assert (
        await answer(client, learner, attempt["id"], choice["position"], right)
    ).status_code == 200
    deadline = await expire(db, attempt["id"])

    tf = item_of_type(attempt, "true_false")
    late = await answer(
        client, learner, attempt["id"], tf["position"], {"choice": option_id(tf, "True")}
    )
    assert_problem(late, 409, "attempt_expired")
    late_save = await save(
        client, learner, attempt["id"], {"version": attempt["version"] + 1, "answers": {"0": None}}
    )
    body = assert_problem(late_save, 409, "attempt_expired")
    assert body["current"]["status"] == "submitted"

    # The refusal kept the automatic submission, with the answer given in time.
    result = (
        await client.get(f"{API}/attempts/{attempt['id']}/result", headers=learner.headers)
    ).json()
    assert result["status"] == "submitted" and result["auto_submitted"] is True
    assert parse(result["submitted_at"]) == deadline
    assert (result["answered_count"], result["correct_count"]) == (1, 1)
    assert result["time_spent_seconds"] == 600
    # Submitting now returns that result instead of an error.
    again = await submit(client, learner, attempt["id"])
    assert again.status_code == 200 and again.json() == result


async def test_expired_attempt_submitted_when_opened(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await timed_attempt(client, teacher, learner, bank)
    await expire(db, attempt["id"])
    opened = await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)
    assert opened.status_code == 200
    assert opened.json()["status"] == "submitted"
    assert opened.json()["result"]["auto_submitted"] is True
    assert opened.json()["remaining_seconds"] == 0
    review = await client.get(f"{API}/attempts/{attempt['id']}/review", headers=learner.headers)
    assert review.status_code == 200


async def test_a_save_within_the_grace_second_is_accepted(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    """A save sent just before the deadline that arrives just after it still counts."""
    attempt = await timed_attempt(client, teacher, learner, bank)
    await set_attempt(db, attempt["id"], deadline_at=utcnow() - service.DEADLINE_GRACE / 4)
    saved = await save(
        client,
        learner,
        attempt["id"],
        {"version": attempt["version"], "answers": {"0": {"choice": "a"}}},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["remaining_seconds"] == 0


async def test_minute_job_submits_overdue_attempts(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    other_learner: SignedInUser,
    bank: Bank,
) -> None:
    overdue = await timed_attempt(client, teacher, learner, bank)
    running = await timed_attempt(client, teacher, other_learner, bank)
    await expire(db, overdue["id"])

    # The service function, with the clock passed in: nothing is due a minute ago.
    assert await service.submit_overdue_attempts(db, now=utcnow() - timedelta(minutes=1)) == 0
    await db.commit()
    # The job itself, as huey's worker thread runs it: its own engine, on the app's loop.
    submitted = await asyncio.to_thread(submit_overdue_attempts_job.call_local)
    assert submitted == 1

    statuses = dict(
        (
            await db.execute(
                select(Attempt.id, Attempt.status).execution_options(populate_existing=True)
            )
        ).all()
    )
    assert statuses[uuid.UUID(overdue["id"])] == "submitted"
    assert statuses[uuid.UUID(running["id"])] == "in_progress"
    result = (
        await client.get(f"{API}/attempts/{overdue['id']}/result", headers=learner.headers)
    ).json()
    assert result["auto_submitted"] is True


def test_job_runner_uses_a_loop_of_its_own_outside_the_app() -> None:
    """In `studyhall worker` (no app loop running) job coroutines run on a loop of their own."""

    async def forty_two() -> int:
        return 42

    assert run_async(forty_two) == 42


async def test_job_function_runs_with_nothing_due(db: AsyncSession, settings: Settings) -> None:
    assert await submit_overdue_now() == 0


async def test_pause_stops_the_clock_and_refuses_answers(
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    attempt = await timed_attempt(client, teacher, learner, bank)
    paused = await client.post(f"{API}/attempts/{attempt['id']}/pause", headers=learner.headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    remaining = paused.json()["remaining_seconds"]
    deadline = parse(paused.json()["deadline_at"])

    refused = await answer(client, learner, attempt["id"], 0, {"choice": "a"})
    assert_problem(refused, 409, "attempt_paused")
    refused_save = await save(
        client,
        learner,
        attempt["id"],
        {"version": paused.json()["version"], "answers": {"0": {"choice": "a"}}},
    )
    assert_problem(refused_save, 409, "attempt_paused")
    # A save that changes nothing (a timer tick) is no error while paused.
    tick = await save(client, learner, attempt["id"], {"version": paused.json()["version"]})
    assert tick.status_code == 200

    # Ten minutes pass while paused: the clock does not move and nothing expires.
    paused_at = utcnow() - timedelta(minutes=10)
    await set_attempt(
        db,
        attempt["id"],
        paused_at=paused_at,
        deadline_at=deadline - timedelta(minutes=10),
        started_at=parse(attempt["started_at"]) - timedelta(minutes=10),
    )
    still = await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)
    assert still.json()["status"] == "paused"
    assert abs(still.json()["remaining_seconds"] - remaining) <= 1

    resumed = await client.post(f"{API}/attempts/{attempt['id']}/resume", headers=learner.headers)
    assert resumed.status_code == 200 and resumed.json()["status"] == "in_progress"
    moved = parse(resumed.json()["deadline_at"]) - (deadline - timedelta(minutes=10))
    assert timedelta(minutes=10) <= moved <= timedelta(minutes=10, seconds=2)
    assert abs(resumed.json()["remaining_seconds"] - remaining) <= 2
    ok = await answer(client, learner, attempt["id"], 0, {"choice": "a"})
    assert ok.status_code == 200

    result = (await submit(client, learner, attempt["id"])).json()
    # Ten paused minutes do not count as time spent.
    assert result["time_spent_seconds"] < 60
    # Pause and resume of a submitted attempt are refused.
    late = await client.post(f"{API}/attempts/{attempt['id']}/pause", headers=learner.headers)
    assert_problem(late, 409, "attempt_submitted")


async def test_untimed_attempt_has_no_deadline(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["single_choice"]])
    attempt = await start_quiz(client, learner, quiz_id)
    assert attempt["deadline_at"] is None and attempt["remaining_seconds"] is None
