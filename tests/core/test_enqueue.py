"""Jobs are enqueued after the commit, all of a transaction's together, off the event loop;
a transaction that rolls back enqueues nothing; a job takes ids and plain values only."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from huey import signals
from sqlalchemy import select

from studyhall.accounts.models import User
from studyhall.core import jobs
from studyhall.core.db import commit_and_run_hooks, session_scope
from tests.conftest import settle_jobs


@jobs.task(retries=0)  # type: ignore[untyped-decorator]
def note(*values: object) -> None:
    """A job that does nothing: what matters here is how it was enqueued."""


@dataclass(frozen=True)
class Enqueued:
    name: str
    args: tuple[Any, ...]
    thread: int
    data: bytes


@contextmanager
def enqueued() -> Iterator[list[Enqueued]]:
    """Every task enqueued in this process meanwhile, as huey signals it."""
    seen: list[Enqueued] = []

    def remember(signal: str, task: Any, *args: Any) -> None:
        data = jobs.huey.serialize_task(task)
        seen.append(Enqueued(task.name, tuple(task.args), threading.get_ident(), data))

    jobs.huey.signal(signals.SIGNAL_ENQUEUED)(remember)
    try:
        yield seen
    finally:
        jobs.huey.disconnect_signal(remember, signals.SIGNAL_ENQUEUED)


def notes(seen: list[Enqueued]) -> list[tuple[Any, ...]]:
    return [e.args for e in seen if e.name == "note"]


def _user(email: str) -> User:
    return User(email=email, name="Job Test", password_hash="x")


async def test_jobs_are_enqueued_after_the_commit_together_off_the_loop(app: FastAPI) -> None:
    user_id = uuid.uuid4()
    with enqueued() as seen:
        async with session_scope(app.state.sessionmaker) as db:
            db.add(_user("queued@example.com"))
            jobs.enqueue_after_commit(db, note, user_id, 1)
            await db.flush()
            jobs.enqueue_after_commit(db, note, "second", 2.5, True, None)
            assert notes(seen) == []  # nothing before the commit
        await settle_jobs()
    assert notes(seen) == [(user_id, 1), ("second", 2.5, True, None)]
    threads = {e.thread for e in seen if e.name == "note"}
    assert len(threads) == 1, "the transaction's jobs were enqueued in several calls"
    assert threads != {threading.get_ident()}, "enqueued on the event loop's thread"


async def test_a_job_queued_once_per_transaction_is_queued_once(app: FastAPI) -> None:
    """As a transaction emitting several events queues one delivery pass."""
    with enqueued() as seen:
        async with session_scope(app.state.sessionmaker) as db:
            for _ in range(3):
                jobs.enqueue_after_commit(db, note, "pass", once=True)
            jobs.enqueue_after_commit(db, note, "other", once=True)
        async with session_scope(app.state.sessionmaker) as db:
            jobs.enqueue_after_commit(db, note, "pass", once=True)
        await settle_jobs()
    assert notes(seen) == [("pass",), ("other",), ("pass",)]


async def test_a_rolled_back_transaction_enqueues_nothing(app: FastAPI) -> None:
    with enqueued() as seen:
        with pytest.raises(RuntimeError):
            async with session_scope(app.state.sessionmaker) as db:
                db.add(_user("gone@example.com"))
                jobs.enqueue_after_commit(db, note, "raised")
                raise RuntimeError("refused")
        # A transaction undone by hand (as pages do after a refused form), then another one
        # in the same session: only the second one's job is enqueued.
        async with app.state.sessionmaker() as db:
            jobs.enqueue_after_commit(db, note, "rolled back")
            await db.rollback()
            jobs.enqueue_after_commit(db, note, "committed")
            await commit_and_run_hooks(db)
        await settle_jobs()
    assert notes(seen) == [("committed",)]
    async with app.state.sessionmaker() as db:
        assert await db.scalar(select(User).where(User.email == "gone@example.com")) is None


async def test_enqueue_now_is_tied_to_no_transaction(app: FastAPI) -> None:
    with enqueued() as seen:
        await jobs.enqueue_now(note, "now")
    assert notes(seen) == [("now",)]
    assert seen[0].thread != threading.get_ident()


@pytest.mark.parametrize(
    "argument",
    [
        {"user_id": 1},
        ["a", "list"],
        b"bytes",
        User(email="object@example.com", name="An object", password_hash="x"),
        "x" * (jobs.MAX_TEXT_ARG_CHARS + 1),
    ],
    ids=["dict", "list", "bytes", "model", "long-text"],
)
async def test_jobs_take_ids_and_plain_values_only(app: FastAPI, argument: object) -> None:
    async with app.state.sessionmaker() as db:
        with pytest.raises((TypeError, ValueError), match="note: argument 0"):
            jobs.enqueue_after_commit(db, note, argument)  # type: ignore[arg-type]
    with pytest.raises((TypeError, ValueError), match="note: argument 0"):
        await jobs.enqueue_now(note, argument)  # type: ignore[arg-type]
    with pytest.raises((TypeError, ValueError), match="note: argument 0"):
        note.s(argument)  # and so does calling the task, which enqueues `note.s(...)`
    with pytest.raises((TypeError, ValueError), match="note: argument 0"):
        note.s(value=argument)


async def test_plain_values_pass(app: FastAPI) -> None:
    values = (uuid.uuid4(), "short", 3, 1.5, False, None, datetime.now(UTC))
    with enqueued() as seen:
        await jobs.enqueue_now(note, *values)
    assert notes(seen) == [values]
