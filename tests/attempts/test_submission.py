"""Submitting and analytics: the submit transaction only emits `attempt.submitted` (analytics
writes nothing in it), and once the events are delivered, every way an attempt gets submitted
leaves the rank buckets exactly what a rebuild makes of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cashews import cache as cashews_cache
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.analytics.models import UserStats
from studyhall.attempts.tasks import submit_overdue_now
from studyhall.core.db import utcnow
from studyhall.core.settings import Settings
from tests.analytics.conftest import as_uuid, rank_buckets, rebuilt_rank_buckets
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
from tests.conftest import MakeVerifiedUser, SignedInUser, deliver_events

CACHE_COMMANDS = ("get", "get_many", "set", "set_many", "set_add", "set_pop", "delete_many")


@contextmanager
def trace(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What reaches the database (statements, commits) and the cache, in order."""
    log: list[str] = []
    engine = app.state.engine.sync_engine

    def statement(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        log.append("sql " + " ".join(sql.split()))

    def commit(_conn: object) -> None:
        log.append("commit")

    for name in CACHE_COMMANDS:
        original = getattr(cashews_cache, name)

        async def traced(*args: Any, _name: str = name, _original: Any = original) -> Any:
            log.append("cache " + _name)
            return await _original(*args)

        monkeypatch.setattr(cashews_cache, name, traced)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
        monkeypatch.undo()


async def answered_attempt(
    client: httpx.AsyncClient, learner: SignedInUser, quiz_id: str, right: bool, seconds: int
) -> dict[str, Any]:
    """A started attempt with its single-choice question answered."""
    attempt = await start_quiz(client, learner, quiz_id)
    choice = item_of_type(attempt, "single_choice")
    picked = {"choice": option_id(choice, "Left ventricle" if right else "Right ventricle")}
    answered = await answer(
        client, learner, attempt["id"], choice["position"], picked, time_spent_seconds=seconds
    )
    assert answered.status_code == 200, answered.text
    return attempt


async def expire(db: AsyncSession, attempt: dict[str, Any]) -> None:
    deadline = utcnow() - timedelta(seconds=30)
    await set_attempt(
        db, attempt["id"], started_at=deadline - timedelta(seconds=600), deadline_at=deadline
    )


ANALYTICS_TABLES = ("user_stats", "user_subject_stats", "user_daily_stats", "rank_buckets")


async def test_the_submit_transaction_emits_the_event_and_analytics_follows_on_delivery(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["single_choice"], bank.ids["true_false"]])
    attempt = await answered_attempt(client, learner, quiz_id, right=True, seconds=40)

    with trace(app, monkeypatch) as log:
        submitted = await submit(client, learner, attempt["id"])
    assert submitted.status_code == 200, submitted.text

    # The request's own transaction: up to its commit (a delivery pass may follow it).
    request = log[: log.index("commit")]
    assert sum("INSERT INTO outbox_events" in entry for entry in request) == 1, request
    for table in (*ANALYTICS_TABLES, "attempt_results", "item_responses"):
        assert not any(table in entry for entry in request), (table, request)

    await deliver_events(app)
    await db.commit()
    stats = await db.get(UserStats, as_uuid(learner))
    assert stats is not None and (stats.answered, stats.correct) == (1, 1)
    assert await rank_buckets(db) == await rebuilt_rank_buckets(db)


async def test_every_way_of_submitting_keeps_the_buckets_exact(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    teacher: SignedInUser,
    verified_user: MakeVerifiedUser,
    bank: Bank,
) -> None:
    quiz_id = await new_quiz(
        client,
        teacher,
        [bank.ids["single_choice"], bank.ids["true_false"]],
        time_limit_seconds=600,
    )
    learners = [await verified_user(f"sitter{n}@example.com") for n in range(9)]
    attempts = [
        await answered_attempt(client, learner, quiz_id, right=n % 3 != 0, seconds=15 + 7 * n)
        for n, learner in enumerate(learners)
    ]

    # Submitted by hand, all at once.
    by_hand = [submit(client, learners[n], attempts[n]["id"]) for n in range(5)]
    manual = await asyncio.gather(*by_hand)
    assert all(r.status_code == 200 for r in manual), [r.text for r in manual]

    # Time ran out; submitted when opened.
    await expire(db, attempts[5])
    opened = await client.get(f"{API}/attempts/{attempts[5]['id']}", headers=learners[5].headers)
    assert opened.json()["status"] == "submitted"

    # Time ran out; submitted by a refused save (its transaction commits anyway).
    await expire(db, attempts[6])
    late = await save(
        client, learners[6], attempts[6]["id"], {"version": attempts[6]["version"], "answers": {}}
    )
    assert_problem(late, 409, "attempt_expired")

    # Time ran out; the minute job submits both in one transaction.
    for attempt in attempts[7:]:
        await expire(db, attempt)
    assert await submit_overdue_now() == 2

    await deliver_events(app)
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(UserStats)) == len(learners)
    kept = await rank_buckets(db)
    assert sum(n for (metric, _), n in kept.items() if metric == "answered") == len(learners)
    assert kept == await rebuilt_rank_buckets(db)
