"""The answer and mark writes: how many statements they cost, that a writer waiting for the
attempt's lock sees what the writer before it left, and that starting returns what a read
of the attempt returns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from studyhall.attempts import service
from studyhall.attempts.models import AttemptItem
from studyhall.attempts.schemas import AnswerIn, ItemUpdate
from studyhall.attempts.service.common import load_attempt
from studyhall.core import cache
from studyhall.core.errors import Conflict
from tests.attempts.conftest import (
    API,
    Bank,
    answer,
    item_of_type,
    new_question,
    new_quiz,
    option_id,
    single_choice,
    start_quiz,
    submit,
)
from tests.backends import recorded_statements
from tests.conftest import SignedInUser
from tests.core.conftest import eventually


def on_postgresql(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def counted_shared_cache_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many bulk reads of the shared cache (Redis or memory) happen in the block."""
    calls: list[int] = []
    real_get_many = cache.get_many

    async def counting_get_many(keys: Any) -> list[Any]:
        calls.append(len(keys))
        return await real_get_many(keys)

    monkeypatch.setattr(cache, "get_many", counting_get_many)
    try:
        yield calls
    finally:
        monkeypatch.undo()


async def in_own_session(app: FastAPI, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """`work`'s result, run in a transaction of its own that is then committed."""
    async with app.state.sessionmaker() as db:
        result = await work(db)
        await db.commit()
        return result


# ---------------------------------------------------------------- statements


async def test_an_answer_costs_one_locking_read_and_one_write_per_row(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["single_choice"], bank.ids["numerical"]])
    attempt = await start_quiz(client, learner, quiz_id)
    attempt_id, user_id = uuid.UUID(attempt["id"]), uuid.UUID(learner.id)
    item = item_of_type(attempt, "single_choice")
    choice = {"choice": option_id(item, "Left ventricle")}

    async def answer_once(db: AsyncSession) -> Any:
        return await service.answer_item(
            db, attempt_id, user_id, item["position"], AnswerIn(response=choice)
        )

    engine: AsyncEngine = app.state.engine
    # The first answer already finds the version the start looked up.
    for _ in range(2):
        with (
            recorded_statements(engine) as statements,
            counted_shared_cache_reads(monkeypatch) as cache_reads,
        ):
            result = await in_own_session(app, answer_once)
        assert result.item.response == choice
        # PostgreSQL: SELECT ... FOR UPDATE, UPDATE item, UPDATE attempt. SQLite first takes
        # the write lock with a no-op UPDATE (it has no row locks).
        expected = ["SELECT", "UPDATE", "UPDATE"]
        if not on_postgresql(engine):
            expected.insert(0, "UPDATE")
        assert [s.split(None, 1)[0].upper() for s in statements] == expected, statements
        if on_postgresql(engine):
            assert "FOR UPDATE OF attempts, attempt_items" in statements[0], statements
        assert not any("question_versions" in s for s in statements), statements
        assert cache_reads == []


async def test_a_mark_costs_the_same_statements(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)

    async def mark(db: AsyncSession) -> Any:
        return await service.update_item(
            db,
            uuid.UUID(attempt["id"]),
            uuid.UUID(learner.id),
            0,
            ItemUpdate(marked=True, note="check"),
        )

    with recorded_statements(app.state.engine) as statements:
        view = await in_own_session(app, mark)
    assert view.marked is True and view.note == "check"
    assert len(statements) == (3 if on_postgresql(app.state.engine) else 4), statements
    read = await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)
    assert read.json()["items"][0]["marked"] is True
    assert read.json()["version"] == attempt["version"] + 1


# ---------------------------------------------------------------- writers taking turns

LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def until_it_waits_for_the_lock(
    engine: AsyncEngine, waiting: asyncio.Task[Any], sent: list[str]
) -> None:
    """Return once the writer in `waiting` is held up by the attempt's lock that another
    transaction holds. PostgreSQL shows its backend waiting for a lock (read in a
    transaction of its own: one keeps the activity it saw first); SQLite lets one writer at a
    time, so a writer that has sent the no-op UPDATE taking the write lock (see
    `take_sqlite_write_lock`) waits for the holder's commit."""

    async def held_up() -> bool:
        assert not waiting.done(), "the second writer did not wait for the first"
        if on_postgresql(engine):
            async with engine.connect() as connection:
                return bool(await connection.scalar(LOCK_WAITS))
        return any(statement.startswith("UPDATE attempts SET version") for statement in sent)

    await eventually(held_up, message="the second writer never reached the attempt's lock")


async def _answer_while_another_holds_the_lock(
    app: FastAPI, attempt_id: uuid.UUID, user_id: uuid.UUID, first: AnswerIn, second: AnswerIn
) -> Any:
    """Answer item 0 with `first` and keep the transaction open while a second session
    answers it with `second`; commit the first once the second waits. The second's outcome
    (its AnswerOut, or the error it raised)."""
    async with app.state.sessionmaker() as holder:
        await service.answer_item(holder, attempt_id, user_id, 0, first)

        async def second_answer(db: AsyncSession) -> Any:
            try:
                return await service.answer_item(db, attempt_id, user_id, 0, second)
            except Conflict as refused:
                return refused

        with recorded_statements(app.state.engine, every_task=True) as sent:
            waiting = asyncio.create_task(in_own_session(app, second_answer))
            await until_it_waits_for_the_lock(app.state.engine, waiting, sent)
        await holder.commit()
    return await waiting


async def test_a_waiting_answer_counts_the_answer_it_waited_for(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"], bank.ids["numerical"]])
    attempt = await start_quiz(client, learner, quiz_id)
    outcome = await _answer_while_another_holds_the_lock(
        app,
        uuid.UUID(attempt["id"]),
        uuid.UUID(learner.id),
        AnswerIn(response={"text": "aorta"}),
        AnswerIn(response={"text": "the aorta"}),
    )
    # Had it read the item as it was before the first answer, it would count two answers.
    assert outcome.answered_count == 1
    assert outcome.version == attempt["version"] + 2
    read = await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)
    assert read.json()["answered_count"] == 1
    assert read.json()["items"][0]["response"] == {"text": "the aorta"}


async def test_a_waiting_answer_sees_the_item_locked_by_the_one_before(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    quiz_id = await new_quiz(
        client, teacher, [bank.ids["short_answer"]], feedback_mode="after_each"
    )
    attempt = await start_quiz(client, learner, quiz_id)
    outcome = await _answer_while_another_holds_the_lock(
        app,
        uuid.UUID(attempt["id"]),
        uuid.UUID(learner.id),
        AnswerIn(response={"text": "aorta"}),
        AnswerIn(response={"text": "vena cava"}),
    )
    assert isinstance(outcome, Conflict) and outcome.code == "item_locked"
    read = await client.get(f"{API}/attempts/{attempt['id']}", headers=learner.headers)
    assert read.json()["items"][0]["response"] == {"text": "aorta"}
    assert read.json()["items"][0]["locked"] is True


async def test_an_answer_takes_the_attempts_lock_before_the_items(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    """Every writer locks the attempt, then writes items: an answer locking the item first
    would deadlock with a writer that holds the attempt and is about to write that item."""
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    attempt_id, user_id = uuid.UUID(attempt["id"]), uuid.UUID(learner.id)
    async with app.state.sessionmaker() as holder:
        await load_attempt(holder, attempt_id, user_id, lock=True)

        async def answer_now(db: AsyncSession) -> Any:
            return await service.answer_item(db, attempt_id, user_id, 0, AnswerIn(response=None))

        with recorded_statements(app.state.engine, every_task=True) as sent:
            waiting = asyncio.create_task(in_own_session(app, answer_now))
            await until_it_waits_for_the_lock(app.state.engine, waiting, sent)
        await holder.execute(
            update(AttemptItem)
            .where(AttemptItem.attempt_id == attempt_id, AttemptItem.position == 0)
            .values(note="written while holding the attempt")
        )
        await holder.commit()
    outcome = await waiting
    assert outcome.item.note == "written while holding the attempt"


async def test_objects_the_session_already_holds_show_the_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    bank: Bank,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    attempt_id, user_id = uuid.UUID(attempt["id"]), uuid.UUID(learner.id)
    async with app.state.sessionmaker() as db:
        before = await service.get_attempt(db, attempt_id, user_id)  # loads both rows
        await service.answer_item(db, attempt_id, user_id, 0, AnswerIn(response={"text": "x"}))
        after = await service.get_attempt(db, attempt_id, user_id)
        await db.commit()
    assert after.version == before.version + 1
    assert after.answered_count == 1
    assert after.items[0].response == {"text": "x"}


# ---------------------------------------------------------------- refusals keep their order


async def test_refusals_of_the_answer_path(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    other_learner: SignedInUser,
    bank: Bank,
) -> None:
    quiz_id = await new_quiz(client, teacher, [bank.ids["short_answer"]])
    attempt = await start_quiz(client, learner, quiz_id)
    body = {"text": "aorta"}
    missing_item = await answer(client, learner, attempt["id"], 5, body)
    assert missing_item.status_code == 404 and missing_item.json()["code"] == "item_not_found"
    foreign = await answer(client, other_learner, attempt["id"], 0, body)
    assert foreign.status_code == 404 and foreign.json()["code"] == "attempt_not_found"
    missing = await answer(client, learner, str(uuid.uuid4()), 0, body)
    assert missing.status_code == 404 and missing.json()["code"] == "attempt_not_found"
    paused = await client.post(f"{API}/attempts/{attempt['id']}/pause", headers=learner.headers)
    assert paused.status_code == 200
    refused = await answer(client, learner, attempt["id"], 0, body)
    assert refused.status_code == 409 and refused.json()["code"] == "attempt_paused"
    # A closed attempt answers 409 before looking for the item.
    assert (await answer(client, learner, attempt["id"], 5, body)).json()["code"] == (
        "attempt_paused"
    )


# ---------------------------------------------------------------- versions


async def test_an_edit_shows_only_in_attempts_started_after_it(
    client: httpx.AsyncClient,
    teacher: SignedInUser,
    learner: SignedInUser,
    other_learner: SignedInUser,
) -> None:
    question_id = await new_question(client, teacher, single_choice(stem="First wording"))
    quiz_id = await new_quiz(client, teacher, [question_id])
    before = await start_quiz(client, learner, quiz_id)
    right = {"choice": option_id(before["items"][0], "Left ventricle")}
    answered = await answer(client, learner, before["id"], 0, right)  # its version is cached now
    assert "First wording" in answered.json()["item"]["stem_html"]

    edited = await client.put(
        f"{API}/questions/{question_id}",
        json=single_choice(stem="Second wording"),
        headers=teacher.headers,
    )
    assert edited.status_code == 200, edited.text
    after = await start_quiz(client, other_learner, quiz_id)
    assert "Second wording" in after["items"][0]["stem_html"]
    assert after["items"][0]["question_version_id"] != before["items"][0]["question_version_id"]
    answered_after = await answer(client, other_learner, after["id"], 0, right)
    assert "Second wording" in answered_after.json()["item"]["stem_html"]

    answered_again = await answer(client, learner, before["id"], 0, right)
    assert "First wording" in answered_again.json()["item"]["stem_html"]
    read = await client.get(f"{API}/attempts/{before['id']}", headers=learner.headers)
    assert "First wording" in read.json()["items"][0]["stem_html"]
    assert (await submit(client, learner, before["id"])).status_code == 200
    review = await client.get(f"{API}/attempts/{before['id']}/review", headers=learner.headers)
    assert "First wording" in review.json()["items"][0]["stem_html"]
    assert review.json()["items"][0]["feedback"]["is_correct"] is True


# ---------------------------------------------------------------- starting


@pytest.mark.parametrize("mode", ["tutor", "timed"])
async def test_a_started_custom_test_reads_back_the_same(
    client: httpx.AsyncClient, learner: SignedInUser, bank: Bank, mode: str
) -> None:
    started = await client.post(
        f"{API}/custom-tests",
        json={"count": 5, "mode": mode, "shuffle_options": True},
        headers=learner.headers,
    )
    assert started.status_code == 201, started.text
    read = await client.get(f"{API}/attempts/{started.json()['id']}", headers=learner.headers)
    assert _without_clock(read.json()) == _without_clock(started.json())


async def test_a_started_quiz_attempt_reads_back_the_same(
    client: httpx.AsyncClient, teacher: SignedInUser, learner: SignedInUser, bank: Bank
) -> None:
    quiz_id = await new_quiz(
        client, teacher, list(bank.ids.values()), shuffle_options=True, time_limit_seconds=600
    )
    started = await start_quiz(client, learner, quiz_id)
    read = await client.get(f"{API}/attempts/{started['id']}", headers=learner.headers)
    assert _without_clock(read.json()) == _without_clock(started)
    again = await start_quiz(client, learner, quiz_id, expected=200)  # the open one
    assert _without_clock(again) == _without_clock(started)


def _without_clock(attempt: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attempt.items() if key != "remaining_seconds"}
